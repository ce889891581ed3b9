#include "agent/file_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "absl/strings/str_cat.h"
#include "agent/delta_base.h"
#include "common/byte_source.h"
#include "common/chunker.h"
#include "common/file_kind.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

bool SameVersion(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// Data extents of the file as (offset, length). Without SEEK_DATA support the
// whole file is one extent.
absl::StatusOr<std::vector<std::pair<uint64_t, uint64_t>>> DataExtents(int fd, uint64_t size,
                                                                       const std::string& path) {
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  if (size == 0) return extents;
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole remains
      if (errno == EINVAL || errno == EOPNOTSUPP) {
        extents.clear();
        extents.emplace_back(0, size);
        return extents;
      }
      return PosixError(errno, "lseek(SEEK_DATA)", path);
    }
    if (static_cast<uint64_t>(data) >= size) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return PosixError(errno, "lseek(SEEK_HOLE)", path);
    uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    extents.emplace_back(static_cast<uint64_t>(data), end - static_cast<uint64_t>(data));
    pos = end;
  }
  return extents;
}

// Tensors below this are grouped with their small neighbours into one chunk
// (norm weights, biases): a chunk per 2 KiB tensor would cost more in index
// and catalog entries than the tensor. LoRA factors (32 KiB and up) stay alone.
constexpr uint64_t kSmallRegion = 16 << 10;

// A byte range cut as one unit: one region, or a run of small ones.
struct Piece {
  uint64_t offset;
  uint64_t length;
  const TensorRegion* region;  // nullptr for a run of mixed regions
};

std::vector<Piece> PiecesOf(const std::vector<TensorRegion>& regions) {
  std::vector<Piece> pieces;
  for (size_t i = 0; i < regions.size();) {
    const TensorRegion& first = regions[i];
    Piece piece{first.offset, first.length, &first};
    ++i;
    if (first.length < kSmallRegion) {
      while (i < regions.size() && regions[i].length < kSmallRegion &&
             piece.length < kSmallRegion) {
        if (regions[i].type != first.type) piece.region = nullptr;
        piece.length += regions[i].length;
        ++i;
      }
    }
    pieces.push_back(piece);
  }
  return pieces;
}

bool IsTensor(const TensorRegion* region) {
  return region != nullptr && region->type != ElementType::kNone;
}

// Cuts one range and hands its chunks to the uploader. A piece that fits in
// one chunk is one chunk; a larger tensor is cut in fixed pieces from its
// start (its bytes change in place, so the pieces of two checkpoints line
// up for deltas and for dedup); anything else larger is cut by content
// (FastCDC).
class RangeCutter {
 public:
  RangeCutter(int fd, const std::string& path, const AgentCrypto& crypto, Chunker* chunker,
              ChunkUploader* uploader, FileContent* content, const DeltaSource* delta)
      : fd_(fd),
        path_(path),
        crypto_(crypto),
        chunker_(chunker),
        uploader_(uploader),
        content_(content),
        delta_(delta) {}

  absl::Status Cut(uint64_t offset, uint64_t length, const TensorRegion* region, bool whole) {
    FdRangeSource source(fd_, offset, length, path_);
    if (whole || IsTensor(region)) {
      const uint64_t piece = std::max<uint64_t>(crypto_.chunker.max_size, 1);
      for (uint64_t at = 0; at < length; at += piece) {
        const uint64_t n = std::min(piece, length - at);
        // Read retries short reads and reports a file that shrank (Aborted).
        buffer_.resize(n);
        RETURN_IF_ERROR(source.Read(buffer_.data(), n).status());
        RETURN_IF_ERROR(Emit(offset + at, buffer_, region));
      }
      return absl::OkStatus();
    }
    chunker_->Reset(&source);
    Chunk chunk;
    while (true) {
      ASSIGN_OR_RETURN(bool more, chunker_->Next(&chunk));
      if (!more) return absl::OkStatus();
      RETURN_IF_ERROR(Emit(offset + chunk.offset, chunk.data, region));
    }
  }

 private:
  absl::Status Emit(uint64_t offset, absl::string_view data, const TensorRegion* region) {
    ChunkId id = crypto_.hasher.Hash(data);
    RETURN_IF_ERROR(uploader_->Add(id, data, HintFor(content_->probe, region, offset),
                                   BaseFor(offset, data, region)));
    v1::ChunkRef* ref = &content_->chunks.emplace_back();
    ref->set_id(std::string(ChunkIdBytes(id)));
    ref->set_offset(offset);
    ref->set_size(static_cast<uint32_t>(data.size()));
    content_->bytes_read += data.size();
    return absl::OkStatus();
  }

  // The same piece of the same tensor in the previous checkpoint, when
  // there is one and it differs.
  std::optional<ChunkBase> BaseFor(uint64_t offset, absl::string_view data,
                                   const TensorRegion* region) {
    if (delta_ == nullptr || !IsTensor(region) || data.size() < kMinDeltaPiece ||
        offset < region->offset || offset - region->offset + data.size() > region->length) {
      return std::nullopt;
    }
    ChunkBase base;
    const size_t index = static_cast<size_t>(region - content_->probe.regions.data());
    // A predecessor that cannot be read is no base; the chunk goes whole.
    if (!delta_->ReadBase(index, offset - region->offset, data.size(), &base.plain).ok()) {
      return std::nullopt;
    }
    // Unchanged (a frozen layer): plain dedup, and no hash to compute.
    if (base.plain == data) return std::nullopt;
    base.id = crypto_.hasher.Hash(base.plain);
    return base;
  }

  const int fd_;
  const std::string& path_;
  const AgentCrypto& crypto_;
  Chunker* chunker_;
  ChunkUploader* uploader_;
  FileContent* content_;
  const DeltaSource* delta_;
  std::string buffer_;
};

}  // namespace

absl::StatusOr<FileContent> ReadFileChunks(int fd, const std::string& path,
                                           const AgentCrypto& crypto, Chunker* chunker,
                                           ChunkUploader* uploader, const std::string& disk_path) {
  FileContent content;
  for (int attempt = 1; attempt <= kMaxFileReads; ++attempt) {
    struct stat before;
    if (fstat(fd, &before) != 0) return PosixError(errno, "fstat", path);
    content.chunks.clear();
    content.reads = attempt;
    const uint64_t size = static_cast<uint64_t>(before.st_size);
    ASSIGN_OR_RETURN(content.probe, ProbeFile(fd, size, path));
    ASSIGN_OR_RETURN(auto extents, DataExtents(fd, size, path));
    // Tensor regions are cut along when the file has no holes (a sparse
    // tensor file is rare enough to take the plain path).
    const bool by_region = !content.probe.regions.empty() && extents.size() == 1 &&
                           extents[0].first == 0 && extents[0].second == size;
    std::optional<DeltaSource> delta;
    if (by_region && crypto.delta_chain > 0 && !disk_path.empty()) {
      delta = DeltaSource::Open(disk_path, content.probe);
    }
    RangeCutter cutter(fd, path, crypto, chunker, uploader, &content,
                       delta.has_value() ? &*delta : nullptr);
    if (by_region) {
      for (const Piece& piece : PiecesOf(content.probe.regions)) {
        RETURN_IF_ERROR(cutter.Cut(piece.offset, piece.length, piece.region,
                                   piece.length <= crypto.chunker.max_size));
      }
    } else {
      for (const auto& [offset, length] : extents) {
        RETURN_IF_ERROR(cutter.Cut(offset, length, nullptr, /*whole=*/false));
      }
    }
    struct stat after;
    if (fstat(fd, &after) != 0) return PosixError(errno, "fstat", path);
    if (SameVersion(before, after)) {
      content.st = after;
      return content;
    }
  }
  return absl::AbortedError(absl::StrCat(path, " kept changing while it was read (", kMaxFileReads,
                                         " tries); its previous version is kept"));
}

absl::StatusOr<SmallFileContent> ReadSmallFile(int fd, const std::string& path,
                                               uint64_t max_bytes) {
  SmallFileContent content;
  for (int attempt = 1; attempt <= kMaxFileReads; ++attempt) {
    struct stat before;
    if (fstat(fd, &before) != 0) return PosixError(errno, "fstat", path);
    const uint64_t size = static_cast<uint64_t>(before.st_size);
    if (size > max_bytes) {
      return absl::OutOfRangeError(absl::StrCat(path, " is larger than a bundled file"));
    }
    content.reads = attempt;
    // One byte more than the size, to see a file that grew.
    content.data.resize(size + 1);
    size_t got = 0;
    while (got < content.data.size()) {
      ssize_t n =
          pread(fd, content.data.data() + got, content.data.size() - got, static_cast<off_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(errno, "read", path);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    content.data.resize(got);
    // The kind from the bytes in hand (ProbeFile would read the head again;
    // a bundled file is not cut by tensor layout nor classified).
    const size_t slash = path.rfind('/');
    content.probe.kind =
        SniffFileKind(absl::string_view(content.data).substr(0, kSniffBytes), got,
                      slash == std::string::npos ? absl::string_view(path)
                                                 : absl::string_view(path).substr(slash + 1));
    struct stat after;
    if (fstat(fd, &after) != 0) return PosixError(errno, "fstat", path);
    if (got == size && SameVersion(before, after)) {
      content.st = after;
      return content;
    }
  }
  return absl::AbortedError(absl::StrCat(path, " kept changing while it was read (", kMaxFileReads,
                                         " tries); its previous version is kept"));
}

}  // namespace cairn

#include "agent/file_reader.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/byte_source.h"
#include "common/chunker.h"
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

}  // namespace

absl::StatusOr<FileContent> ReadFileChunks(int fd, const std::string& path,
                                           const AgentCrypto& crypto, Chunker* chunker,
                                           ChunkUploader* uploader) {
  FileContent content;
  for (int attempt = 1; attempt <= kMaxFileReads; ++attempt) {
    struct stat before;
    if (fstat(fd, &before) != 0) return PosixError(errno, "fstat", path);
    content.chunks.clear();
    content.reads = attempt;
    ASSIGN_OR_RETURN(auto extents, DataExtents(fd, static_cast<uint64_t>(before.st_size), path));
    for (const auto& [offset, length] : extents) {
      FdRangeSource source(fd, offset, length, path);
      chunker->Reset(&source);
      Chunk chunk;
      while (true) {
        ASSIGN_OR_RETURN(bool more, chunker->Next(&chunk));
        if (!more) break;
        ChunkId id = crypto.hasher.Hash(chunk.data);
        RETURN_IF_ERROR(uploader->Add(id, chunk.data));
        v1::ChunkRef* ref = &content.chunks.emplace_back();
        ref->set_id(std::string(ChunkIdBytes(id)));
        ref->set_offset(offset + chunk.offset);
        ref->set_size(static_cast<uint32_t>(chunk.data.size()));
        content.bytes_read += chunk.data.size();
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

}  // namespace cairn

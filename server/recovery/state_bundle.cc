#include "server/recovery/state_bundle.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/chunk_id.h"
#include "common/codec.h"
#include "common/file_util.h"
#include "common/le_coding.h"
#include "common/posix_error.h"
#include "common/seal.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr absl::string_view kMagic = "CAIRNSB1";
constexpr size_t kFrameHeader = 5;
constexpr size_t kMaxSealed = kBundleFrameBytes + 64 + Sealer::kOverhead;
constexpr size_t kMaxEntries = 64;

}  // namespace

ChunkId BundleFrameId(absl::string_view object, uint64_t index, bool last) {
  std::string in = absl::StrCat("cairn state bundle frame", absl::string_view("\0", 1), object,
                                absl::string_view("\0", 1));
  AppendLe64(index, &in);
  in.push_back(last ? 1 : 0);
  ChunkId id;
  crypto_generichash(id.data(), id.size(), reinterpret_cast<const unsigned char*>(in.data()),
                     in.size(), nullptr, 0);
  return id;
}

namespace {

class FrameWriter {
 public:
  FrameWriter(const SecretKey& key, absl::string_view object, TierWriter* out)
      : sealer_(key), object_(object), out_(out) {}

  absl::Status Start() { return out_->Append(kMagic); }

  absl::Status Write(absl::string_view data) {
    while (!data.empty()) {
      size_t take = std::min(data.size(), kBundleFrameBytes - plain_.size());
      plain_.append(data.data(), take);
      data.remove_prefix(take);
      if (plain_.size() == kBundleFrameBytes) RETURN_IF_ERROR(Flush(false));
    }
    return absl::OkStatus();
  }

  absl::Status Finish() { return Flush(true); }

 private:
  absl::Status Flush(bool last) {
    std::string compressed;
    Compress(CodecChoice{.automatic = false, .codec = Codec::kZstd, .level = 3}, plain_,
             &compressed);
    std::string frame;
    frame.push_back(last ? 1 : 0);
    std::string sealed;
    RETURN_IF_ERROR(sealer_.Seal(BundleFrameId(object_, index_++, last), compressed, &sealed));
    AppendLe32(static_cast<uint32_t>(sealed.size()), &frame);
    frame += sealed;
    plain_.clear();
    return out_->Append(frame);
  }

  Sealer sealer_;
  std::string object_;
  TierWriter* out_;
  std::string plain_;
  uint64_t index_ = 0;
};

// Parses the entry stream as it arrives and writes the files.
class EntrySink {
 public:
  explicit EntrySink(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Feed(absl::string_view data) {
    while (!data.empty()) {
      if (done_) return absl::DataLossError("state bundle: bytes after its end marker");
      if (remaining_ > 0) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
        RETURN_IF_ERROR(WriteFully(fd_.get(), data.substr(0, take), path_));
        remaining_ -= take;
        data.remove_prefix(take);
        if (remaining_ == 0) RETURN_IF_ERROR(CloseFile());
        continue;
      }
      pending_.append(data.data(), data.size());
      data = {};
      RETURN_IF_ERROR(ParseHeaders(&data));
    }
    return absl::OkStatus();
  }

  absl::Status Finish() {
    if (!done_ || remaining_ > 0 || !pending_.empty()) {
      return absl::DataLossError("state bundle ends inside an entry");
    }
    return absl::OkStatus();
  }
  std::vector<std::string> names() const { return names_; }

 private:
  // Consumes headers from pending_; leaves file bytes that follow in *rest.
  absl::Status ParseHeaders(absl::string_view* rest) {
    while (remaining_ == 0 && !done_) {
      if (pending_.size() < 4) return absl::OkStatus();
      uint32_t name_len = LoadLe32(pending_.data());
      if (name_len == 0) {
        done_ = true;
        pending_.erase(0, 4);
        if (!pending_.empty()) return absl::DataLossError("state bundle: bytes after its end");
        return absl::OkStatus();
      }
      if (name_len > kMaxObjectNameBytes + 8)
        return absl::DataLossError("state bundle: name too long");
      if (pending_.size() < 4u + name_len + 8) return absl::OkStatus();
      std::string name = pending_.substr(4, name_len);
      uint64_t size = LoadLe64(pending_.data() + 4 + name_len);
      pending_.erase(0, 4u + name_len + 8);
      RETURN_IF_ERROR(ValidateBundleName(name));
      if (names_.size() >= kMaxEntries) return absl::DataLossError("state bundle: too many files");
      for (const std::string& seen : names_) {
        if (seen == name)
          return absl::DataLossError(absl::StrCat("state bundle: ", name, " twice"));
      }
      names_.push_back(name);
      path_ = absl::StrCat(dir_, "/", name);
      if (absl::StartsWith(name, "tls/")) RETURN_IF_ERROR(MakeDirectories(dir_ + "/tls", 0700));
      ASSIGN_OR_RETURN(fd_, OpenFile(path_, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      remaining_ = size;
      if (remaining_ == 0) RETURN_IF_ERROR(CloseFile());
    }
    if (remaining_ > 0 && !pending_.empty()) {
      // File bytes that came with the header: feed them back through.
      std::string bytes = std::move(pending_);
      pending_.clear();
      RETURN_IF_ERROR(Feed(bytes));
    }
    *rest = {};
    return absl::OkStatus();
  }

  absl::Status CloseFile() {
    RETURN_IF_ERROR(SyncFile(fd_.get(), path_));
    fd_ = UniqueFd();
    return absl::OkStatus();
  }

  std::string dir_;
  std::string pending_;
  std::vector<std::string> names_;
  std::string path_;
  UniqueFd fd_;
  uint64_t remaining_ = 0;
  bool done_ = false;
};

}  // namespace

absl::Status ValidateBundleName(absl::string_view name) {
  if (name == "catalog.db" || name == "admin.credentials") return absl::OkStatus();
  absl::string_view rest = name;
  if (absl::ConsumePrefix(&rest, "tls/") && ValidateObjectName(rest).ok()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("state bundle: \"", name, "\" is not a file a bundle may hold"));
}

absl::Status WriteBundle(const std::vector<BundleFile>& files, const SecretKey& key,
                         absl::string_view object, TierWriter* out) {
  FrameWriter frames(key, object, out);
  RETURN_IF_ERROR(frames.Start());
  std::string buffer;
  for (const BundleFile& file : files) {
    RETURN_IF_ERROR(ValidateBundleName(file.name));
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(file.path, O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return PosixError(errno, "stat", file.path);
    std::string header;
    AppendLe32(static_cast<uint32_t>(file.name.size()), &header);
    header += file.name;
    AppendLe64(static_cast<uint64_t>(st.st_size), &header);
    RETURN_IF_ERROR(frames.Write(header));
    for (uint64_t off = 0; off < static_cast<uint64_t>(st.st_size);) {
      size_t n = static_cast<size_t>(
          std::min<uint64_t>(kBundleFrameBytes, static_cast<uint64_t>(st.st_size) - off));
      RETURN_IF_ERROR(PreadFully(fd.get(), off, n, &buffer, file.path));
      RETURN_IF_ERROR(frames.Write(buffer));
      off += n;
    }
  }
  std::string end;
  AppendLe32(0, &end);
  RETURN_IF_ERROR(frames.Write(end));
  return frames.Finish();
}

absl::StatusOr<std::vector<std::string>> ReadBundle(Tier* tier, absl::string_view object,
                                                    const SecretKey& key, const std::string& dir) {
  ASSIGN_OR_RETURN(uint64_t size, tier->Size(object));
  std::string buf;
  if (size < kMagic.size()) return absl::DataLossError("state bundle: too short");
  RETURN_IF_ERROR(tier->Read(object, 0, kMagic.size(), &buf));
  if (buf != kMagic) return absl::DataLossError(absl::StrCat(object, " is not a state bundle"));
  Sealer sealer(key);
  EntrySink sink(dir);
  uint64_t offset = kMagic.size();
  std::string compressed, plain;
  for (uint64_t index = 0;; ++index) {
    if (size - offset < kFrameHeader) return absl::DataLossError("state bundle: truncated");
    RETURN_IF_ERROR(tier->Read(object, offset, kFrameHeader, &buf));
    const bool last = (buf[0] & 1) != 0;
    if ((buf[0] & ~1) != 0) return absl::DataLossError("state bundle: unknown frame flags");
    uint32_t sealed_len = LoadLe32(buf.data() + 1);
    offset += kFrameHeader;
    if (sealed_len > kMaxSealed || sealed_len > size - offset) {
      return absl::DataLossError("state bundle: frame length out of bounds (truncated?)");
    }
    RETURN_IF_ERROR(tier->Read(object, offset, sealed_len, &buf));
    offset += sealed_len;
    absl::Status opened = sealer.Open(BundleFrameId(object, index, last), buf, &compressed);
    if (!opened.ok()) {
      return absl::DataLossError(absl::StrCat(
          "state bundle ", object, " frame ", index,
          " does not open with this catalog key (wrong key, or the object was changed)"));
    }
    RETURN_IF_ERROR(Decompress(compressed, kBundleFrameBytes, &plain, Frames::kNoPlanes));
    RETURN_IF_ERROR(sink.Feed(plain));
    if (last) break;
  }
  if (offset != size) return absl::DataLossError("state bundle: bytes after its last frame");
  RETURN_IF_ERROR(sink.Finish());
  return sink.names();
}

}  // namespace cairn

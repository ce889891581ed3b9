#include "server/tiers/local_tier.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/file_util.h"
#include "common/path_rules.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "server/tiers/direct_writer.h"

namespace cairn {
namespace {

constexpr char kTempMark = '~';
constexpr mode_t kObjectMode = 0640;
constexpr mode_t kDirMode = 0750;

// A temporary file is "<valid object name>~<anything>".
bool IsTempName(absl::string_view file) {
  size_t mark = file.rfind(kTempMark);
  return mark != absl::string_view::npos && ValidateObjectName(file.substr(0, mark)).ok();
}

// Regular files in `dir` whose names pass `keep`.
template <typename Keep>
absl::StatusOr<std::vector<DirFile>> ScanDirectory(const std::string& dir, Keep keep) {
  ASSIGN_OR_RETURN(std::vector<DirFile> all, ListRegularFiles(dir));
  std::vector<DirFile> out;
  for (DirFile& e : all) {
    if (keep(absl::string_view(e.name))) out.push_back(std::move(e));
  }
  return out;
}

class LocalTierWriter final : public TierWriter {
 public:
  LocalTierWriter(std::string dir, std::string temp_path, std::string final_path, DirectWriter out)
      : dir_(std::move(dir)),
        temp_path_(std::move(temp_path)),
        final_path_(std::move(final_path)),
        out_(std::move(out)) {}

  ~LocalTierWriter() override {
    if (state_ != State::kCommitted) ::unlink(temp_path_.c_str());
  }

  absl::Status Append(absl::string_view data) override {
    RETURN_IF_ERROR(CheckWritable());
    absl::Status status = out_.Append(data);
    if (!status.ok()) return Fail(std::move(status));
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    RETURN_IF_ERROR(CheckWritable());
    absl::Status finished = out_.Finish();
    if (!finished.ok()) return Fail(std::move(finished));
    absl::Status synced = SyncFile(out_.fd(), temp_path_);
    if (!synced.ok()) return Fail(std::move(synced));
    absl::Status closed = out_.Close();
    if (!closed.ok()) return Fail(std::move(closed));
    if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
      return Fail(PosixError(errno, "rename", temp_path_));
    }
    // From here the temp file is gone; never unlink its name again.
    state_ = State::kCommitted;
    return FsyncDirectory(dir_);
  }

  uint64_t size() const override { return out_.size(); }

 private:
  enum class State { kOpen, kFailed, kCommitted };

  absl::Status CheckWritable() const {
    switch (state_) {
      case State::kOpen:
        return absl::OkStatus();
      case State::kFailed:
        return first_error_;
      case State::kCommitted:
        return absl::FailedPreconditionError(
            absl::StrCat("tier writer for ", final_path_, " already committed"));
    }
    return absl::InternalError("unreachable");
  }

  absl::Status Fail(absl::Status status) {
    state_ = State::kFailed;
    first_error_ = status;
    out_.Abandon();
    return status;
  }

  const std::string dir_;
  const std::string temp_path_;
  const std::string final_path_;
  DirectWriter out_;
  State state_ = State::kOpen;
  absl::Status first_error_;
};

class LocalTier final : public Tier {
 public:
  LocalTier(std::string name, std::string dir, LocalTierOptions options)
      : name_(std::move(name)), dir_(std::move(dir)), options_(options) {}

  std::string name() const override { return name_; }
  std::string kind() const override { return "local"; }

  absl::StatusOr<std::unique_ptr<TierWriter>> Create(absl::string_view object) override {
    RETURN_IF_ERROR(ValidateObjectName(object));
    const std::string final_path = PathOf(object);
    // 64 random bits: collisions only cost a retry, O_EXCL makes them safe.
    for (int attempt = 0;; ++attempt) {
      uint64_t nonce;
      {
        absl::MutexLock lock(&mu_);
        nonce = absl::Uniform<uint64_t>(bitgen_);
      }
      std::string temp_path = absl::StrFormat("%s%c%016x", final_path, kTempMark, nonce);
      absl::StatusOr<DirectWriter> out =
          DirectWriter::Open(temp_path, O_EXCL, kObjectMode, options_.direct_writes);
      if (out.ok()) {
        return std::unique_ptr<TierWriter>(
            new LocalTierWriter(dir_, std::move(temp_path), final_path, *std::move(out)));
      }
      if (!absl::IsAlreadyExists(out.status()) || attempt >= 8) return out.status();
    }
  }

  absl::Status Put(absl::string_view object, absl::string_view data) override {
    ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> writer, Create(object));
    RETURN_IF_ERROR(writer->Append(data));
    return writer->Commit();
  }

  absl::Status Read(absl::string_view object, uint64_t offset, size_t length,
                    std::string* out) override {
    RETURN_IF_ERROR(ValidateObjectName(object));
    const std::string path = PathOf(object);
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return PosixError(errno, "fstat", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::NotFoundError(absl::StrCat("read ", path, ": not a regular file"));
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size || length > size - offset) {
      return absl::OutOfRangeError(absl::StrCat("read ", path, ": ", length, " bytes at ", offset,
                                                " is beyond the end (", size, " bytes)"));
    }
    return PreadFully(fd.get(), offset, length, out, path);
  }

  absl::StatusOr<uint64_t> Size(absl::string_view object) override {
    RETURN_IF_ERROR(ValidateObjectName(object));
    const std::string path = PathOf(object);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError(errno, "stat", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::NotFoundError(absl::StrCat("stat ", path, ": not a regular file"));
    }
    return static_cast<uint64_t>(st.st_size);
  }

  absl::Status Delete(absl::string_view object) override {
    RETURN_IF_ERROR(ValidateObjectName(object));
    const std::string path = PathOf(object);
    if (::unlink(path.c_str()) != 0) return PosixError(errno, "unlink", path);
    return FsyncDirectory(dir_);
  }

  absl::StatusOr<std::vector<std::string>> List() override {
    ASSIGN_OR_RETURN(std::vector<DirFile> entries, ScanObjects());
    std::vector<std::string> names;
    names.reserve(entries.size());
    for (DirFile& e : entries) names.push_back(std::move(e.name));
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::StatusOr<TierSpace> Space() override {
    struct statvfs vfs;
    if (::statvfs(dir_.c_str(), &vfs) != 0) return PosixError(errno, "statvfs", dir_);
    ASSIGN_OR_RETURN(std::vector<DirFile> entries, ScanObjects());
    TierSpace space{0, static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize, entries.size()};
    for (const DirFile& e : entries) space.used_bytes += e.size;
    return space;
  }

 private:
  std::string PathOf(absl::string_view object) const { return JoinPath(dir_, object); }

  absl::StatusOr<std::vector<DirFile>> ScanObjects() const {
    return ScanDirectory(dir_, [](absl::string_view f) { return ValidateObjectName(f).ok(); });
  }

  const std::string name_;
  const std::string dir_;
  const LocalTierOptions options_;
  absl::Mutex mu_;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Tier>> OpenLocalTier(const std::string& name, const std::string& dir,
                                                    LocalTierOptions options) {
  if (dir.empty()) return absl::InvalidArgumentError("local tier: empty directory");
  RETURN_IF_ERROR(MakeDirectories(dir, kDirMode));
  ASSIGN_OR_RETURN(std::vector<DirFile> stale, ScanDirectory(dir, IsTempName));
  for (const DirFile& temp : stale) {
    std::string path = JoinPath(dir, temp.name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "unlink", path);
  }
  if (!stale.empty()) RETURN_IF_ERROR(FsyncDirectory(dir));
  return std::unique_ptr<Tier>(new LocalTier(name, dir, options));
}

}  // namespace cairn

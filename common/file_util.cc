#include "common/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

absl::Status UniqueFd::Close(absl::string_view path_for_errors) {
  int fd = release();
  if (fd < 0) return absl::OkStatus();
  // On Linux the fd is released even when close fails, so never retry it.
  if (::close(fd) != 0 && errno != EINTR) return PosixError(errno, "close", path_for_errors);
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return PosixError(errno, "open", path);
  return UniqueFd(fd);
}

absl::Status WriteFully(int fd, absl::string_view data, absl::string_view path_for_errors) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "write", path_for_errors);
    }
    if (n == 0) return PosixError(EIO, "write", path_for_errors);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status PreadFully(int fd, uint64_t offset, size_t n, std::string* out,
                        absl::string_view path_for_errors) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      out->clear();
      return PosixError(errno, "pread", path_for_errors);
    }
    if (got == 0) {
      out->clear();
      return absl::OutOfRangeError(absl::StrCat("pread ", path_for_errors, ": end of file at ",
                                                offset + done, ", wanted ", n, " bytes from ",
                                                offset));
    }
    done += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError(errno, "fstat", path);
  auto too_large = [&] {
    return absl::ResourceExhaustedError(
        absl::StrCat("read ", path, ": file is larger than the limit of ", max_bytes, " bytes"));
  };
  if (st.st_size > 0 && static_cast<uint64_t>(st.st_size) > max_bytes) return too_large();
  // The file may grow while we read it (or be a pipe with st_size 0), so read
  // in bounded steps up to one byte past the limit instead of trusting st_size.
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "read", path);
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > max_bytes - out.size()) return too_large();
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

namespace {
std::atomic<SyncHook*> g_sync_hook{nullptr};
}  // namespace

void SetSyncHookForTest(SyncHook* hook) { g_sync_hook = hook; }

absl::Status RealSyncFile(int fd, const std::string& path, bool data_only) {
  if ((data_only ? ::fdatasync(fd) : ::fsync(fd)) != 0) {
    return PosixError(errno, data_only ? "fdatasync" : "fsync", path);
  }
  return absl::OkStatus();
}

absl::Status RealSyncDirectory(const std::string& dir) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return PosixError(errno, "fsync", dir);
  return absl::OkStatus();
}

absl::Status SyncFile(int fd, const std::string& path, bool data_only) {
  SyncHook* hook = g_sync_hook.load();
  return hook != nullptr ? hook->SyncFile(fd, path, data_only) : RealSyncFile(fd, path, data_only);
}

absl::Status FsyncDirectory(const std::string& dir) {
  SyncHook* hook = g_sync_hook.load();
  return hook != nullptr ? hook->SyncDirectory(dir) : RealSyncDirectory(dir);
}

absl::Status MakeDirectories(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("mkdir: empty path");
  // Walk the prefixes ending before each '/', then the whole path.
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    if (path[pos - 1] == '/') continue;  // "a//b": the prefix "a/" was done as "a"
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), mode) == 0) continue;
    int err = errno;
    struct stat st;
    if (err == EEXIST || err == EACCES || err == EPERM || err == EROFS) {
      // An existing directory is fine even where we may not create one (e.g. "/home").
      if (::stat(prefix.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) continue;
        return absl::FailedPreconditionError(
            absl::StrCat("mkdir ", path, ": ", prefix, " exists and is not a directory"));
      }
    }
    return PosixError(err, "mkdir", prefix);
  }
  return absl::OkStatus();
}

std::string DirName(absl::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view data, mode_t mode) {
  std::string temp = absl::StrCat(path, ".tmp.XXXXXX");
  int raw_fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (raw_fd < 0) return PosixError(errno, "mkstemp", temp);
  UniqueFd fd(raw_fd);
  bool renamed = false;
  absl::Cleanup remove_temp = [&] {
    if (!renamed) ::unlink(temp.c_str());
  };
  if (::fchmod(fd.get(), mode) != 0) return PosixError(errno, "fchmod", temp);
  RETURN_IF_ERROR(WriteFully(fd.get(), data, temp));
  RETURN_IF_ERROR(SyncFile(fd.get(), temp));
  RETURN_IF_ERROR(fd.Close(temp));
  if (::rename(temp.c_str(), path.c_str()) != 0) return PosixError(errno, "rename", temp);
  renamed = true;
  return FsyncDirectory(DirName(path));
}

absl::StatusOr<std::vector<DirFile>> ListRegularFiles(const std::string& dir) {
  ASSIGN_OR_RETURN(UniqueFd dir_fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  DIR* stream = ::fdopendir(dir_fd.get());
  if (stream == nullptr) return PosixError(errno, "opendir", dir);
  dir_fd.release();  // now owned by `stream`
  std::vector<DirFile> out;
  absl::Status status;
  while (true) {
    errno = 0;
    struct dirent* ent = ::readdir(stream);
    if (ent == nullptr) {
      if (errno != 0) status = PosixError(errno, "readdir", dir);
      break;
    }
    struct stat st;
    if (::fstatat(::dirfd(stream), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted while we listed
      status = PosixError(errno, "stat", absl::StrCat(dir, "/", ent->d_name));
      break;
    }
    if (!S_ISREG(st.st_mode)) continue;
    out.push_back({ent->d_name, static_cast<uint64_t>(st.st_size)});
  }
  ::closedir(stream);
  if (!status.ok()) return status;
  return out;
}

}  // namespace cairn

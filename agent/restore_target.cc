#include "agent/restore_target.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    --ts.tv_sec;
  }
  return ts;
}

bool IsPrefixPath(const std::string& dir, const std::string& path) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         (dir.back() == '/' || path[dir.size()] == '/'));
}

// The real path of `path`, or of its longest existing ancestor joined with
// the rest, where "." and ".." in the missing part are resolved by name (as
// mkdir -p would walk them).
std::string RealPathOf(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) != nullptr) return buf;
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return path;
  std::string parent = RealPathOf(slash == 0 ? "/" : path.substr(0, slash));
  std::string last = path.substr(slash + 1);
  if (last.empty() || last == ".") return parent;
  std::string joined = last == ".."   ? DirName(parent)
                       : parent == "/" ? "/" + last
                                       : parent + "/" + last;
  if (realpath(joined.c_str(), buf) != nullptr) return buf;
  return joined;
}

absl::Status CheckTarget(const std::string& target, const std::string& real_target,
                         const std::vector<std::string>& protected_paths,
                         const std::vector<std::string>& allowed) {
  if (real_target == "/") {
    return absl::InvalidArgumentError("restoring into / is refused; name a directory");
  }
  std::vector<std::string> real_allowed;
  for (const std::string& a : allowed) real_allowed.push_back(RealPathOf(a));
  if (!allowed.empty()) {
    bool inside = false;
    for (const std::string& a : real_allowed) inside = inside || IsPrefixPath(a, real_target);
    if (!inside) {
      return absl::PermissionDeniedError(absl::StrCat(
          "refusing to restore into ", target, ": it is outside this agent's restore_targets (",
          absl::StrJoin(allowed, ", "),
          "); restore below one of them, or add a directory to restore_targets in the agent's "
          "config"));
    }
  }
  for (const std::string& p : protected_paths) {
    if (p.empty()) continue;
    std::string real = RealPathOf(p);
    // An allowed restore directory the agent keeps inside its own state
    // (state_dir/restores) is not the state it protects.
    bool carved_out = false;
    for (const std::string& a : real_allowed) {
      carved_out = carved_out || (a != real && IsPrefixPath(real, a) && IsPrefixPath(a, real_target));
    }
    if (carved_out) continue;
    if (IsPrefixPath(real_target, real) || IsPrefixPath(real, real_target)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "refusing to restore into ", target, ": it overlaps the agent's own ", real));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> OpenRestoreTarget(const std::string& target,
                                           const std::vector<std::string>& protected_paths,
                                           const std::vector<std::string>& allowed) {
  if (target.empty() || target[0] != '/' || target.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the restore target must be an absolute path");
  }
  if (target.find_first_not_of('/') == std::string::npos) {
    return absl::InvalidArgumentError("restoring into / is refused; name a directory");
  }
  // Before anything is created (a refused target gets no directories), and
  // again once it exists and its real path is certain.
  RETURN_IF_ERROR(CheckTarget(target, RealPathOf(target), protected_paths, allowed));
  RETURN_IF_ERROR(MakeDirectories(target, 0700));
  std::string real_target = RealPathOf(target);
  RETURN_IF_ERROR(CheckTarget(target, real_target, protected_paths, allowed));
  int fd = open(real_target.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return PosixError(errno, "open restore target", target);
  return UniqueFd(fd);
}

absl::Status ExistingEntry(const std::string& path, bool is_directory, bool overwrite) {
  if (!overwrite) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists (restore with overwrite)"));
  }
  if (is_directory) return absl::AlreadyExistsError(absl::StrCat(path, " exists as a directory"));
  return absl::OkStatus();
}

absl::Status MakeRoom(int dir_fd, const std::string& name, const std::string& path,
                      bool overwrite) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return PosixError(errno, "stat", path);
  }
  RETURN_IF_ERROR(ExistingEntry(path, S_ISDIR(st.st_mode), overwrite));
  if (unlinkat(dir_fd, name.c_str(), 0) != 0) return PosixError(errno, "remove", path);
  return absl::OkStatus();
}

absl::Status MoveIntoPlace(int dir_fd, const std::string& temp, const std::string& name,
                           const std::string& path, bool overwrite) {
  if (!overwrite) {
    if (renameat2(dir_fd, temp.c_str(), dir_fd, name.c_str(), RENAME_NOREPLACE) == 0) {
      return absl::OkStatus();
    }
    if (errno == EEXIST) return ExistingEntry(path, false, false);
    if (errno != EINVAL && errno != ENOSYS) return PosixError(errno, "rename into place", path);
    // A file system without RENAME_NOREPLACE: check, then rename.
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      return ExistingEntry(path, S_ISDIR(st.st_mode), false);
    }
  }
  if (renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
    if (errno == EISDIR || errno == ENOTEMPTY) return ExistingEntry(path, true, overwrite);
    return PosixError(errno, "rename into place", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<OpenedDirectory> EnsureDirectory(int dir_fd, const std::string& name,
                                                const std::string& path) {
  OpenedDirectory out;
  if (mkdirat(dir_fd, name.c_str(), 0700) == 0) {
    out.created = true;
  } else if (errno != EEXIST) {
    return PosixError(errno, "mkdir", path);
  }
  int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " exists in the target and is not a directory (a symlink?); refusing to "
                "write through it"));
    }
    return PosixError(errno, "open directory", path);
  }
  out.fd = UniqueFd(fd);
  return out;
}

absl::StatusOr<UniqueFd> OpenDirectoryBelow(int root_fd, const std::vector<std::string>& parts,
                                            const std::string& path) {
  int fd = dup(root_fd);
  if (fd < 0) return PosixError(errno, "dup", path);
  UniqueFd current(fd);
  for (const std::string& part : parts) {
    int next = openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return PosixError(errno, "open directory", path);
    current = UniqueFd(next);
  }
  return current;
}

absl::Status ApplyMetadata(int fd, const v1::TreeEntry& entry, bool allow_special,
                           const std::string& path, MetadataParts parts) {
  absl::Status first;
  auto note = [&](absl::Status status) {
    if (first.ok()) first = std::move(status);
  };
  if (parts.owner && geteuid() == 0 && fchown(fd, entry.uid(), entry.gid()) != 0) {
    note(PosixError(errno, "set the owner of", path));
  }
  // After chown, which clears set-id bits.
  if (parts.mode && fchmod(fd, entry.mode() & (allow_special ? 07777 : 01777)) != 0) {
    note(PosixError(errno, "set the mode of", path));
  }
  struct timespec times[2] = {ToTimespec(entry.mtime_ns()), ToTimespec(entry.mtime_ns())};
  if (futimens(fd, times) != 0) note(PosixError(errno, "set the times of", path));
  return first;
}

}  // namespace cairn

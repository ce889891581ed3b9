// Small POSIX file helpers shared by agent and server: an owning fd, full
// writes and reads that survive EINTR and short transfers, mkdir -p, directory
// fsync, and whole-file atomic replacement (temp file, fsync, rename, fsync dir).
//
//   RETURN_IF_ERROR(WriteFileAtomically(dir + "/state", bytes, 0600));
//   ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 1 << 20));
#ifndef CAIRN_COMMON_FILE_UTIL_H_
#define CAIRN_COMMON_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// Owns one file descriptor and closes it on destruction. Move-only. Close
// errors in the destructor are ignored: callers that need durability fsync
// (and may call Close()) before letting go.
class UniqueFd final {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing; returns the fd (or -1).
  int release();
  // Closes the current fd (ignoring errors) and takes ownership of `fd`.
  void reset(int fd = -1);
  // Closes now and reports the error close(2) returned; the fd is gone either way.
  absl::Status Close(absl::string_view path_for_errors);

 private:
  int fd_ = -1;
};

// Opens `path` with open(2) flags (O_CLOEXEC is always added).
absl::StatusOr<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);

// Writes all of `data`, retrying EINTR and short writes.
absl::Status WriteFully(int fd, absl::string_view data, absl::string_view path_for_errors);

// Reads exactly `n` bytes at `offset` into *out (resized to n). OutOfRange if
// the file ends first. The caller bounds `n`: this allocates it up front.
absl::Status PreadFully(int fd, uint64_t offset, size_t n, std::string* out,
                        absl::string_view path_for_errors);

// Reads a whole file. ResourceExhausted if it is larger than `max_bytes`, so a
// hostile or runaway file never makes us allocate more than we planned for.
absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes);

// Every durability point of cairn's own files (pack objects, the change
// journal, key files, atomic replacements) goes through these two, so that
// one place decides what "durable" means: fsync (or fdatasync with
// `data_only`). The power-loss tests install a SyncHook that records what each
// sync made durable and can make the machine "lose power" at any of them.
absl::Status SyncFile(int fd, const std::string& path, bool data_only = false);
// fsyncs a directory so a create, rename or unlink inside it is durable.
absl::Status FsyncDirectory(const std::string& dir);

// Replaces what SyncFile and FsyncDirectory do, process-wide; nullptr goes
// back to the real calls. For tests: the hook must outlive its installation.
class SyncHook {
 public:
  virtual ~SyncHook() = default;
  virtual absl::Status SyncFile(int fd, const std::string& path, bool data_only) = 0;
  virtual absl::Status SyncDirectory(const std::string& dir) = 0;
};
void SetSyncHookForTest(SyncHook* hook);

// The real calls, for a hook to make once it decided to.
absl::Status RealSyncFile(int fd, const std::string& path, bool data_only);
absl::Status RealSyncDirectory(const std::string& dir);

// mkdir -p. OK if the directory already exists; an existing non-directory in
// the way is FailedPrecondition. New directories get `mode` (minus umask).
absl::Status MakeDirectories(const std::string& path, mode_t mode = 0755);

// The regular files directly in `dir` (not following symlinks; entries that
// vanish while listed are skipped), with their sizes, in directory order.
struct DirFile {
  std::string name;
  uint64_t size;
};
absl::StatusOr<std::vector<DirFile>> ListRegularFiles(const std::string& dir);

// Replaces `path` with `data` so that a crash leaves either the old or the new
// contents, never a mix: temp file in the same directory, write, fsync, rename,
// fsync the directory. The temp file is removed on any failure. The file gets
// exactly `mode` (the umask is not applied).
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data,
                                 mode_t mode = 0644);

// The directory part of `path` ("." when there is none, "/" for "/x").
std::string DirName(absl::string_view path);

}  // namespace cairn

#endif  // CAIRN_COMMON_FILE_UTIL_H_

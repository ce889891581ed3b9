// The file-system moves a restore makes in its target, each done so that
// nothing is ever written outside it: the target is checked (absolute, not
// "/", clear of the agent's own files) and opened once; every other path is
// reached from its descriptor one component at a time with O_NOFOLLOW; a
// name is replaced only by rename or after unlink, never written through.
// Also the one rule for an entry that already exists, and how metadata is set.
#ifndef CAIRN_AGENT_RESTORE_TARGET_H_
#define CAIRN_AGENT_RESTORE_TARGET_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/v1/types.pb.h"
#include "common/file_util.h"

namespace cairn {

// Checks `target` and creates and opens it. InvalidArgument for a relative
// path or "/"; PermissionDenied when it is not inside one of `allowed` (if
// any are given) or overlaps one of `protected_paths` (an allowed directory
// inside a protected one is carved out of it). Checked before anything is
// created, and again on the real path.
absl::StatusOr<UniqueFd> OpenRestoreTarget(const std::string& target,
                                           const std::vector<std::string>& protected_paths,
                                           const std::vector<std::string>& allowed = {});

// The rule for `path` when something is already there: without overwrite,
// AlreadyExists "exists (restore with overwrite)"; a directory in the way of
// a non-directory, AlreadyExists "exists as a directory"; else OK (the
// caller may replace it).
absl::Status ExistingEntry(const std::string& path, bool is_directory, bool overwrite);

// Frees `name` in `dir_fd` for a new non-directory entry: absent, or (the
// rule allowing) a non-directory that is unlinked. Never follows a link.
absl::Status MakeRoom(int dir_fd, const std::string& name, const std::string& path, bool overwrite);

// Moves the temp file `temp` over `name` (atomically refusing an existing
// name without overwrite; a rename replaces a planted symlink itself).
absl::Status MoveIntoPlace(int dir_fd, const std::string& temp, const std::string& name,
                           const std::string& path, bool overwrite);

struct OpenedDirectory {
  UniqueFd fd;
  bool created = false;  // made by this restore (its metadata is ours to set)
};
// Creates (0700) or reuses a real directory and opens it without following
// links; FailedPrecondition when something else (a symlink) is in the way.
absl::StatusOr<OpenedDirectory> EnsureDirectory(int dir_fd, const std::string& name,
                                                const std::string& path);
// Opens the existing directory `parts` below `root_fd`, never following a link.
absl::StatusOr<UniqueFd> OpenDirectoryBelow(int root_fd, const std::vector<std::string>& parts,
                                            const std::string& path);

// Which metadata ApplyMetadata sets; times always.
struct MetadataParts {
  bool owner = true;  // only ever when running as root
  bool mode = true;
};
// Sets owner (when running as root), mode and times on an open file or
// directory. Set-id bits are kept only with `allow_special`; the sticky bit
// always. The first failure, naming the path; the others are still tried.
absl::Status ApplyMetadata(int fd, const v1::TreeEntry& entry, bool allow_special,
                           const std::string& path, MetadataParts parts = {});

}  // namespace cairn

#endif  // CAIRN_AGENT_RESTORE_TARGET_H_

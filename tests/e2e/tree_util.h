// File trees for the end-to-end tests: deterministic file contents, a sample
// tree meant to trip a backup system, and an exact comparison of two trees
// (content, type, mode, link target, hardlinks, mtime).
//
//   ASSERT_OK(BuildSampleTree(src, /*seed=*/1, /*large_bytes=*/8 << 20));
//   std::vector<std::string> diff = CompareDirectories(src, restored);
#ifndef CAIRN_TESTS_E2E_TREE_UTIL_H_
#define CAIRN_TESTS_E2E_TREE_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cairn::e2e {

// Creates `path` (parents must exist) with `size` bytes derived from `seed`:
// incompressible unless `compressible`. Replaces an existing file's content.
absl::Status WriteRandomFile(const std::string& path, uint64_t size, uint64_t seed,
                             mode_t mode = 0644, bool compressible = false);
// Overwrites `length` bytes at `offset` in place (size grows only if needed).
absl::Status OverwriteRange(const std::string& path, uint64_t offset, uint64_t length,
                            uint64_t seed);
// Sets mtime (and atime) of `path`, without following a symlink.
absl::Status SetMtime(const std::string& path, int64_t unix_seconds, int64_t nanos);

// A tree meant to trip a backup system: empty and ~`large_bytes` files, sizes
// around block boundaries, deep and empty directories, symlinks (relative,
// absolute, dangling, to a directory), hardlinks across directories, odd
// names (spaces, newline, non-UTF-8, 255 bytes, leading dash), odd modes and
// old or nanosecond mtimes. Deterministic in `seed`.
absl::Status BuildSampleTree(const std::string& root, uint64_t seed, uint64_t large_bytes);

struct EntryRecord {
  char type = '?';  // 'f' file, 'd' directory, 'l' symlink, 'o' other
  mode_t mode = 0;  // permission bits only
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string link_target;
  std::string digest;  // SHA-256 of a file's content
  // For a file with several names in the tree: the smallest of those paths.
  std::string hardlink_group;
};
// Relative path -> record; the root itself is not included.
using TreeManifest = std::map<std::string, EntryRecord>;

absl::StatusOr<TreeManifest> CaptureTree(const std::string& root);

struct CompareOptions {
  bool mtimes = true;
  bool directory_mtimes = true;
};
// Every difference, human-readable; empty when the trees are identical.
std::vector<std::string> CompareTrees(const TreeManifest& expected, const TreeManifest& actual,
                                      const CompareOptions& options = {});
// CaptureTree of both and CompareTrees; a capture error is one difference.
std::vector<std::string> CompareDirectories(const std::string& expected_root,
                                            const std::string& actual_root,
                                            const CompareOptions& options = {});
// Joins differences for a failure message (at most `max` lines).
std::string FormatDifferences(const std::vector<std::string>& differences, size_t max = 20);

// Total bytes of regular files in a manifest (each hardlinked inode once).
uint64_t TotalFileBytes(const TreeManifest& tree);

}  // namespace cairn::e2e

#endif  // CAIRN_TESTS_E2E_TREE_UTIL_H_

// Comparing directory trees in the agent tests: a manifest of every path
// below a root (type, permissions, owner, mtime, size, a digest of the
// logical content that ignores the hole layout, link targets, hardlink
// groups, device numbers), a part of one, and the differences of two.
//
//   CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src));
//   EXPECT_EQ(DiffManifests(want, *CaptureTree(restored)), "");
#ifndef CAIRN_TESTS_AGENT_TREE_MANIFEST_UTIL_H_
#define CAIRN_TESTS_AGENT_TREE_MANIFEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace cairn {

// What a tree comparison looks at for one path (relative to the root).
struct PathInfo {
  char type = '?';     // f d l p c b s
  uint32_t perms = 0;  // st_mode & 07777
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;     // not compared for directories when ignore_dir_mtime
  uint64_t size = 0;        // files only
  std::string digest;       // files: hash of the non-zero 4 KiB blocks with their offsets
  std::string link_target;  // symlinks
  std::string link_group;   // non-directories with nlink > 1: smallest path of the inode
  uint64_t rdev = 0;

  bool operator==(const PathInfo& other) const = default;
};
std::string DescribePathInfo(const PathInfo& info);

using TreeManifest = std::map<std::string, PathInfo>;

// Walks `root` without following symlinks. Paths are relative ("a/b").
absl::StatusOr<TreeManifest> CaptureTree(const std::string& root);
// The manifest entries at or under `prefix` ("" = all), paths unchanged.
TreeManifest SubManifest(const TreeManifest& manifest, const std::string& prefix);
// Human-readable differences; empty when equal. Directory mtimes are
// compared unless `ignore_dir_mtime`.
std::string DiffManifests(const TreeManifest& want, const TreeManifest& got,
                          bool ignore_dir_mtime = false);

// Digest of a file's logical content in the same form as PathInfo::digest.
absl::StatusOr<std::string> ContentDigest(const std::string& path);

}  // namespace cairn

#endif  // CAIRN_TESTS_AGENT_TREE_MANIFEST_UTIL_H_

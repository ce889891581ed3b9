// Shared fixture of the restore-safety tests: an in-process server and agent
// with an honest full backup of a few files, a work directory holding the
// restore target next to victims a restore must never touch, and builders of
// tampered snapshots written straight into the catalog, past the server's
// checks.
//
//   CAIRN_ASSERT_OK_AND_ASSIGN(std::string s, Snapshot({Symlink("evil", victim_dir_)}));
//   CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult r, Restore(s));
//   ExpectOutsideUntouched();
#ifndef CAIRN_TESTS_AGENT_RESTORE_SAFETY_TEST_UTIL_H_
#define CAIRN_TESTS_AGENT_RESTORE_SAFETY_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/restore_executor.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {

class RestoreSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Everything under work/ except the target: what a restore must not touch.
  absl::StatusOr<TreeManifest> Outside();
  // Nothing outside the target changed since SetUp; the sentinel is empty.
  void ExpectOutsideUntouched();

  // An entry with the content of the honest file `source`, named `name`.
  v1::TreeEntry FileLike(const std::string& name, const std::string& source = "alpha");
  static v1::TreeEntry Symlink(const std::string& name, const std::string& target);
  static v1::TreeEntry Hardlink(const std::string& name, const std::string& first);
  // A directory entry over a raw tree of `entries` (stored as given).
  absl::StatusOr<v1::TreeEntry> Dir(const std::string& name, std::vector<v1::TreeEntry> entries);
  // A committed snapshot whose root is a raw tree of `entries`.
  absl::StatusOr<std::string> Snapshot(std::vector<v1::TreeEntry> entries);
  absl::StatusOr<RestoreResult> Restore(const std::string& snapshot, bool overwrite = false,
                                        std::vector<std::string> paths = {},
                                        bool allow_special = false);

  // Names no restore may create: escaping, absolute, empty, ".", "..",
  // with a slash or a NUL, too long.
  std::vector<std::string> HostileNames() const;

  std::unique_ptr<AgentTestEnv> env_;
  std::string src_, work_, target_, sentinel_, victim_dir_, victim_file_;
  std::string honest_snapshot_;
  std::map<std::string, v1::TreeEntry> honest_;
  TreeManifest outside_before_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_AGENT_RESTORE_SAFETY_TEST_UTIL_H_

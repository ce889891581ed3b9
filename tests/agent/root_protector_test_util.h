// Shared fixture of the RootProtector tests: an in-process server and agent
// (AgentTestEnv), a root directory to protect, a protector started on demand,
// and a check that a snapshot restores to a captured tree.
//
//   TEST_F(RootProtectorTest, X) {
//     Start(Settings());
//     CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult b, protector_->Backup(...));
//     ExpectRestoresTo(b.snapshot.id(), want, "label");
//   }
#ifndef CAIRN_TESTS_AGENT_ROOT_PROTECTOR_TEST_UTIL_H_
#define CAIRN_TESTS_AGENT_ROOT_PROTECTOR_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "agent/root_protector.h"
#include "common/path_rules.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/continuous_util.h"

namespace cairn {

class RootProtectorTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string Src(const std::string& rel) const { return JoinPath(root_, rel); }
  // A new restore target under the env's base directory.
  std::string NewTarget(const std::string& label);
  // Protection of root_ with everything else at its default.
  ProtectionSettings Settings() const;
  void Start(ProtectionSettings settings);
  // Waits until the journal holds at least `n` pending paths.
  void WaitPending(uint64_t n);
  // Restores `snapshot` and compares it with `want` (the sentinel left out).
  void ExpectRestoresTo(const std::string& snapshot, const TreeManifest& want,
                        const std::string& label);

  std::unique_ptr<AgentTestEnv> env_;
  std::string root_;
  std::unique_ptr<RootProtector> protector_;
  int targets_ = 0;
};

// "d-007", "f-007": directory and file names that sort by number.
std::string DirName(int d);
std::string FileName(int f);

}  // namespace cairn

#endif  // CAIRN_TESTS_AGENT_ROOT_PROTECTOR_TEST_UTIL_H_

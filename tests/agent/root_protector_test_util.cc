#include "tests/agent/root_protector_test_util.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"

namespace cairn {

void RootProtectorTest::SetUp() {
  CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("protector"));
  root_ = env_->base() + "/root";
  CAIRN_ASSERT_OK(MakeDirectories(root_));
}

void RootProtectorTest::TearDown() {
  protector_.reset();
  std::string base = env_ != nullptr ? env_->base() : "";
  env_.reset();
  if (!HasFailure() && !base.empty()) RemoveTree(base);
}

std::string RootProtectorTest::NewTarget(const std::string& label) {
  return absl::StrCat(env_->base(), "/restore-", label, "-", targets_++);
}

ProtectionSettings RootProtectorTest::Settings() const {
  ProtectionSettings s;
  s.root = root_;
  return s;
}

void RootProtectorTest::Start(ProtectionSettings settings) {
  CAIRN_ASSERT_OK_AND_ASSIGN(protector_, StartProtector(*env_, std::move(settings)));
}

void RootProtectorTest::WaitPending(uint64_t n) {
  ASSERT_TRUE(WaitUntil([&] { return protector_->state().pending_paths >= n; }))
      << "pending paths: " << protector_->state().pending_paths << ", want >= " << n;
}

void RootProtectorTest::ExpectRestoresTo(const std::string& snapshot, const TreeManifest& want,
                                         const std::string& label) {
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, RestoreManifest(*env_, snapshot, NewTarget(label)));
  EXPECT_EQ(DiffManifests(WithoutSentinel(want), WithoutSentinel(got)), "")
      << "snapshot " << snapshot << " (" << label << ")";
}

std::string DirName(int d) { return absl::StrFormat("d-%03d", d); }
std::string FileName(int f) { return absl::StrFormat("f-%03d", f); }

}  // namespace cairn

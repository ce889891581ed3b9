// Restores a hostile server or admin would order, run through the real
// restore path (RunRestore over the agent's TLS connection to an in-process
// server), each refused before anything is written: a snapshot whose
// manifest the tenant key did not sign (a crafted tree), a target outside
// the agent's restore_targets (by path, "..", a symlink or a shared name
// prefix), and a restore by an agent holding another key than the one the
// snapshot was made with. Covered elsewhere: TreeFetcher's own refusal of an
// unsigned snapshot (tree_fetcher_test.cc ASnapshotTheTenantKeyDidNotSignIsRefused),
// hostile names, links and protected targets (restore_executor_safety_test.cc),
// OpenRestoreTarget's protected paths (restore_target_test.cc).
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/agent_config.h"
#include "agent/restore_executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/restore_safety_test_util.h"

namespace cairn {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

class HostileRestoreTest : public RestoreSafetyTest {
 protected:
  // Restores the honest snapshot into `target` as an order from the server
  // would, with `allowed` as the agent's restore_targets.
  absl::StatusOr<RestoreResult> OrderedRestore(const std::string& snapshot,
                                               const std::string& target,
                                               std::vector<std::string> allowed) {
    RestoreOptions options;
    options.snapshot_id = snapshot;
    options.target = target;
    options.allowed_targets = std::move(allowed);
    return env_->Restore(options);
  }
};

TEST_F(HostileRestoreTest, ACraftedTreeIsRefusedBeforeTheTargetIsMade) {
  // A tree the tenant's agents never backed up, pointing at real chunks,
  // committed by someone without the tenant key (the MAC is another key's).
  v1::Tree crafted;
  *crafted.add_entries() = Symlink("escape", victim_file_);
  *crafted.add_entries() = FileLike("planted");
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string root, env_->PutRawTree(crafted));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string forged, env_->CommitRawSnapshot(root, false));
  RemoveTree(target_);
  for (const std::string& target : {target_, target_ + "/deeper/still"}) {
    SCOPED_TRACE(target);
    absl::StatusOr<RestoreResult> result = OrderedRestore(forged, target, {});
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss) << result.status();
    EXPECT_FALSE(Exists(target_)) << "a refused restore created its target";
  }
  // Only one path of the snapshot: refused all the same.
  RestoreOptions options;
  options.snapshot_id = forged;
  options.target = target_;
  options.paths = {"planted"};
  EXPECT_EQ(env_->Restore(options).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(Exists(target_));
  ExpectOutsideUntouched();
  // The same tree, signed with the tenant key, restores: the MAC is what failed.
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string signed_snapshot, env_->CommitRawSnapshot(root, true));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult restored, OrderedRestore(signed_snapshot, target_, {}));
  EXPECT_TRUE(Exists(target_ + "/planted"));
}

TEST_F(HostileRestoreTest, ATargetOutsideRestoreTargetsIsRefusedAndNotCreated) {
  const std::string allowed = work_ + "/allowed";
  ASSERT_EQ(mkdir(allowed.c_str(), 0755), 0);
  ASSERT_EQ(symlink(victim_dir_.c_str(), (allowed + "/link").c_str()), 0);
  CAIRN_ASSERT_OK_AND_ASSIGN(outside_before_, Outside());
  for (const std::string& target :
       {work_ + "/elsewhere", work_ + "/elsewhere/deep", allowed + "/../elsewhere",
        allowed + "/../victim-dir", allowed + "-evil", allowed + "/link", allowed + "/link/sub",
        allowed + "/new/../../elsewhere", victim_dir_, target_}) {
    SCOPED_TRACE(target);
    absl::StatusOr<RestoreResult> result = OrderedRestore(honest_snapshot_, target, {allowed});
    EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied) << result.status();
    EXPECT_THAT(std::string(result.status().message()), ::testing::HasSubstr("restore_targets"));
  }
  EXPECT_FALSE(Exists(work_ + "/elsewhere"));
  EXPECT_FALSE(Exists(allowed + "-evil"));
  EXPECT_FALSE(Exists(allowed + "/new"));
  EXPECT_FALSE(Exists(victim_dir_ + "/sub"));
  EXPECT_TRUE(ListDir(target_).empty());
  ExpectOutsideUntouched();
  // Below the allowed directory, the same restore goes through.
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult restored,
                             OrderedRestore(honest_snapshot_, allowed + "/here", {allowed}));
  EXPECT_TRUE(restored.errors.empty()) << DescribeErrors(restored.errors);
  EXPECT_TRUE(Exists(allowed + "/here/alpha"));
}

TEST_F(HostileRestoreTest, AnotherKeyRestoresNothing) {
  // The agent's own connection, but a key file that is not the tenant's (a
  // replaced key file, or an agent of another tenant handed this snapshot).
  v1::AgentConfig raw = env_->agent().config;
  raw.set_key_file(env_->base() + "/other.key");
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::AgentConfig config, ResolveAgentConfig(raw));
  CAIRN_ASSERT_OK(CreateKeyFile(config.key_file(), ""));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> other, LoadAgentCrypto(config));
  ASSERT_NE(other->key_check, env_->agent().crypto->key_check);
  RemoveTree(target_);
  RestoreOptions options;
  options.snapshot_id = honest_snapshot_;
  options.target = target_;
  absl::StatusOr<RestoreResult> result = RunRestore(env_->connection(), *other, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss) << result.status();
  EXPECT_FALSE(Exists(target_)) << "a restore with another key created its target";
  ExpectOutsideUntouched();
  // The tenant's key restores the same snapshot into the same target.
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult restored, env_->Restore(options));
  EXPECT_TRUE(restored.errors.empty()) << DescribeErrors(restored.errors);
}

}  // namespace
}  // namespace cairn

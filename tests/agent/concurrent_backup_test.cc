// Many agents of one tenant backing up the same dataset at the same moment,
// as every node of a training cluster does with the shards it holds: with
// in-flight claims each shared chunk crosses the network once (the others
// wait for it), every backup commits, and each snapshot restores byte for
// byte and verifies. Real backups (RunBackup) against a real in-process
// server, one thread and one connection per agent.
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/backup_runner.h"
#include "agent/snapshot_verifier.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/tree_manifest_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

constexpr int kAgents = 8;
constexpr int kShards = 4;
constexpr size_t kShardBytes = 3u << 20;
constexpr size_t kOwnBytes = 512u << 10;

TEST(ConcurrentBackupTest, SharedChunksCrossTheNetworkOnceAndEverySnapshotRestores) {
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentTestEnv> env,
                             AgentTestEnv::Start("concurrent_backup"));
  // The same shards copied into every agent's root, beside a file of its own.
  const std::string shards = env->base() + "/shards";
  ASSERT_OK(MakeDirectories(shards));
  for (int i = 0; i < kShards; ++i) {
    ASSERT_OK(
        WriteFile(absl::StrCat(shards, "/shard-", i, ".bin"), RandomBytes(kShardBytes, 40 + i)));
  }
  std::vector<AgentIdentity> agents;
  std::vector<std::string> roots;
  for (int a = 0; a < kAgents; ++a) {
    if (a == 0) {
      agents.emplace_back();  // agent-a is the env's own; borrowed below
    } else {
      CAIRN_ASSERT_OK_AND_ASSIGN(AgentIdentity agent, env->AddAgent(absl::StrCat("node-", a)));
      agents.push_back(std::move(agent));
    }
    std::string root = absl::StrCat(env->base(), "/host-", a, "/data");
    ASSERT_OK(MakeDirectories(root + "/shards"));
    for (int i = 0; i < kShards; ++i) {
      ASSERT_TRUE(std::filesystem::copy_file(absl::StrCat(shards, "/shard-", i, ".bin"),
                                             absl::StrCat(root, "/shards/shard-", i, ".bin")));
    }
    ASSERT_OK(WriteFile(root + "/own.bin", RandomBytes(kOwnBytes, 900 + a)));
    roots.push_back(root);
  }
  auto connection = [&](int a) { return a == 0 ? env->connection() : agents[a].connection.get(); };
  auto identity = [&](int a) -> const AgentIdentity& { return a == 0 ? env->agent() : agents[a]; };

  std::vector<absl::StatusOr<BackupResult>> results(kAgents, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int a = 0; a < kAgents; ++a) {
    threads.emplace_back([&, a] {
      BackupOptions options;
      options.root = roots[a];
      options.level = v1::BACKUP_LEVEL_FULL;
      results[a] = RunBackup(connection(a), *identity(a).crypto, identity(a).config, options);
    });
  }
  for (std::thread& t : threads) t.join();

  uint64_t uploaded = 0, waited = 0;
  for (int a = 0; a < kAgents; ++a) {
    SCOPED_TRACE(a);
    ASSERT_TRUE(results[a].ok()) << results[a].status();
    EXPECT_TRUE(results[a]->errors.empty()) << DescribeErrors(results[a]->errors);
    uploaded += results[a]->snapshot.stats().bytes_uploaded();
    waited += results[a]->snapshot.stats().chunks_waited();
  }
  const uint64_t unique = kShards * kShardBytes + kAgents * kOwnBytes;
  EXPECT_LE(uploaded, unique * 11 / 10)
      << "uploaded " << uploaded << " bytes for " << unique << " unique (" << kAgents
      << " agents would send " << kAgents * kShards * kShardBytes << " of shards without claims)";
  EXPECT_GE(uploaded, unique) << "random data does not shrink";
  EXPECT_GT(waited, 0u);
  EXPECT_EQ(env->server()->core()->ingest().claim_counters().live, 0u);

  for (int a : {0, kAgents - 1}) {
    SCOPED_TRACE(a);
    const std::string target = absl::StrCat(env->base(), "/restore-", a);
    RestoreOptions restore;
    restore.snapshot_id = results[a]->snapshot.id();
    restore.target = target;
    CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult restored,
                               RunRestore(connection(a), *identity(a).crypto, restore));
    EXPECT_EQ(restored.failed, 0u) << DescribeErrors(restored.errors);
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(roots[a]));
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(target));
    EXPECT_EQ(DiffManifests(want, got), "");
    VerifyOptions verify;
    verify.snapshot_ids = {results[a]->snapshot.id()};
    CAIRN_ASSERT_OK_AND_ASSIGN(VerifyResult checked,
                               RunVerify(connection(a), *identity(a).crypto, verify));
    EXPECT_EQ(checked.damaged + checked.missing, 0u) << VerifySummary(checked);
  }
  if (!::testing::Test::HasFailure()) {
    std::string base = env->base();
    env.reset();
    RemoveTree(base);
  }
}

}  // namespace
}  // namespace cairn

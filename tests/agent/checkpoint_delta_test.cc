// Checkpoint deltas end to end, with the real backup, restore and verify
// code against a real in-process server: each training step's tensors are
// stored as deltas of the previous step's (found on disk beside it), the
// steps restore byte for byte, the chain's bases survive deleting every
// snapshot that named them and a garbage collection, chains stop at the
// configured length, and a reshaped model is stored whole.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/backup_runner.h"
#include "agent/snapshot_verifier.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "server/maintenance/garbage_collector.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/tree_manifest_util.h"
#include "tests/tensor_data.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using Model = std::map<std::string, std::string>;

// 10 MiB of embedding (cut in fixed pieces at the chunker's maximum), four
// 1 MiB layers, and norms small enough to be grouped.
Model FirstModel() {
  Model m;
  m["embed.weight"] = Bf16Normal(5 << 20, 1);
  for (int layer = 0; layer < 4; ++layer) {
    m[absl::StrCat("layers.", layer, ".weight")] = Bf16Normal(512 << 10, 10 + layer);
    m[absl::StrCat("layers.", layer, ".norm")] = Bf16Normal(1024, 20 + layer, 0.5f);
  }
  return m;
}

Model NextStep(const Model& m, uint32_t seed) {
  Model next;
  for (const auto& [name, data] : m) next[name] = Bf16Step(data, seed++);
  return next;
}

class CheckpointDeltaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoreOptions options;
    options.gc_grace = absl::ZeroDuration();
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("checkpoint_delta", options));
    root_ = env_->base() + "/data";
  }
  void WriteStep(int step, const Model& model) {
    ASSERT_OK(MakeDirectories(absl::StrCat(root_, "/ckpt/step-", step)));
    ASSERT_OK(WriteFile(absl::StrCat(root_, "/ckpt/step-", step, "/model.safetensors"),
                        Bf16Safetensors(model, absl::StrCat(step))));
  }
  absl::StatusOr<v1::Snapshot> Backup(const AgentCrypto* crypto = nullptr) {
    BackupOptions options;
    options.root = root_;
    options.level = v1::BACKUP_LEVEL_INCREMENTAL;
    absl::StatusOr<BackupResult> result =
        RunBackup(env_->connection(), crypto != nullptr ? *crypto : *env_->agent().crypto,
                  env_->agent().config, options);
    if (!result.ok()) return result.status();
    if (!result->errors.empty()) return absl::InternalError(DescribeErrors(result->errors));
    return result->snapshot;
  }
  void ExpectRestoresAsTheSource(const std::string& snapshot, const std::string& target) {
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(root_));
    CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult restored, env_->Restore(snapshot, target));
    EXPECT_EQ(restored.failed, 0u) << DescribeErrors(restored.errors);
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(target));
    EXPECT_EQ(DiffManifests(want, got), "");
    VerifyOptions verify;
    verify.snapshot_ids = {snapshot};
    CAIRN_ASSERT_OK_AND_ASSIGN(VerifyResult checked,
                               RunVerify(env_->connection(), *env_->agent().crypto, verify));
    EXPECT_GT(checked.chunks_checked, 0u);
    EXPECT_EQ(checked.damaged, 0u) << VerifySummary(checked);
    EXPECT_EQ(checked.missing, 0u) << VerifySummary(checked);
  }
  int64_t Tenant() { return *env_->server()->catalog()->agents().TenantId(AgentTestEnv::kTenant); }

  std::unique_ptr<AgentTestEnv> env_;
  std::string root_;
};

TEST_F(CheckpointDeltaTest, StepsAreDeltasAndTheChainOutlivesTheSnapshotsThatNamedIt) {
  Model m = FirstModel();
  ASSERT_NO_FATAL_FAILURE(WriteStep(1, m));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup());
  EXPECT_EQ(s1.stats().chunks_as_deltas(), 0u) << "nothing to be a delta of";
  std::vector<v1::Snapshot> steps{s1};
  for (int step = 2; step <= 3; ++step) {
    m = NextStep(m, 100 * step);
    ASSERT_NO_FATAL_FAILURE(WriteStep(step, m));
    CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot s, Backup());
    SCOPED_TRACE(step);
    // Every tensor piece of 64 KiB and more (embedding 2, layers 4).
    EXPECT_EQ(s.stats().chunks_as_deltas(), 6u) << s.stats().DebugString();
    EXPECT_LT(s.stats().bytes_uploaded() * 10, s1.stats().bytes_uploaded() * 8)
        << "a step's deltas against a whole first checkpoint: " << s.stats().DebugString() << " vs "
        << s1.stats().DebugString();
    steps.push_back(s);
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresAsTheSource(steps[2].id(), env_->base() + "/r3"));

  // The older steps leave the disk, every snapshot naming them is deleted,
  // and a collection runs: step 3's chain (steps 2 and 1) must stay.
  std::filesystem::remove_all(root_ + "/ckpt/step-1");
  std::filesystem::remove_all(root_ + "/ckpt/step-2");
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot last, Backup());
  EXPECT_EQ(last.stats().chunks_new(), 0u) << "step 3 is unchanged";
  std::vector<std::pair<std::string, std::string>> doomed;
  for (const v1::Snapshot& s : steps) doomed.emplace_back(s.id(), "deleted by the test");
  ASSERT_OK(env_->server()->catalog()->snapshots().Delete(doomed));
  absl::SleepFor(absl::Milliseconds(20));  // everything is older than the horizon
  GcOptions gc;
  gc.grace = absl::ZeroDuration();
  CAIRN_ASSERT_OK_AND_ASSIGN(GcReport report, env_->server()->core()->maintenance().CollectGarbage(
                                                  Caller::Internal(), gc));
  EXPECT_EQ(report.chunks_kept_as_bases, 12u) << "6 pieces of step 2 and 6 of step 1";
  EXPECT_GT(report.chunks_deleted, 0u) << "step 1's header and small pieces";
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresAsTheSource(last.id(), env_->base() + "/r-last"));
}

TEST_F(CheckpointDeltaTest, ChainsStopAtTheConfiguredLengthWithAWholeCopy) {
  v1::AgentConfig config = env_->agent().config;
  config.set_delta_chain(2);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> crypto, LoadAgentCrypto(config));
  Model m = FirstModel();
  std::vector<uint64_t> deltas;
  for (int step = 1; step <= 4; ++step) {
    if (step > 1) m = NextStep(m, 10 * step);
    ASSERT_NO_FATAL_FAILURE(WriteStep(step, m));
    CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot s, Backup(crypto.get()));
    deltas.push_back(s.stats().chunks_as_deltas());
  }
  // Whole, delta, delta (chain of 2), whole again.
  EXPECT_EQ(deltas, (std::vector<uint64_t>{0, 6, 6, 0}));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<ChunkRow> rows,
                             env_->server()->catalog()->chunks().DeltaPage(0, "", 1000));
  std::vector<std::string> ids;
  for (const ChunkRow& r : rows) ids.push_back(r.id);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<std::optional<int>> depths,
                             env_->server()->catalog()->chunks().ChainDepths(Tenant(), ids));
  ASSERT_EQ(depths.size(), 12u);
  for (const std::optional<int>& d : depths) {
    ASSERT_TRUE(d.has_value());
    EXPECT_LE(*d, 2);
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresAsTheSource(
      env_->server()->catalog()->snapshots().List(AgentTestEnv::kAgentName, 1)->at(0).id(),
      env_->base() + "/r4"));
}

TEST_F(CheckpointDeltaTest, AReshapedModelIsStoredWholeAndOffTurnsDeltasOff) {
  ASSERT_NO_FATAL_FAILURE(WriteStep(1, FirstModel()));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup());
  Model grown = NextStep(FirstModel(), 7);
  grown["layers.0.weight"] = Bf16Normal(1 << 20, 99);  // twice as large
  ASSERT_NO_FATAL_FAILURE(WriteStep(2, grown));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup());
  EXPECT_EQ(s2.stats().chunks_as_deltas(), 0u) << "layouts differ: no base";
  EXPECT_GT(s2.stats().chunks_new(), 0u);

  v1::AgentConfig config = env_->agent().config;
  config.set_delta_chain(0);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> off, LoadAgentCrypto(config));
  ASSERT_NO_FATAL_FAILURE(WriteStep(3, NextStep(grown, 8)));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot s3, Backup(off.get()));
  EXPECT_EQ(s3.stats().chunks_as_deltas(), 0u);
  EXPECT_GT(s3.stats().chunks_new(), 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresAsTheSource(s3.id(), env_->base() + "/r3"));
  (void)s1;
}

// A base whose stored copy is bad (here: another chunk's bytes under its id)
// is found by a verify of a snapshot that names only the deltas built on it:
// the base is reported damaged with them (once), so the server offers it as
// a base no more, and counts it missing.
TEST_F(CheckpointDeltaTest, AVerifyReportsABadBaseNotOnlyTheDeltasBuiltOnIt) {
  Model m = FirstModel();
  ASSERT_NO_FATAL_FAILURE(WriteStep(1, m));
  CAIRN_ASSERT_OK(Backup().status());
  ASSERT_NO_FATAL_FAILURE(WriteStep(2, NextStep(m, 300)));
  CAIRN_ASSERT_OK(Backup().status());
  std::filesystem::remove_all(root_ + "/ckpt/step-1");
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot only_step_2, Backup());

  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<ChunkRow> deltas,
                             env_->server()->catalog()->chunks().DeltaPage(0, "", 1000));
  ASSERT_EQ(deltas.size(), 6u);
  const std::string base = deltas.front().base_id;
  uint64_t on_base = 0;
  for (const ChunkRow& d : deltas) on_base += d.base_id == base ? 1 : 0;
  {
    CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               SqliteDb::Open(env_->server_state_dir() + "/catalog.db"));
    CAIRN_ASSERT_OK_AND_ASSIGN(SqliteStatement swap, db->Prepare(R"sql(
        UPDATE chunks SET (pack_id, offset, length, raw_size) =
          (SELECT pack_id, offset, length, raw_size FROM chunks
           WHERE id != ?1 AND base_id IS NULL LIMIT 1)
        WHERE id = ?1)sql"));
    swap.BindBlob(1, base);
    CAIRN_ASSERT_OK(swap.Run());
    ASSERT_EQ(db->Changes(), 1);
  }

  VerifyOptions verify;
  verify.snapshot_ids = {only_step_2.id()};
  CAIRN_ASSERT_OK_AND_ASSIGN(VerifyResult checked,
                             RunVerify(env_->connection(), *env_->agent().crypto, verify));
  EXPECT_EQ(checked.damaged, on_base + 1) << VerifySummary(checked);
  EXPECT_EQ(checked.reported, on_base + 1) << VerifySummary(checked);
  int base_problems = 0;
  for (const v1::FileError& e : checked.problems) {
    base_problems += absl::StrContains(e.error(), "the base of a checkpoint delta") ? 1 : 0;
  }
  EXPECT_EQ(base_problems, 1) << VerifySummary(checked);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                             env_->server()->catalog()->chunks().FindMissing(Tenant(), {base}));
  EXPECT_EQ(missing, std::vector<uint32_t>{0}) << "the base is stored again when next seen";
}

}  // namespace
}  // namespace cairn

// GarbageCollector on a real catalog and a real local tier (wrapped for fault
// injection): what it deletes, compaction and its threshold, dry runs, one
// run at a time, the grace period, a full disk during compaction, damaged
// packs and orphan objects.
#include "server/maintenance/garbage_collector.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/tree_pages.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/maintenance/gc_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(GcTest, DeletesExactlyTheUnreferencedChunksAndFreesTheirPacks) {
  const std::string a = Id(1), b = Id(2), c = Id(3), d = Id(4), e = Id(5);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a, b, c}, {d}}, {{d}, {a, b, c}}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup(*repo_, {{d, e}}, {{e}}));
  EXPECT_EQ(TierObjects(*repo_).size(), 3u);
  ASSERT_OK(Forget(*repo_, s1));

  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(Immediately(0)));
  EXPECT_EQ(report.chunks_deleted, 3u);
  EXPECT_EQ(report.trees_deleted, 2u);  // s1's root and its "d"
  EXPECT_EQ(report.packs_deleted, 1u);  // the pack of a, b, c
  EXPECT_EQ(report.chunks_rescued, 0u);
  EXPECT_GT(report.bytes_freed, 0);
  EXPECT_THAT(report.problems, IsEmpty());
  for (const std::string& gone : {a, b, c}) EXPECT_FALSE(Stored(*repo_, gone));
  for (const std::string& kept : {d, e}) EXPECT_TRUE(Stored(*repo_, kept));
  EXPECT_EQ(TierObjects(*repo_), CatalogPacks(*repo_));
  EXPECT_EQ(TierObjects(*repo_).size(), 2u);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  EXPECT_EQ(s2.id(), (*repo_->catalog->snapshots().List("", 10))[0].id());

  ASSERT_OK_AND_ASSIGN(GcReport again, Gc());
  EXPECT_EQ(again.chunks_deleted + again.trees_deleted + again.packs_deleted, 0u);
}

// The mark in passes (a memory budget smaller than the catalog's chunks
// need) finds exactly the garbage one pass finds: each pass keeps one residue
// class of fingerprints and every chunk is judged in its own class's pass.
TEST_F(GcTest, AMarkInPassesDeletesExactlyWhatOnePassDeletes) {
  const std::vector<std::string> old_only = Ids(1000, 1600);
  const std::vector<std::string> shared = Ids(2000, 2400);
  const std::vector<std::string> new_only = Ids(3000, 3300);
  std::vector<std::string> first = old_only;
  first.insert(first.end(), shared.begin(), shared.end());
  std::vector<std::string> second = shared;
  second.insert(second.end(), new_only.begin(), new_only.end());
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {first}, {first}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup(*repo_, {second}, {new_only}));
  ASSERT_OK(Forget(*repo_, s1));

  // 1,300 chunk rows in a budget of 100 fingerprints: 13 passes.
  GcOptions in_passes = Immediately(0);
  in_passes.mark_memory_bytes = 100 * kMarkBytesPerChunk;
  in_passes.dry_run = true;
  ASSERT_OK_AND_ASSIGN(GcReport counted, Gc(in_passes));
  EXPECT_EQ(counted.mark_passes, 13u);
  EXPECT_EQ(counted.chunks_deleted, old_only.size());
  GcOptions one_pass = Immediately(0);
  one_pass.dry_run = true;
  ASSERT_OK_AND_ASSIGN(GcReport counted_once, Gc(one_pass));
  EXPECT_EQ(counted_once.mark_passes, 1u);
  EXPECT_EQ(counted_once.chunks_deleted, old_only.size());

  in_passes.dry_run = false;
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(in_passes));
  EXPECT_EQ(report.mark_passes, 13u);
  EXPECT_EQ(report.chunks_deleted, old_only.size());
  EXPECT_THAT(report.problems, IsEmpty());
  for (const std::string& gone : old_only) EXPECT_FALSE(Stored(*repo_, gone)) << gone;
  for (const std::string& kept : shared) EXPECT_TRUE(Stored(*repo_, kept)) << kept;
  for (const std::string& kept : new_only) EXPECT_TRUE(Stored(*repo_, kept)) << kept;
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  EXPECT_EQ(s2.id(), (*repo_->catalog->snapshots().List("", 10))[0].id());
}

TEST(MarkPassesTest, PassesGrowWithChunksOverTheBudgetUpToTheCap) {
  EXPECT_EQ(MarkPasses(0, 1 << 30), 1u);
  EXPECT_EQ(MarkPasses(1000, 1000 * kMarkBytesPerChunk), 1u);
  EXPECT_EQ(MarkPasses(1001, 1000 * kMarkBytesPerChunk), 2u);
  EXPECT_EQ(MarkPasses(uint64_t{1} << 40, 1 << 30), kMaxMarkPasses);
  EXPECT_EQ(MarkPasses(5, 0), 5u);  // a budget below one fingerprint: one each
}

// A directory stored as pages (common/tree_pages.h): every page and every
// chunk a page names is kept while a snapshot reaches it, and all of it goes
// with the last snapshot.
TEST_F(GcTest, APagedDirectoryIsKeptWholeAndGoesWhole) {
  const std::vector<std::string> ids = Ids(100, 2100);
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK(Upload(*repo_, job, ids));
  std::vector<std::string> nodes;
  TreeBuilder builder([&](const v1::Tree& node) -> absl::StatusOr<std::string> {
    nodes.push_back(node.SerializeAsString());
    return Sha256Of(nodes.back());
  });
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_OK(builder.Add(FileEntry(absl::StrFormat("f%05d", i), {ids[i]}, 300)));
  }
  ASSERT_OK_AND_ASSIGN(std::string dir, builder.Finish());
  nodes.push_back(TreeBytes({DirEntry("d", dir)}));
  ASSERT_GT(nodes.size(), 10u) << "the directory should be paged";
  ASSERT_OK(PutTrees(*repo_->agent, job, nodes));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, Commit(*repo_->agent, job, Sha256Of(nodes.back())));

  ASSERT_OK_AND_ASSIGN(GcReport kept, Gc());
  EXPECT_EQ(kept.chunks_deleted + kept.trees_deleted, 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));

  ASSERT_OK(Forget(*repo_, s));
  ASSERT_OK_AND_ASSIGN(GcReport gone, Gc());
  EXPECT_EQ(gone.trees_deleted, nodes.size());
  EXPECT_EQ(gone.chunks_deleted, ids.size());
}

TEST_F(GcTest, CompactionMovesLiveChunksAndRestoresStillReadThem) {
  // Three packs of four chunks; the second snapshot keeps one of each.
  std::vector<std::string> all = Ids(0, 12);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {all}, {Ids(0, 4), Ids(4, 8), Ids(8, 12)}));
  std::vector<std::string> live = {Id(0), Id(5), Id(11)};
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup(*repo_, {live}, {}));
  std::set<std::string> before = TierObjects(*repo_);
  int64_t tenant = TenantOf(*repo_);
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> old_loc,
                       repo_->catalog->chunks().Locate(tenant, Id(5)));
  ASSERT_OK(Forget(*repo_, s1));

  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted, 9u);
  EXPECT_EQ(report.packs_compacted, 3u);
  EXPECT_EQ(report.packs_written, 1u);  // the three sparse packs become one
  EXPECT_EQ(report.packs_deleted, 3u);
  EXPECT_GT(report.bytes_freed, 0);
  std::set<std::string> after = TierObjects(*repo_);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(before.count(*after.begin()), 0u) << "a new pack, the old ones deleted";
  EXPECT_EQ(after, CatalogPacks(*repo_));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> new_loc,
                       repo_->catalog->chunks().Locate(tenant, Id(5)));
  ASSERT_TRUE(new_loc.has_value());
  EXPECT_NE(new_loc->pack_name, old_loc->pack_name);
  for (const std::string& id : live) {
    ASSERT_OK_AND_ASSIGN(std::string sealed, ReadSealed(*repo_, tenant, id));
    EXPECT_EQ(sealed, Sealed(id));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  // The rewritten pack is all live: nothing more to do.
  ASSERT_OK_AND_ASSIGN(GcReport again, Gc());
  EXPECT_EQ(again.packs_compacted + again.packs_deleted + again.chunks_deleted, 0u);
  EXPECT_EQ(s2.root_tree_id(), (*repo_->catalog->snapshots().Get(s2.id()))->root_tree_id());
}

TEST_F(GcTest, PacksAboveTheThresholdStay) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {Ids(0, 4)}, {Ids(0, 4)}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup(*repo_, {Ids(0, 3)}, {}));
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(Immediately(0.5)));  // 3 of 4 live
  EXPECT_EQ(report.chunks_deleted, 1u);
  EXPECT_EQ(report.packs_compacted, 0u);
  ASSERT_OK_AND_ASSIGN(report, Gc(Immediately(0.9)));
  EXPECT_EQ(report.packs_compacted, 1u);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
}

TEST_F(GcTest, DryRunCountsButChangesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {Ids(0, 8)}, {Ids(0, 4), Ids(4, 8)}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup(*repo_, {{Id(0)}}, {}));
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK(repo_->tier->Put("pack-1-orphan", "left by a crash"));
  std::set<std::string> objects = TierObjects(*repo_);
  ASSERT_OK_AND_ASSIGN(CatalogTotals totals, repo_->catalog->Totals());

  GcOptions dry = Immediately();
  dry.dry_run = true;
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(dry));
  EXPECT_EQ(report.chunks_deleted, 7u);
  EXPECT_EQ(report.trees_deleted, 2u);
  EXPECT_EQ(report.packs_deleted, 1u);    // Ids(4, 8) would be empty
  EXPECT_EQ(report.packs_compacted, 1u);  // Ids(0, 4) would be a quarter live
  EXPECT_EQ(TierObjects(*repo_), objects);
  ASSERT_OK_AND_ASSIGN(CatalogTotals still, repo_->catalog->Totals());
  EXPECT_EQ(still.chunks, totals.chunks);
  EXPECT_EQ(still.packs, totals.packs);

  ASSERT_OK_AND_ASSIGN(GcReport real, Gc());
  EXPECT_EQ(real.chunks_deleted, 7u);
  EXPECT_EQ(real.trees_deleted, 2u);
  EXPECT_EQ(real.packs_compacted, 1u);
  EXPECT_EQ(real.orphans_deleted, 1u);
  EXPECT_EQ(TierObjects(*repo_), CatalogPacks(*repo_));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
}

TEST_F(GcTest, SecondConcurrentRunIsAborted) {
  absl::Status second;
  GcOptions options = Immediately();
  options.phase_hook = [&](GcPhase phase) {
    if (phase == GcPhase::kTreeCandidates) {
      second = Collect(*repo_, Immediately()).status();
    }
    return absl::OkStatus();
  };
  ASSERT_OK(Gc(options).status());
  EXPECT_EQ(second.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(second.message(), HasSubstr("a garbage collection is already running"));
  EXPECT_OK(Gc().status());  // the guard is released after a run

  // Also after a run that failed.
  options.phase_hook = [](GcPhase) { return absl::UnavailableError("stop"); };
  EXPECT_EQ(Gc(options).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_OK(Gc().status());
}

TEST_F(GcTest, GracePeriodSparesYoungData) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{Id(1)}}, {{Id(1)}}));
  ASSERT_OK(Forget(*repo_, s1));
  GcOptions options = Immediately();
  options.grace = absl::Hours(1);
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  EXPECT_EQ(report.chunks_deleted + report.trees_deleted, 0u);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(report, Gc(options));
  EXPECT_EQ(report.chunks_deleted, 1u);
  EXPECT_EQ(report.trees_deleted, 2u);
}

class GcFaultTest : public GcTest, public ::testing::WithParamInterface<TierOp> {};

TEST_P(GcFaultTest, DiskFullDuringCompactionFailsAndKeepsEverythingReadable) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {Ids(0, 8)}, {Ids(0, 4), Ids(4, 8)}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup(*repo_, {{Id(0), Id(4)}}, {}));
  ASSERT_OK(Forget(*repo_, s1));
  repo_->tier->FailFromNth(GetParam(), 1);
  absl::StatusOr<GcReport> failed = Gc();
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted) << failed.status();
  repo_->tier->ClearFaults();
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  // Every catalogued pack is still there.
  std::set<std::string> objects = TierObjects(*repo_);
  for (const std::string& p : CatalogPacks(*repo_)) EXPECT_EQ(objects.count(p), 1u) << p;

  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.packs_compacted, 2u);
  EXPECT_EQ(TierObjects(*repo_), CatalogPacks(*repo_));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
}

INSTANTIATE_TEST_SUITE_P(Ops, GcFaultTest,
                         ::testing::Values(TierOp::kCreate, TierOp::kAppend, TierOp::kCommit),
                         [](const ::testing::TestParamInfo<TierOp>& info) {
                           switch (info.param) {
                             case TierOp::kCreate:
                               return std::string("Create");
                             case TierOp::kAppend:
                               return std::string("Append");
                             default:
                               return std::string("Commit");
                           }
                         });

TEST_F(GcTest, DamagedPackIsQuarantinedNotCompacted) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {Ids(0, 4)}, {Ids(0, 4)}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Backup(*repo_, {{Id(0)}}, {}));
  ASSERT_OK(Forget(*repo_, s1));
  repo_->tier->CorruptNthRead(1);  // the first read of compaction: the header
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.packs_compacted, 0u);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], HasSubstr("quarantined"));
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, repo_->catalog->chunks().ListPacks());
  ASSERT_EQ(packs.size(), 1u);
  EXPECT_TRUE(packs[0].quarantined);
}

TEST_F(GcTest, OrphanObjectsGoOnlyAfterTheGrace) {
  ASSERT_OK(repo_->tier->Put("pack-1-orphan", "left by a crash"));
  ASSERT_OK(repo_->tier->Put("notes", "not a pack"));
  GcOptions options = Immediately();
  options.grace = absl::Hours(1);
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  EXPECT_EQ(report.orphans_deleted, 0u) << "first seen just now";
  clock_.Advance(absl::Minutes(61));
  ASSERT_OK_AND_ASSIGN(report, Gc(options));
  EXPECT_EQ(report.orphans_deleted, 1u);
  EXPECT_EQ(TierObjects(*repo_), std::set<std::string>{"notes"});
}

}  // namespace
}  // namespace cairn

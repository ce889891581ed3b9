// Garbage collection on a real catalog and a real local tier (wrapped for
// fault injection): what it deletes, compaction, races with running backups
// (rescue, leases), a full disk, and crashes at every phase (a forked child
// killed with _exit(9), and an error return at each phase).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/ingest/chunk_reader.h"
#include "server/maintenance/garbage_collector.h"
#include "server/maintenance/pack_verifier.h"
#include "server/maintenance/retention.h"
#include "server/server.h"
#include "tests/server/tiers/fault_injection_tier.h"
#include "server/tiers/local_tier.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kTenant[] = "t";

// A clock the test moves. It starts a second ahead of the real one, so that
// "older than now minus a zero grace" holds for everything made before a GC.
class TestClock {
 public:
  std::function<absl::Time()> fn() const {
    std::shared_ptr<std::atomic<int64_t>> offset = offset_ms_;
    return [offset] { return absl::Now() + absl::Milliseconds(offset->load()); };
  }
  void Advance(absl::Duration d) { *offset_ms_ += absl::ToInt64Milliseconds(d); }

 private:
  std::shared_ptr<std::atomic<int64_t>> offset_ms_ = std::make_shared<std::atomic<int64_t>>(1000);
};

// A server core over `dir` with a fault-injecting local tier; reopenable.
struct GcRepo {
  std::unique_ptr<TestRepo> repo;
  Catalog* catalog = nullptr;
  AgentCalls* agent = nullptr;
  FaultInjectionTier* tier = nullptr;
  ServerCore& core() { return *repo->core; }
};

absl::StatusOr<std::unique_ptr<GcRepo>> OpenGcRepo(const std::string& dir, const TestClock& clock) {
  auto gc = std::make_unique<GcRepo>();
  CoreOptions options;
  options.pack_target_bytes = 1 << 20;
  options.clock = clock.fn();
  FaultInjectionTier* faulty = nullptr;
  ASSIGN_OR_RETURN(gc->repo, OpenTestRepoIn(dir, options, [&](std::unique_ptr<Tier> local) {
                     std::unique_ptr<FaultInjectionTier> wrapped = WrapWithFaults(std::move(local));
                     faulty = wrapped.get();
                     return std::unique_ptr<Tier>(std::move(wrapped));
                   }));
  gc->catalog = gc->repo->catalog;
  gc->agent = gc->repo->agent.get();
  gc->tier = faulty;
  return gc;
}

// A chunk's sealed bytes, read as a restore reads them.
absl::StatusOr<std::string> ReadSealed(GcRepo& repo, int64_t tenant, const std::string& id) {
  std::string out;
  ChunkReader reader(&repo.catalog->chunks(), &repo.core().tiers());
  std::vector<std::string> ids{id};
  RETURN_IF_ERROR(reader.Read(tenant, ids, [&](absl::string_view, absl::string_view sealed) {
    out = std::string(sealed);
    return absl::OkStatus();
  }));
  return out;
}

// A collection on `repo` with `options` (packs of 1 MiB, as the repo writes).
absl::StatusOr<GcReport> Collect(GcRepo& repo, GcOptions options) {
  options.pack_target_bytes = 1 << 20;
  return repo.core().maintenance().CollectGarbage(Caller::Trusted(), options);
}

// What the agent would have sealed for `id`: 200 bytes, different per id.
std::string Sealed(absl::string_view id) {
  uint64_t seed = 0;
  for (size_t i = 0; i < 8 && i < id.size(); ++i) seed = seed << 8 | static_cast<uint8_t>(id[i]);
  return TestSealed(seed, 200);
}

std::string Id(int n) { return TestChunkId(n, 7); }
std::vector<std::string> Ids(int from, int to) {  // [from, to)
  std::vector<std::string> ids;
  for (int i = from; i < to; ++i) ids.push_back(Id(i));
  return ids;
}

// One upload stream: the chunks land in one new pack.
absl::Status Upload(GcRepo& repo, absl::string_view job, const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(std::unique_ptr<PackIngest> ingest, repo.agent->StartUpload(job));
  for (const std::string& id : ids) RETURN_IF_ERROR(ingest->Add(id, 300, Sealed(id)));
  return ingest->Finish();
}

absl::StatusOr<std::vector<uint32_t>> Missing(GcRepo& repo, absl::string_view job,
                                              const std::vector<std::string>& ids) {
  v1::FindMissingChunksRequest request;
  request.set_job_id(std::string(job));
  for (const std::string& id : ids) request.add_ids(id);
  ASSIGN_OR_RETURN(v1::FindMissingChunksResponse response,
                   repo.agent->FindMissingChunks(request));
  return std::vector<uint32_t>(response.missing().begin(), response.missing().end());
}

using Files = std::vector<std::vector<std::string>>;  // chunk ids of f0, f1, ...

// The two trees of a snapshot: root -> "d" -> files. Returns {sub, root}.
std::vector<std::string> TreesFor(const Files& files) {
  std::vector<v1::TreeEntry> entries;
  for (size_t i = 0; i < files.size(); ++i) {
    entries.push_back(FileEntry(absl::StrCat("f", i), files[i], 300));
  }
  std::string sub = TreeBytes(entries);
  std::string root = TreeBytes({DirEntry("d", Sha256Of(sub))});
  return {sub, root};
}

// The rest of a backup once its chunks are stored: trees, then commit.
absl::StatusOr<v1::Snapshot> Finish(GcRepo& repo, absl::string_view job, const Files& files) {
  std::vector<std::string> trees = TreesFor(files);
  RETURN_IF_ERROR(PutTrees(*repo.agent, job, trees));
  return Commit(*repo.agent, job, Sha256Of(trees[1]));
}

// A whole backup: each group of ids not yet stored goes up in its own stream
// (its own pack).
absl::StatusOr<v1::Snapshot> Backup(GcRepo& repo, const Files& files,
                                    const std::vector<std::vector<std::string>>& groups,
                                    absl::string_view root = "/data") {
  ASSIGN_OR_RETURN(std::string job,
                   StartBackup(*repo.agent, "gpu-1", kTenant, root, v1::BACKUP_LEVEL_FULL));
  for (const std::vector<std::string>& group : groups) {
    ASSIGN_OR_RETURN(std::vector<uint32_t> missing, Missing(repo, job, group));
    std::vector<std::string> upload;
    for (uint32_t i : missing) upload.push_back(group[i]);
    if (!upload.empty()) RETURN_IF_ERROR(Upload(repo, job, upload));
  }
  return Finish(repo, job, files);
}

absl::Status Forget(GcRepo& repo, const v1::Snapshot& snapshot) {
  return repo.catalog->snapshots().Delete({{snapshot.id(), "expired by the test"}});
}

int64_t TenantOf(GcRepo& repo) { return *repo.catalog->agents().TenantId(kTenant); }

bool Stored(GcRepo& repo, absl::string_view id) {
  std::vector<std::string> ids{std::string(id)};
  absl::StatusOr<std::vector<uint32_t>> missing =
      repo.catalog->chunks().FindMissing(TenantOf(repo), ids);
  return missing.ok() && missing->empty();
}

std::set<std::string> TierObjects(GcRepo& repo) {
  absl::StatusOr<std::vector<std::string>> names = repo.tier->List();
  EXPECT_TRUE(names.ok()) << names.status();
  return names.ok() ? std::set<std::string>(names->begin(), names->end()) : std::set<std::string>();
}

std::set<std::string> CatalogPacks(GcRepo& repo) {
  std::set<std::string> names;
  absl::StatusOr<std::vector<PackRecord>> packs = repo.catalog->chunks().ListPacks();
  EXPECT_TRUE(packs.ok()) << packs.status();
  if (packs.ok()) {
    for (const PackRecord& p : *packs) names.insert(p.name);
  }
  return names;
}

// Every chunk of every snapshot: located, its blob read and checked against
// its pack's index, and ReadChunk returns the sealed bytes uploaded.
void ExpectAllSnapshotsReadable(GcRepo& repo) {
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems, repo.catalog->IntegrityCheck());
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> snapshots,
                       repo.catalog->snapshots().List("", std::numeric_limits<uint32_t>::max()));
  for (const v1::Snapshot& s : snapshots) {
    ASSERT_OK_AND_ASSIGN(int64_t tenant, repo.catalog->agents().TenantId(s.tenant()));
    std::vector<std::string> pending{s.root_tree_id()};
    while (!pending.empty()) {
      std::string id = pending.back();
      pending.pop_back();
      ASSERT_OK_AND_ASSIGN(std::optional<std::string> data, repo.catalog->trees().Get(tenant, id));
      ASSERT_TRUE(data.has_value()) << "snapshot " << s.id() << " lost a tree";
      v1::Tree tree;
      ASSERT_TRUE(tree.ParseFromString(*data));
      for (const v1::TreeEntry& e : tree.entries()) {
        if (e.type() == v1::ENTRY_TYPE_DIRECTORY) pending.push_back(e.subtree_id());
        for (const v1::ChunkRef& c : e.chunks()) {
          ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc,
                               repo.catalog->chunks().Locate(tenant, c.id()));
          ASSERT_TRUE(loc.has_value()) << "snapshot " << s.id() << " lost a chunk";
          Tier* tier = repo.core().tiers().Find(loc->tier);
          ASSERT_NE(tier, nullptr);
          ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> index, ReadPackIndex(tier, loc->pack_name));
          const PackEntry* entry = nullptr;
          for (const PackEntry& pe : index) {
            if (pe.offset == loc->offset) entry = &pe;
          }
          ASSERT_NE(entry, nullptr);
          std::string blob;
          ASSERT_OK(tier->Read(loc->pack_name, loc->offset, loc->length, &blob));
          ASSERT_OK(VerifyBlob(*entry, blob));
          ASSERT_OK_AND_ASSIGN(std::string sealed, ReadSealed(repo, tenant, c.id()));
          EXPECT_EQ(sealed, Sealed(c.id()));
        }
      }
    }
  }
}

GcOptions Immediately(double compact_below = 0.5) {
  GcOptions options;
  options.grace = absl::ZeroDuration();
  options.clock_slack = absl::ZeroDuration();
  options.compact_below = compact_below;
  return options;
}

// Lets the millisecond clock tick, so what is made next is strictly newer.
void NextMillisecond() { absl::SleepFor(absl::Milliseconds(2)); }

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(repo_, OpenGcRepo(FreshTestDir("gc"), clock_)); }

  absl::StatusOr<GcReport> Gc(const GcOptions& options = Immediately()) {
    return Collect(*repo_, options);
  }

  TestClock clock_;
  std::unique_ptr<GcRepo> repo_;
};

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

TEST_F(GcTest, ChunkToldPresentDuringGcIsRescuedAndTheBackupCommits) {
  const std::string c = Id(1), x = Id(2), n = Id(3);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{c, x}}, {{c, x}}));
  ASSERT_OK(Forget(*repo_, s1));
  NextMillisecond();
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  GcOptions options = Immediately();
  absl::StatusOr<std::vector<uint32_t>> told;
  options.phase_hook = [&](GcPhase phase) {
    // The backup asks while the collector holds its candidates.
    if (phase == GcPhase::kChunkCandidates) told = Missing(*repo_, job, {c, n});
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  ASSERT_TRUE(told.ok()) << told.status();
  EXPECT_EQ(*told, std::vector<uint32_t>{1}) << "c was reported present";
  EXPECT_EQ(report.chunks_rescued, 1u);
  EXPECT_EQ(report.chunks_deleted, 1u);  // x
  EXPECT_TRUE(Stored(*repo_, c));
  EXPECT_FALSE(Stored(*repo_, x));

  ASSERT_OK(Upload(*repo_, job, {n}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Finish(*repo_, job, {{c, n}}));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  EXPECT_FALSE(s2.id().empty());
}

TEST_F(GcTest, ChunkToldPresentBeforeGcToALiveBackupSurvives) {
  const std::string c = Id(1), x = Id(2);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{c, x}}, {{c, x}}));
  ASSERT_OK(Forget(*repo_, s1));
  NextMillisecond();
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(*repo_, job, {c}));
  EXPECT_THAT(missing, IsEmpty());

  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_TRUE(Stored(*repo_, c)) << "the live backup was told c exists";
  EXPECT_GE(report.spared_maybe_reused, 1u);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Finish(*repo_, job, {{c}}));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));

  // Once no backup that heard the answer is live, garbage goes.
  ASSERT_OK(Forget(*repo_, s2));
  ASSERT_OK_AND_ASSIGN(report, Gc());
  EXPECT_FALSE(Stored(*repo_, c));
  EXPECT_FALSE(Stored(*repo_, x));
}

TEST_F(GcTest, AnswersToEndedBackupsProtectNothing) {
  const std::string g = Id(1);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{g}}, {{g}}));
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(*repo_, job, {g}));
  EXPECT_THAT(missing, IsEmpty());
  v1::FinishJobRequest finish;
  finish.set_job_id(job);
  finish.set_state(v1::JOB_STATE_FAILED);
  ASSERT_OK(repo_->agent->FinishJob(finish));
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted, 1u);
  EXPECT_FALSE(Stored(*repo_, g));
}

TEST_F(GcTest, TreeToldPresentDuringGcKeepsItsWholeSubtree) {
  // s1's trees (root -> "d" -> chunks a, b) become garbage; a new backup of
  // the same content is told the root exists while the collector runs.
  const std::string a = Id(1), b = Id(2);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a, b}}, {{a, b}}));
  ASSERT_OK(Forget(*repo_, s1));
  NextMillisecond();
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/other",
                                                    v1::BACKUP_LEVEL_FULL));
  GcOptions options = Immediately();
  absl::StatusOr<v1::FindMissingTreesResponse> told;
  options.phase_hook = [&](GcPhase phase) {
    if (phase == GcPhase::kTreeCandidates) {
      v1::FindMissingTreesRequest request;
      request.set_job_id(job);
      request.add_ids(s1.root_tree_id());
      told = repo_->agent->FindMissingTrees(request);
    }
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  ASSERT_TRUE(told.ok()) << told.status();
  EXPECT_EQ(told->missing_size(), 0);
  EXPECT_EQ(report.trees_rescued, 1u);
  EXPECT_EQ(report.trees_deleted, 0u) << "the subtree below the rescued root stays too";
  EXPECT_EQ(report.chunks_deleted, 0u) << "and so do the chunks it references";

  // The agent trusts the answer and commits the old root as its own.
  ASSERT_OK(Commit(*repo_->agent, job, s1.root_tree_id()).status());
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
}

TEST_F(GcTest, LiveBackupsUploadsAndTreesAreSpared) {
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK(Upload(*repo_, job, {Id(1), Id(2)}));
  std::vector<std::string> trees = TreesFor({{Id(1)}, {Id(2)}});
  ASSERT_OK(PutTrees(*repo_->agent, job, trees));
  // Uploaded and stored but not yet part of any snapshot.
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted + report.trees_deleted + report.packs_deleted, 0u);
  ASSERT_OK(Commit(*repo_->agent, job, Sha256Of(trees[1])).status());
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
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

TEST_F(GcTest, ExpiredLeaseRefusesCommitAfterGcCollectedItsData) {
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  const std::string u = Id(1);
  ASSERT_OK(Upload(*repo_, job, {u}));
  std::vector<std::string> trees = TreesFor({{u}});
  ASSERT_OK(PutTrees(*repo_->agent, job, trees));

  // The agent pauses past its lease; the collector no longer counts the job.
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted, 1u);
  EXPECT_EQ(report.trees_deleted, 2u);

  // Resumed: every call of the job is refused, the commit first of all.
  absl::StatusOr<v1::Snapshot> commit = Commit(*repo_->agent, job, Sha256Of(trees[1]));
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(commit.status().message(), HasSubstr("lease expired"));
  absl::Status put = PutTrees(*repo_->agent, job, trees);
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Missing(*repo_, job, {u}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(repo_->agent->StartUpload(job).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> snapshots, repo_->catalog->snapshots().List("", 10));
  EXPECT_THAT(snapshots, IsEmpty());
}

TEST_F(GcTest, CallsRenewTheLease) {
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK(Upload(*repo_, job, {Id(1)}));
  for (int i = 0; i < 3; ++i) {  // 40 minutes apart: 2 hours in all, each within the lease
    clock_.Advance(absl::Minutes(40));
    ASSERT_OK(Missing(*repo_, job, {Id(1)}).status());
  }
  clock_.Advance(absl::Minutes(40));
  ASSERT_OK(Finish(*repo_, job, {{Id(1)}}).status());
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

// --- Crashes ---

// State with work for every phase: an empty pack to delete, a sparse pack to
// compact, an orphan object. Returns the ids that must be gone afterwards.
absl::StatusOr<std::vector<std::string>> BuildCrashScenario(GcRepo& repo) {
  ASSIGN_OR_RETURN(v1::Snapshot s1, Backup(repo, {Ids(0, 8)}, {Ids(0, 4), Ids(4, 8)}));
  ASSIGN_OR_RETURN(v1::Snapshot s2, Backup(repo, {{Id(4)}, Ids(20, 24)}, {Ids(20, 24)}));
  ASSIGN_OR_RETURN(v1::Snapshot s3, Backup(repo, {Ids(20, 22)}, {}, "/ckpt"));
  RETURN_IF_ERROR(Forget(repo, s1));
  RETURN_IF_ERROR(repo.tier->Put("pack-1-orphan", "left by a crash"));
  std::vector<std::string> garbage = Ids(0, 4);
  for (int i = 5; i < 8; ++i) garbage.push_back(Id(i));
  return garbage;
}

// After a crash at any point: the catalog is sound, every snapshot reads,
// every catalogued pack exists, and a new run finishes the work.
void ExpectRecovered(const std::string& dir, const std::vector<std::string>& garbage) {
  TestClock clock;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<GcRepo> repo, OpenGcRepo(dir, clock));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo));
  std::set<std::string> objects = TierObjects(*repo);
  for (const std::string& p : CatalogPacks(*repo)) EXPECT_EQ(objects.count(p), 1u) << p;

  ASSERT_OK(Collect(*repo, Immediately()).status());
  EXPECT_EQ(TierObjects(*repo), CatalogPacks(*repo)) << "orphans cleaned";
  for (const std::string& id : garbage) EXPECT_FALSE(Stored(*repo, id));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo));
  GcOptions dry = Immediately();
  dry.dry_run = true;
  ASSERT_OK_AND_ASSIGN(GcReport left, Collect(*repo, dry));
  EXPECT_EQ(left.chunks_deleted + left.trees_deleted + left.packs_deleted + left.packs_compacted,
            0u);
}

class GcCrashTest : public ::testing::TestWithParam<GcPhase> {};

TEST_P(GcCrashTest, KilledAtPhaseRecovers) {
  const std::string dir = FreshTestDir("gc_crash");
  std::vector<std::string> garbage;
  {
    TestClock clock;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<GcRepo> repo, OpenGcRepo(dir, clock));
    ASSERT_OK_AND_ASSIGN(garbage, BuildCrashScenario(*repo));
  }  // closed: the child opens its own catalog, as a restarted server would
  const GcPhase crash_at = GetParam();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No gtest in here: a bare process that dies like kill -9 at the phase.
    TestClock clock;
    absl::StatusOr<std::unique_ptr<GcRepo>> repo = OpenGcRepo(dir, clock);
    if (!repo.ok()) ::_exit(2);
    GcOptions options = Immediately();
    options.phase_hook = [crash_at](GcPhase phase) {
      if (phase == crash_at) ::_exit(9);
      return absl::OkStatus();
    };
    absl::Status status = Collect(**repo, options).status();
    ::_exit(status.ok() ? 0 : 3);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 9) << "the phase was not reached (or the run failed)";
  ExpectRecovered(dir, garbage);
}

TEST_P(GcCrashTest, ErrorAtPhaseRecovers) {
  const std::string dir = FreshTestDir("gc_error");
  std::vector<std::string> garbage;
  const GcPhase stop_at = GetParam();
  {
    TestClock clock;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<GcRepo> repo, OpenGcRepo(dir, clock));
    ASSERT_OK_AND_ASSIGN(garbage, BuildCrashScenario(*repo));
    GcOptions options = Immediately();
    options.phase_hook = [stop_at](GcPhase phase) {
      return phase == stop_at ? absl::UnavailableError(GcPhaseName(phase)) : absl::OkStatus();
    };
    absl::Status status = Collect(*repo, options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status.message(), GcPhaseName(stop_at));
  }
  ExpectRecovered(dir, garbage);
}

INSTANTIATE_TEST_SUITE_P(EveryPhase, GcCrashTest,
                         ::testing::Values(GcPhase::kStarted, GcPhase::kTreeCandidates,
                                           GcPhase::kTreesSwept, GcPhase::kChunkCandidates,
                                           GcPhase::kChunksSwept, GcPhase::kEmptyPackDeleted,
                                           GcPhase::kCompactPackWritten, GcPhase::kCompactRepointed,
                                           GcPhase::kCompactOldPackDeleted, GcPhase::kOrphanDeleted,
                                           GcPhase::kFinished),
                         [](const ::testing::TestParamInfo<GcPhase>& info) {
                           std::string name;
                           for (char c : GcPhaseName(info.param)) {
                             if (c != '-') name += c;
                           }
                           return name;
                         });

// --- Through the admin service ---

TEST(GcServiceTest, PruneAndCollectGarbageRpcs) {
  v1::ServerConfig config;
  config.set_listen("127.0.0.1:0");
  config.set_state_dir(FreshTestDir("gc_server"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CairnServer> server, CairnServer::Start(config));
  Catalog* catalog = server->catalog();
  v1::AgentInfo agent;
  agent.set_name("gpu-1");
  agent.set_tenant("t");
  ASSERT_OK(catalog->agents().Upsert(agent));
  std::vector<std::string> ids;
  for (int day = 1; day <= 3; ++day) {
    v1::Job job;
    job.set_id(absl::StrCat("j-", day));
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_agent("gpu-1");
    ASSERT_OK(catalog->jobs().Insert(job, 0));
    v1::Snapshot s;
    s.set_id(absl::StrCat("s-", day));
    s.set_agent("gpu-1");
    s.set_tenant("t");
    s.add_roots("/data");
    s.set_root_tree_id(std::string(32, 'r'));
    s.set_created_unix_ms(absl::ToUnixMillis(absl::Now() - absl::Hours(24 * (4 - day))));
    s.set_job_id(job.id());
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    ASSERT_OK(catalog->snapshots().Commit(s, job).status());
    ids.push_back(s.id());
  }
  v1::Policy policy;
  policy.set_name("p");
  policy.add_agents("gpu-*");
  policy.add_roots("/data");
  policy.mutable_retention()->set_keep_last(1);
  ASSERT_OK(catalog->policies().Put(policy));

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                                     grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::AdminService::Stub> stub = v1::AdminService::NewStub(channel);
  {
    grpc::ClientContext context;
    v1::PruneRequest request;
    request.set_dry_run(true);
    v1::PruneResponse response;
    ASSERT_TRUE(stub->Prune(&context, request, &response).ok());
    EXPECT_THAT(response.expired_snapshot_ids(), ::testing::UnorderedElementsAre(ids[0], ids[1]));
    EXPECT_EQ(response.kept(), 1u);
  }
  {
    grpc::ClientContext context;
    v1::PruneResponse response;
    ASSERT_TRUE(stub->Prune(&context, v1::PruneRequest(), &response).ok());
    EXPECT_EQ(response.expired_snapshot_ids_size(), 2);
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> left, catalog->snapshots().List("", 10));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].id(), ids[2]);
  }
  {
    grpc::ClientContext context;
    v1::GcResponse response;
    ASSERT_TRUE(stub->CollectGarbage(&context, v1::GcRequest(), &response).ok());
    EXPECT_EQ(response.chunks_deleted(), 0u);
  }
  {
    grpc::ClientContext context;
    v1::GcRequest request;
    request.set_compact_below(2);
    v1::GcResponse response;
    grpc::Status status = stub->CollectGarbage(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace cairn

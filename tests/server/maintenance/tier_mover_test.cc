// TierMover over a real server core with two tiers, "hot" (local, where new
// packs go) and "cold" (local, or S3 on s3rver), both wrapped for faults,
// with packs written by real backups: a copy leaves identical objects on both
// tiers and records the copy; a move deletes the source objects only after
// the catalog barrier, batch by batch, and restores then read cold; the age
// filter, dry runs, quarantined packs and packs already on the target; a copy
// that reads back different or fails to commit is deleted from the target and
// reported, the source kept; a stopped run resumes without copying again; a
// failing barrier leaves the sources as orphans that a later gc removes; one
// run at a time; the MoveTier service needs an admin and uses the core's
// barrier; gc deletes every location of a garbage pack (sweep and
// compaction) and its orphan sweep spares copies.
#include "server/maintenance/tier_mover.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/s3/s3_tier.h"
#include "tests/server/maintenance/gc_test_util.h"
#include "tests/server/tiers/s3_test_server.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A server core over `dir` with tiers hot (local, new packs) and `cold`
// (a local tier in dir/cold when null), each wrapped for faults.
absl::StatusOr<std::unique_ptr<GcRepo>> OpenTwoTierRepo(
    const std::string& dir, const TestClock& clock, std::unique_ptr<Tier> cold, CoreOptions options,
    FaultInjectionTier** hot_out, FaultInjectionTier** cold_out) {
  RETURN_IF_ERROR(MakeDirectories(dir, 0750));
  ASSIGN_OR_RETURN(std::unique_ptr<Tier> hot, OpenLocalTier("hot", dir + "/hot"));
  if (cold == nullptr) {
    ASSIGN_OR_RETURN(cold, OpenLocalTier("cold", dir + "/cold"));
  }
  std::unique_ptr<FaultInjectionTier> hot_faults = WrapWithFaults(std::move(hot));
  std::unique_ptr<FaultInjectionTier> cold_faults = WrapWithFaults(std::move(cold));
  *hot_out = hot_faults.get();
  *cold_out = cold_faults.get();
  std::vector<std::unique_ptr<Tier>> tiers;
  tiers.push_back(std::move(hot_faults));
  tiers.push_back(std::move(cold_faults));
  options.pack_target_bytes = 1 << 20;
  options.clock = clock.fn();
  options.tier_set.new_packs = {"hot"};
  auto repo = std::make_unique<TestRepo>();
  repo->dir = dir;
  repo->cleanup.dir = dir;
  ASSIGN_OR_RETURN(repo->core,
                   ServerCore::Open(dir + "/catalog.db", std::move(tiers), std::move(options)));
  repo->catalog = &repo->core->catalog();
  repo->jobs = &repo->core->jobs();
  repo->agent = std::make_unique<AgentCalls>(repo->core.get());
  repo->tier = *hot_out;
  auto gc = std::make_unique<GcRepo>();
  gc->catalog = repo->catalog;
  gc->agent = repo->agent.get();
  gc->tier = *hot_out;
  gc->repo = std::move(repo);
  return gc;
}

// The pack objects of a tier ("pack-..."), sorted.
std::vector<std::string> PackObjects(Tier* tier) {
  absl::StatusOr<std::vector<std::string>> names = tier->List();
  EXPECT_TRUE(names.ok()) << names.status();
  std::vector<std::string> out;
  if (names.ok()) {
    for (const std::string& n : *names) {
      if (absl::StartsWith(n, "pack-")) out.push_back(n);
    }
  }
  return out;
}

std::string ReadAll(Tier* tier, const std::string& name) {
  absl::StatusOr<uint64_t> size = tier->Size(name);
  EXPECT_TRUE(size.ok()) << name << ": " << size.status();
  std::string out;
  if (size.ok()) {
    absl::Status read = tier->Read(name, 0, *size, &out);
    EXPECT_TRUE(read.ok()) << name << ": " << read;
  }
  return out;
}

// Every progress message a run sends, and when to stop.
struct Progress {
  std::vector<v1::MoveTierProgress> seen;
  int stop_after_done = -1;  // return false once packs_done reaches this
  std::function<bool(const v1::MoveTierProgress&)> fn() {
    return [this](const v1::MoveTierProgress& p) {
      seen.push_back(p);
      return stop_after_done < 0 || static_cast<int>(p.packs_done()) < stop_after_done;
    };
  }
};

class TierMoverTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open()); }

  // (Re)opens the repo in a fresh directory, cold on `cold` (local when null).
  void Open(CoreOptions options = CoreOptions(), std::unique_ptr<Tier> cold = nullptr) {
    repo_.reset();
    ASSERT_OK_AND_ASSIGN(repo_, OpenTwoTierRepo(FreshTestDir("tier_mover"), clock_, std::move(cold),
                                                std::move(options), &hot_, &cold_));
    mover_ = std::make_unique<TierMover>(repo_->catalog, &repo_->core().tiers());
  }

  // A snapshot with `packs` files of `per_pack` new chunks each, every file
  // uploaded in its own stream (its own pack); chunk ids from Id(first).
  absl::StatusOr<v1::Snapshot> BackupPacks(int first, int packs, int per_pack = 5) {
    Files files;
    for (int i = 0; i < packs; ++i) {
      files.push_back(Ids(first + i * per_pack, first + (i + 1) * per_pack));
    }
    absl::StatusOr<v1::Snapshot> s = Backup(*repo_, files, files, absl::StrCat("/data", first));
    NextMillisecond();
    return s;
  }

  TierMoveOptions Options(bool copy = false) {
    TierMoveOptions o;
    o.from = "hot";
    o.to = "cold";
    o.copy = copy;
    o.piece_bytes = 97;  // several pieces per pack
    o.clock = clock_.fn();
    return o;
  }

  // Each catalogued pack: name -> its record.
  std::map<std::string, PackRecord> Packs() {
    std::map<std::string, PackRecord> out;
    absl::StatusOr<std::vector<PackRecord>> packs = repo_->catalog->chunks().ListPacks();
    EXPECT_TRUE(packs.ok()) << packs.status();
    if (packs.ok()) {
      for (const PackRecord& p : *packs) out[p.name] = p;
    }
    return out;
  }
  std::vector<std::string> CopiesOf(const PackRecord& p) {
    absl::StatusOr<std::vector<std::string>> copies = repo_->catalog->placement().Copies(p.id);
    EXPECT_TRUE(copies.ok()) << copies.status();
    return copies.ok() ? *copies : std::vector<std::string>{"(error)"};
  }
  size_t CatalogPacksOn(const std::string& tier) {
    absl::StatusOr<std::vector<PlacedPack>> on =
        repo_->catalog->placement().PacksOn(tier, INT64_MAX, 0, 1000000);
    EXPECT_TRUE(on.ok()) << on.status();
    return on.ok() ? on->size() : 0;
  }
  // Pack names in id order: the order a run takes them in.
  std::vector<std::string> ById() {
    absl::StatusOr<std::vector<PackRecord>> packs = repo_->catalog->chunks().ListPacks();
    EXPECT_TRUE(packs.ok()) << packs.status();
    std::vector<std::string> out;
    if (packs.ok()) {
      for (const PackRecord& p : *packs) out.push_back(p.name);
    }
    return out;
  }
  absl::StatusOr<GcReport> Gc(const GcOptions& options = Immediately()) {
    return Collect(*repo_, options);
  }
  Tier* Hot() { return repo_->core().tiers().Find("hot"); }
  Tier* Cold() { return repo_->core().tiers().Find("cold"); }

  // Every chunk of `s` read back through the snapshot reader (copies and all).
  void ExpectRestorable(const v1::Snapshot& s, const std::vector<std::string>& ids) {
    ASSERT_OK_AND_ASSIGN(auto chunks, repo_->agent->ReadChunks(s.id(), ids));
    ASSERT_EQ(chunks.size(), ids.size());
    for (const auto& [id, sealed] : chunks) EXPECT_EQ(sealed, Sealed(id));
  }

  TestClock clock_;
  std::unique_ptr<GcRepo> repo_;
  FaultInjectionTier* hot_ = nullptr;
  FaultInjectionTier* cold_ = nullptr;
  std::unique_ptr<TierMover> mover_;
};

TEST_F(TierMoverTest, ACopyLeavesIdenticalObjectsOnBothTiersAndRecordsIt) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 3));
  std::map<std::string, PackRecord> packs = Packs();
  ASSERT_THAT(packs, SizeIs(3));
  uint64_t bytes = 0;
  for (const auto& [name, p] : packs) bytes += p.size;

  Progress progress;
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done,
                       mover_->Run(Options(/*copy=*/true), progress.fn()));
  EXPECT_TRUE(done.finished());
  EXPECT_EQ(done.packs_total(), 3u);
  EXPECT_EQ(done.packs_done(), 3u);
  EXPECT_EQ(done.packs_skipped(), 0u);
  EXPECT_EQ(done.bytes_total(), bytes);
  EXPECT_EQ(done.bytes_done(), bytes);
  EXPECT_THAT(done.problems(), IsEmpty());
  // The totals first, then once per pack.
  ASSERT_THAT(progress.seen, SizeIs(4));
  EXPECT_EQ(progress.seen[0].packs_total(), 3u);
  EXPECT_EQ(progress.seen[0].bytes_total(), bytes);
  EXPECT_EQ(progress.seen[0].packs_done(), 0u);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(progress.seen[i].packs_done(), static_cast<uint64_t>(i));
  // Copied in pieces: more appends than packs.
  EXPECT_GT(cold_->calls(TierOp::kAppend), 3 * 2);

  EXPECT_EQ(PackObjects(Hot()), PackObjects(Cold()));
  for (const auto& [name, p] : Packs()) {
    EXPECT_EQ(p.tier, "hot") << name;
    EXPECT_THAT(CopiesOf(p), ElementsAre("cold")) << name;
    EXPECT_EQ(ReadAll(Cold(), name), ReadAll(Hot(), name)) << name;
    EXPECT_EQ(ReadAll(Cold(), name).size(), p.size) << name;
  }
  EXPECT_EQ(hot_->calls(TierOp::kDelete), 0);
  EXPECT_EQ(CatalogPacksOn("hot"), 3u);
  EXPECT_EQ(CatalogPacksOn("cold"), 3u);
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(s, Ids(0, 15));

  // Again: every pack already has its copy; nothing is copied.
  const int64_t creates = cold_->calls(TierOp::kCreate);
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(Options(/*copy=*/true), Progress().fn()));
  EXPECT_EQ(done.packs_total(), 0u);
  EXPECT_EQ(done.packs_done(), 0u);
  EXPECT_EQ(done.packs_skipped(), 3u);
  EXPECT_EQ(done.bytes_done(), 0u);
  EXPECT_EQ(cold_->calls(TierOp::kCreate), creates);
}

TEST_F(TierMoverTest, AMoveDeletesSourcesOnlyAfterTheBarrierBatchByBatch) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 5));
  const std::vector<std::string> names = PackObjects(Hot());
  ASSERT_THAT(names, SizeIs(5));

  // At each barrier: source deletes so far, source objects there, packs
  // the catalog still places on hot.
  struct AtBarrier {
    int64_t deletes;
    size_t objects;
    size_t catalogued;
  };
  std::vector<AtBarrier> barriers;
  TierMoveOptions options = Options();
  options.delete_batch = 2;
  options.before_delete = [&]() -> absl::Status {
    barriers.push_back(
        {hot_->calls(TierOp::kDelete), PackObjects(Hot()).size(), CatalogPacksOn("hot")});
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(options, Progress().fn()));
  EXPECT_EQ(done.packs_total(), 5u);
  EXPECT_EQ(done.packs_done(), 5u);
  EXPECT_THAT(done.problems(), IsEmpty());

  // Batches of 2, 2 and 1: each barrier came after its packs were recorded
  // on cold and before any of their objects went.
  ASSERT_THAT(barriers, SizeIs(3));
  EXPECT_EQ(barriers[0].deletes, 0);
  EXPECT_EQ(barriers[0].objects, 5u);
  EXPECT_EQ(barriers[0].catalogued, 3u);
  EXPECT_EQ(barriers[1].deletes, 2);
  EXPECT_EQ(barriers[1].objects, 3u);
  EXPECT_EQ(barriers[1].catalogued, 1u);
  EXPECT_EQ(barriers[2].deletes, 4);
  EXPECT_EQ(barriers[2].objects, 1u);
  EXPECT_EQ(barriers[2].catalogued, 0u);
  EXPECT_EQ(hot_->calls(TierOp::kDelete), 5);

  EXPECT_THAT(PackObjects(Hot()), IsEmpty());
  EXPECT_EQ(PackObjects(Cold()), names);
  for (const auto& [name, p] : Packs()) {
    EXPECT_EQ(p.tier, "cold") << name;
    EXPECT_THAT(CopiesOf(p), IsEmpty()) << name;
  }
  EXPECT_EQ(CatalogPacksOn("hot"), 0u);
  EXPECT_EQ(CatalogPacksOn("cold"), 5u);
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(s, Ids(0, 25));
  // New packs still go to hot.
  ASSERT_OK_AND_ASSIGN(v1::Snapshot later, BackupPacks(100, 1));
  EXPECT_THAT(PackObjects(Hot()), SizeIs(1));
  ExpectRestorable(later, Ids(100, 105));
}

TEST_F(TierMoverTest, OlderThanMovesOnlyPacksWrittenThatLongAgo) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot old_one, BackupPacks(0, 2));
  const std::vector<std::string> old_packs = PackObjects(Hot());
  clock_.Advance(absl::Hours(48));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot new_one, BackupPacks(100, 2));
  std::vector<std::string> new_packs;
  for (const std::string& n : PackObjects(Hot())) {
    if (std::find(old_packs.begin(), old_packs.end(), n) == old_packs.end()) new_packs.push_back(n);
  }
  ASSERT_THAT(new_packs, SizeIs(2));

  TierMoveOptions options = Options();
  options.older_than = absl::Hours(72);
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(options, Progress().fn()));
  EXPECT_EQ(done.packs_total(), 0u);
  EXPECT_THAT(PackObjects(Cold()), IsEmpty());

  options.older_than = absl::Hours(24);
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(options, Progress().fn()));
  EXPECT_EQ(done.packs_total(), 2u);
  EXPECT_EQ(done.packs_done(), 2u);
  EXPECT_EQ(PackObjects(Cold()), old_packs);
  EXPECT_EQ(PackObjects(Hot()), new_packs);
  std::map<std::string, PackRecord> packs = Packs();
  for (const std::string& n : old_packs) EXPECT_EQ(packs[n].tier, "cold") << n;
  for (const std::string& n : new_packs) EXPECT_EQ(packs[n].tier, "hot") << n;
  ExpectRestorable(old_one, Ids(0, 10));
  ExpectRestorable(new_one, Ids(100, 110));
}

TEST_F(TierMoverTest, ADryRunCountsAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 3));
  uint64_t bytes = 0;
  for (const auto& [name, p] : Packs()) bytes += p.size;
  for (bool copy : {false, true}) {
    SCOPED_TRACE(copy ? "copy" : "move");
    TierMoveOptions options = Options(copy);
    options.dry_run = true;
    int barriers = 0;
    options.before_delete = [&] {
      ++barriers;
      return absl::OkStatus();
    };
    Progress progress;
    ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(options, progress.fn()));
    EXPECT_TRUE(done.finished());
    EXPECT_EQ(done.packs_total(), 3u);
    EXPECT_EQ(done.bytes_total(), bytes);
    EXPECT_EQ(done.packs_done(), 0u);
    EXPECT_EQ(done.bytes_done(), 0u);
    EXPECT_THAT(progress.seen, SizeIs(1));
    EXPECT_EQ(barriers, 0);
  }
  EXPECT_EQ(cold_->calls(TierOp::kCreate), 0);
  EXPECT_EQ(hot_->calls(TierOp::kDelete), 0);
  EXPECT_THAT(PackObjects(Cold()), IsEmpty());
  EXPECT_THAT(PackObjects(Hot()), SizeIs(3));
  for (const auto& [name, p] : Packs()) {
    EXPECT_EQ(p.tier, "hot");
    EXPECT_THAT(CopiesOf(p), IsEmpty());
  }
}

TEST_F(TierMoverTest, QuarantinedPacksAndPacksAlreadyOnTheTargetAreNotCopied) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 3));
  std::vector<std::string> names = PackObjects(Hot());
  ASSERT_THAT(names, SizeIs(3));
  std::map<std::string, PackRecord> packs = Packs();
  ASSERT_OK(repo_->catalog->chunks().Quarantine(packs[names[0]].id));

  // Copy: the quarantined pack stays where it is.
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(Options(true), Progress().fn()));
  EXPECT_EQ(done.packs_total(), 2u);
  EXPECT_EQ(done.packs_done(), 2u);
  EXPECT_EQ(done.packs_skipped(), 1u);
  EXPECT_THAT(PackObjects(Cold()), ElementsAre(names[1], names[2]));  // sorted, as names
  const int64_t creates = cold_->calls(TierOp::kCreate);

  // Move: the two with a copy on cold are recorded there without copying
  // again; their hot objects go.
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(Options(), Progress().fn()));
  EXPECT_EQ(done.packs_total(), 2u);
  EXPECT_EQ(done.packs_done(), 2u);
  EXPECT_EQ(done.packs_skipped(), 1u);
  EXPECT_EQ(done.bytes_total(), 0u);
  EXPECT_EQ(done.bytes_done(), 0u);
  EXPECT_EQ(cold_->calls(TierOp::kCreate), creates);
  EXPECT_THAT(PackObjects(Hot()), ElementsAre(names[0]));
  packs = Packs();
  EXPECT_EQ(packs[names[0]].tier, "hot");
  EXPECT_TRUE(packs[names[0]].quarantined);
  for (int i : {1, 2}) {
    EXPECT_EQ(packs[names[i]].tier, "cold");
    EXPECT_THAT(CopiesOf(packs[names[i]]), IsEmpty());
  }
  EXPECT_EQ(CatalogPacksOn("cold"), 2u);
}

TEST_F(TierMoverTest, ACopyThatReadsBackDifferentIsDeletedAndTheSourceKept) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 2));
  std::vector<std::string> names = ById();
  ASSERT_THAT(names, SizeIs(2));
  // The first read of cold is the first pack's read-back.
  cold_->CorruptNthRead(1);
  int barriers = 0;
  TierMoveOptions options = Options();
  options.before_delete = [&] {
    ++barriers;
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(options, Progress().fn()));
  EXPECT_EQ(done.packs_total(), 2u);
  EXPECT_EQ(done.packs_done(), 1u);
  ASSERT_THAT(done.problems(), SizeIs(1));
  EXPECT_THAT(done.problems(0), HasSubstr(names[0]));
  EXPECT_THAT(done.problems(0), HasSubstr("reads back different"));
  // The bad copy is gone from cold; the pack is still on hot alone.
  EXPECT_THAT(PackObjects(Cold()), ElementsAre(names[1]));
  EXPECT_THAT(PackObjects(Hot()), ElementsAre(names[0]));
  std::map<std::string, PackRecord> packs = Packs();
  EXPECT_EQ(packs[names[0]].tier, "hot");
  EXPECT_THAT(CopiesOf(packs[names[0]]), IsEmpty());
  EXPECT_EQ(packs[names[1]].tier, "cold");
  EXPECT_EQ(barriers, 1);
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(s, Ids(0, 10));

  // The next run moves it.
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(options, Progress().fn()));
  EXPECT_EQ(done.packs_done(), 1u);
  EXPECT_THAT(done.problems(), IsEmpty());
  EXPECT_THAT(PackObjects(Hot()), IsEmpty());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(PackObjects(Cold()), names);
}

TEST_F(TierMoverTest, ACopyThatFailsToCommitIsReportedAndTheSourceKept) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 2));
  std::vector<std::string> names = ById();  // the first is copied first
  ASSERT_THAT(names, SizeIs(2));
  cold_->FailNth(TierOp::kCommit, 1);
  // A copy: nothing recorded for the failed one.
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(Options(true), Progress().fn()));
  EXPECT_EQ(done.packs_done(), 1u);
  ASSERT_THAT(done.problems(), SizeIs(1));
  EXPECT_THAT(done.problems(0), HasSubstr(names[0]));
  EXPECT_THAT(PackObjects(Cold()), ElementsAre(names[1]));
  EXPECT_EQ(cold_->open_writers(), 0);
  std::map<std::string, PackRecord> packs = Packs();
  EXPECT_THAT(CopiesOf(packs[names[0]]), IsEmpty());
  EXPECT_THAT(CopiesOf(packs[names[1]]), ElementsAre("cold"));

  // A move: the failed pack keeps its hot object and row.
  cold_->FailNth(TierOp::kCommit, 1);
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(Options(), Progress().fn()));
  EXPECT_EQ(done.packs_total(), 2u);
  EXPECT_EQ(done.packs_done(), 1u);  // the one with a copy already
  ASSERT_THAT(done.problems(), SizeIs(1));
  EXPECT_THAT(done.problems(0), HasSubstr(names[0]));
  EXPECT_THAT(PackObjects(Hot()), ElementsAre(names[0]));
  EXPECT_THAT(PackObjects(Cold()), ElementsAre(names[1]));
  packs = Packs();
  EXPECT_EQ(packs[names[0]].tier, "hot");
  EXPECT_EQ(packs[names[1]].tier, "cold");
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(s, Ids(0, 10));
}

TEST_F(TierMoverTest, AStoppedRunLeavesWhatIsDoneAndTheNextFinishesTheRest) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 4));
  const std::vector<std::string> names = PackObjects(Hot());
  ASSERT_THAT(names, SizeIs(4));
  std::map<std::string, PackRecord> packs = Packs();
  int barriers = 0;
  TierMoveOptions options = Options();
  options.before_delete = [&] {
    ++barriers;
    return absl::OkStatus();
  };
  Progress first;
  first.stop_after_done = 2;
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(options, first.fn()));
  EXPECT_EQ(done.packs_total(), 4u);
  EXPECT_EQ(done.packs_done(), 2u);
  ASSERT_THAT(first.seen, SizeIs(3));  // totals, pack 1, pack 2: stop
  // What was moved is complete: recorded on cold, its hot objects deleted
  // after a barrier.
  EXPECT_EQ(barriers, 1);
  EXPECT_EQ(cold_->calls(TierOp::kCreate), 2);
  EXPECT_EQ(CatalogPacksOn("cold"), 2u);
  EXPECT_EQ(CatalogPacksOn("hot"), 2u);
  EXPECT_THAT(PackObjects(Hot()), SizeIs(2));
  EXPECT_THAT(PackObjects(Cold()), SizeIs(2));
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(s, Ids(0, 20));

  // The second run copies only the other two.
  const std::vector<std::string> left = PackObjects(Hot());
  uint64_t left_bytes = 0;
  for (const std::string& n : left) left_bytes += packs[n].size;
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(options, Progress().fn()));
  EXPECT_EQ(done.packs_total(), 2u);
  EXPECT_EQ(done.packs_done(), 2u);
  EXPECT_EQ(done.bytes_done(), left_bytes);
  EXPECT_EQ(cold_->calls(TierOp::kCreate), 4);
  EXPECT_EQ(barriers, 2);
  EXPECT_THAT(PackObjects(Hot()), IsEmpty());
  EXPECT_EQ(PackObjects(Cold()), names);
  ExpectRestorable(s, Ids(0, 20));

  // Stopped right at the totals: nothing happens.
  ASSERT_OK_AND_ASSIGN(v1::Snapshot more, BackupPacks(100, 1));
  Progress at_once;
  at_once.stop_after_done = 0;
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(options, at_once.fn()));
  EXPECT_EQ(done.packs_total(), 1u);
  EXPECT_EQ(done.packs_done(), 0u);
  EXPECT_EQ(cold_->calls(TierOp::kCreate), 4);
  EXPECT_THAT(PackObjects(Hot()), SizeIs(1));
}

TEST_F(TierMoverTest, AFailingBarrierKeepsTheSourcesUntilAGcAfterAGoodOne) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 3));
  const std::vector<std::string> names = PackObjects(Hot());
  TierMoveOptions options = Options();
  options.before_delete = [] { return absl::UnavailableError("no tier took the bundle"); };
  absl::StatusOr<v1::MoveTierProgress> done = mover_->Run(options, Progress().fn());
  ASSERT_FALSE(done.ok());
  EXPECT_THAT(done.status().message(), HasSubstr("no tier took the bundle"));
  // Recorded on cold, the sources not deleted: orphans now.
  EXPECT_EQ(hot_->calls(TierOp::kDelete), 0);
  EXPECT_EQ(PackObjects(Hot()), names);
  EXPECT_EQ(PackObjects(Cold()), names);
  EXPECT_EQ(CatalogPacksOn("cold"), 3u);
  EXPECT_EQ(CatalogPacksOn("hot"), 0u);
  ExpectRestorable(s, Ids(0, 15));

  // A gc whose barrier fails deletes nothing either.
  GcOptions gc = Immediately();
  gc.before_delete = [] { return absl::UnavailableError("still no bundle"); };
  EXPECT_FALSE(Collect(*repo_, gc).ok());
  EXPECT_EQ(PackObjects(Hot()), names);

  // After a good barrier the orphans go, and only they.
  std::vector<int64_t> deletes_at_barrier;
  gc.before_delete = [&] {
    deletes_at_barrier.push_back(hot_->calls(TierOp::kDelete));
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(GcReport report, Collect(*repo_, gc));
  EXPECT_EQ(report.orphans_deleted, 3u);
  EXPECT_THAT(deletes_at_barrier, ElementsAre(0));
  EXPECT_THAT(PackObjects(Hot()), IsEmpty());
  EXPECT_EQ(PackObjects(Cold()), names);
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(s, Ids(0, 15));
}

TEST_F(TierMoverTest, ASecondRunWhileOneIsGoingIsRefused) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 2));
  absl::Status second = absl::OkStatus();
  bool tried = false;
  ASSERT_OK_AND_ASSIGN(
      v1::MoveTierProgress done, mover_->Run(Options(true), [&](const v1::MoveTierProgress&) {
        if (!tried) {
          tried = true;
          std::thread other([&] { second = mover_->Run(Options(), Progress().fn()).status(); });
          other.join();
        }
        return true;
      }));
  EXPECT_TRUE(tried);
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
  EXPECT_THAT(second.message(), HasSubstr("already running"));
  EXPECT_EQ(done.packs_done(), 2u);
  // Once it is over, the next may run.
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(Options(), Progress().fn()));
  EXPECT_EQ(done.packs_done(), 2u);
  EXPECT_THAT(PackObjects(Hot()), IsEmpty());
}

TEST_F(TierMoverTest, UnknownOrSameTiersAreRefused) {
  TierMoveOptions options = Options();
  options.to = "hot";
  EXPECT_EQ(mover_->Run(options, Progress().fn()).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.to = "tape";
  absl::Status status = mover_->Run(options, Progress().fn()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("tape"));
}

TEST_F(TierMoverTest, TheServiceNeedsAnAdminUsesTheCoreBarrierAndRunsOneAtATime) {
  int barriers = 0;
  int changes = 0;
  std::vector<int64_t> deletes_at_barrier;
  CoreOptions options;
  options.catalog_barrier = [&]() -> absl::Status {
    ++barriers;
    deletes_at_barrier.push_back(hot_->calls(TierOp::kDelete));
    return absl::OkStatus();
  };
  options.on_catalog_change = [&] { ++changes; };
  ASSERT_NO_FATAL_FAILURE(Open(options));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 3));
  MaintenanceService& service = repo_->core().maintenance();
  v1::MoveTierRequest request;
  request.set_from("hot");
  request.set_to("cold");
  auto keep_going = [](const v1::MoveTierProgress&) { return true; };

  for (Role role : {Role::kViewer, Role::kOperator}) {
    absl::Status refused =
        service.MoveTier(Caller::Admin("someone", role), request, keep_going).status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  }
  absl::Status agent =
      service.MoveTier(Caller::Agent("gpu-1", kTenant), request, keep_going).status();
  EXPECT_EQ(agent.code(), absl::StatusCode::kPermissionDenied) << agent;
  v1::MoveTierRequest unnamed;
  unnamed.set_from("hot");
  EXPECT_EQ(service.MoveTier(Caller::Internal(), unnamed, keep_going).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cold_->calls(TierOp::kCreate), 0);

  // A dry run as admin: counted, no barrier, no change.
  const Caller admin = Caller::Admin("root", Role::kAdmin);
  request.set_dry_run(true);
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, service.MoveTier(admin, request, keep_going));
  EXPECT_EQ(done.packs_total(), 3u);
  EXPECT_EQ(barriers, 0);
  const int changes_before = changes;

  // The real one, with a second one tried while it runs.
  request.set_dry_run(false);
  absl::Status second = absl::OkStatus();
  bool tried = false;
  ASSERT_OK_AND_ASSIGN(done, service.MoveTier(admin, request, [&](const v1::MoveTierProgress&) {
    if (!tried) {
      tried = true;
      std::thread other([&] { second = service.MoveTier(admin, request, keep_going).status(); });
      other.join();
    }
    return true;
  }));
  // Through the service, gc, verify and moves exclude each other.
  EXPECT_EQ(second.code(), absl::StatusCode::kAborted) << second;
  EXPECT_THAT(second.message(), HasSubstr("a tier move is already running"));
  EXPECT_EQ(done.packs_done(), 3u);
  EXPECT_THAT(done.problems(), IsEmpty());
  EXPECT_EQ(barriers, 1);
  EXPECT_THAT(deletes_at_barrier, ElementsAre(0));
  EXPECT_GT(changes, changes_before);
  EXPECT_THAT(PackObjects(Hot()), IsEmpty());
  EXPECT_THAT(PackObjects(Cold()), SizeIs(3));
  ExpectRestorable(s, Ids(0, 15));

  // --older-than in days: these are younger than a day.
  request.set_from("cold");
  request.set_to("hot");
  request.set_older_than_days(1);
  ASSERT_OK_AND_ASSIGN(done, service.MoveTier(admin, request, keep_going));
  EXPECT_EQ(done.packs_total(), 0u);
  EXPECT_THAT(PackObjects(Cold()), SizeIs(3));
  repo_.reset();  // before the counters its hooks use
}

TEST_F(TierMoverTest, GcDeletesEveryLocationOfAGarbagePackAndSparesCopies) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot doomed, BackupPacks(0, 2));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot kept, BackupPacks(100, 1));
  std::vector<std::string> names = PackObjects(Hot());
  ASSERT_THAT(names, SizeIs(3));
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(Options(true), Progress().fn()));
  ASSERT_EQ(done.packs_done(), 3u);
  ASSERT_EQ(PackObjects(Cold()), names);

  // Nothing is garbage: the orphan sweep (no grace) must not take the copies
  // for orphans.
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.orphans_deleted, 0u);
  EXPECT_EQ(report.packs_deleted, 0u);
  EXPECT_EQ(PackObjects(Cold()), names);
  EXPECT_EQ(PackObjects(Hot()), names);

  // Two packs become garbage. With a grace the orphan sweep cannot help:
  // the collection itself deletes both objects of each, after the barrier.
  ASSERT_OK(Forget(*repo_, doomed));
  clock_.Advance(absl::Hours(2));
  std::vector<int64_t> deletes_at_barrier;
  GcOptions options = Immediately();
  options.grace = absl::Hours(1);
  options.before_delete = [&] {
    deletes_at_barrier.push_back(hot_->calls(TierOp::kDelete) + cold_->calls(TierOp::kDelete));
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(report, Gc(options));
  EXPECT_EQ(report.packs_deleted, 2u);
  EXPECT_EQ(report.orphans_deleted, 0u);
  EXPECT_THAT(report.problems, IsEmpty());
  ASSERT_FALSE(deletes_at_barrier.empty());
  EXPECT_EQ(deletes_at_barrier[0], 0);
  std::vector<std::string> left = PackObjects(Hot());
  ASSERT_THAT(left, SizeIs(1));
  EXPECT_EQ(PackObjects(Cold()), left);
  std::map<std::string, PackRecord> packs = Packs();
  ASSERT_THAT(packs, SizeIs(1));
  EXPECT_THAT(CopiesOf(packs.begin()->second), ElementsAre("cold"));
  EXPECT_EQ(CatalogPacksOn("cold"), 1u);
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(kept, Ids(100, 105));
}

TEST_F(TierMoverTest, CompactionDeletesTheOldPackOnEveryTier) {
  // One pack of 10 chunks; the snapshot that keeps only 2 of them stays.
  ASSERT_OK_AND_ASSIGN(v1::Snapshot full, Backup(*repo_, {Ids(0, 10)}, {Ids(0, 10)}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot part, Backup(*repo_, {Ids(0, 2)}, {Ids(0, 2)}, "/part"));
  const std::vector<std::string> before = PackObjects(Hot());
  ASSERT_THAT(before, SizeIs(1));
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(Options(true), Progress().fn()));
  ASSERT_EQ(done.packs_done(), 1u);
  ASSERT_OK(Forget(*repo_, full));
  clock_.Advance(absl::Hours(2));
  GcOptions options = Immediately();
  options.grace = absl::Hours(1);  // no orphan is due: compaction must delete the copy itself
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  EXPECT_EQ(report.packs_compacted, 1u);
  EXPECT_EQ(report.orphans_deleted, 0u);
  // The new pack is on hot only; the old one is gone from both tiers.
  std::vector<std::string> after = PackObjects(Hot());
  ASSERT_THAT(after, SizeIs(1));
  EXPECT_NE(after[0], before[0]);
  EXPECT_THAT(PackObjects(Cold()), IsEmpty());
  EXPECT_EQ(CatalogPacksOn("cold"), 0u);
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(part, Ids(0, 2));
}

// The compactor reads each pack from the tier it was listed on; a tier move
// that relocated the pack and deleted that copy meanwhile is no damage (the
// compactor re-reads the pack's row before quarantining). Here the move runs
// at the first compaction point, between the two tenants' groups. (Through
// MaintenanceService the two also exclude each other.)
TEST_F(TierMoverTest, ACompactionRacingAMoveDoesNotQuarantineTheMovedPack) {
  // Tenant t and tenant t2 each have one sparse pack.
  ASSERT_OK_AND_ASSIGN(v1::Snapshot full, Backup(*repo_, {Ids(0, 10)}, {Ids(0, 10)}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot part, Backup(*repo_, {Ids(0, 2)}, {Ids(0, 2)}, "/part"));
  ASSERT_OK(Forget(*repo_, full));
  ASSERT_OK_AND_ASSIGN(std::string job,
                       StartBackup(*repo_->agent, "gpu-2", "t2", "/data", v1::BACKUP_LEVEL_FULL));
  ASSERT_OK(Upload(*repo_, job, Ids(100, 110)));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot other_full, Finish(*repo_, job, {Ids(100, 110)}));
  ASSERT_OK_AND_ASSIGN(job,
                       StartBackup(*repo_->agent, "gpu-2", "t2", "/part", v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot other_part, Finish(*repo_, job, {Ids(100, 102)}));
  ASSERT_OK(Forget(*repo_, other_full));
  NextMillisecond();

  bool moved = false;
  GcOptions options = Immediately();
  options.phase_hook = [&](GcPhase phase) -> absl::Status {
    if (phase == GcPhase::kCompactPackWritten && !moved) {
      moved = true;
      RETURN_IF_ERROR(mover_->Run(Options(), Progress().fn()).status());
    }
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(options));
  EXPECT_TRUE(moved);
  EXPECT_THAT(report.problems, IsEmpty());
  for (const auto& [name, p] : Packs()) EXPECT_FALSE(p.quarantined) << name << " on " << p.tier;
  ASSERT_OK_AND_ASSIGN(int64_t t2, repo_->catalog->agents().TenantId("t2"));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       repo_->catalog->chunks().FindMissing(t2, Ids(100, 102)));
  EXPECT_THAT(missing, IsEmpty());
  ExpectAllSnapshotsReadable(*repo_);
}

class TierMoverS3Test : public TierMoverTest {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(s3_, S3TestServer::Start(NewTempDir("tier_mover_s3rver")));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> bucket, OpenS3Tier("cold", s3_->Options("cold/")));
    ASSERT_NO_FATAL_FAILURE(Open(CoreOptions(), std::move(bucket)));
  }
  void TearDown() override {
    mover_.reset();
    repo_.reset();
    s3_.reset();
  }

  std::unique_ptr<S3TestServer> s3_;
};

TEST_F(TierMoverS3Test, CopyThenMoveToABucketAndRestoreFromIt) {
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s, BackupPacks(0, 3, 40));
  const std::vector<std::string> names = PackObjects(Hot());
  ASSERT_THAT(names, SizeIs(3));
  TierMoveOptions copy = Options(true);
  copy.piece_bytes = 1000;
  ASSERT_OK_AND_ASSIGN(v1::MoveTierProgress done, mover_->Run(copy, Progress().fn()));
  EXPECT_EQ(done.packs_done(), 3u);
  EXPECT_THAT(done.problems(), IsEmpty());
  EXPECT_EQ(PackObjects(Cold()), names);
  for (const std::string& n : names) EXPECT_EQ(ReadAll(Cold(), n), ReadAll(Hot(), n)) << n;

  int barriers = 0;
  TierMoveOptions move = Options();
  move.before_delete = [&] {
    ++barriers;
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(done, mover_->Run(move, Progress().fn()));
  EXPECT_EQ(done.packs_done(), 3u);
  EXPECT_EQ(barriers, 1);
  EXPECT_THAT(PackObjects(Hot()), IsEmpty());
  for (const auto& [name, p] : Packs()) EXPECT_EQ(p.tier, "cold") << name;
  ExpectAllSnapshotsReadable(*repo_);
  ExpectRestorable(s, Ids(0, 120));
  // A gc leaves the bucket's packs alone.
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.packs_deleted, 0u);
  EXPECT_EQ(PackObjects(Cold()), names);
}

}  // namespace
}  // namespace cairn

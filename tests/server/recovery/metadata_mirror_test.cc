// MetadataMirror on a real catalog and two real local tiers (behind
// fault-injection wrappers): a commit puts one tree pack with exactly the
// tenant's new trees, and the snapshot's record, on both tiers; a commit with
// no new trees writes no tree pack; a failing or down tier is named while
// the other still gets everything. Reconcile writes back what a tier lost or
// never got, deletes the records of deleted snapshots and the tree packs no
// catalogued tree is in, leaves other objects alone, and does nothing when
// the tiers are in line.
#include "server/recovery/metadata_mirror.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cairn/v1/types.pb.h"
#include "common/secret_key.h"
#include "common/tree_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/recovery/tier_metadata.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/tier_set.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAreArray;

constexpr char kTenant[] = "acme";

// The trees of one snapshot: two leaves (one file each) under a root.
struct SnapshotTrees {
  std::string root;
  std::vector<std::string> leaves;
  std::vector<std::string> all;  // root and leaves
};

class MetadataMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("metadata_mirror");
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_ + "/catalog.db"));
    ASSERT_OK_AND_ASSIGN(tenant_, catalog_->agents().TenantId(kTenant));
    OpenTiers(absl::ZeroDuration());
  }

  void TearDown() override {
    mirror_.reset();
    tiers_.reset();
    catalog_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  // (Re)opens tiers "one" and "two" (each behind a fault-injection wrapper)
  // and a mirror over them. A tier that failed is passed over for
  // `retry_after`.
  void OpenTiers(absl::Duration retry_after) {
    mirror_.reset();
    tiers_.reset();
    faults_.clear();
    std::vector<std::unique_ptr<Tier>> tiers;
    for (const char* name : {"one", "two"}) {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> local,
                           OpenLocalTier(name, absl::StrCat(dir_, "/tier_", name)));
      std::unique_ptr<FaultInjectionTier> faulty = WrapWithFaults(std::move(local));
      faults_.push_back(faulty.get());
      tiers.push_back(std::move(faulty));
    }
    tiers_ =
        std::make_unique<TierSet>(std::move(tiers), TierSetOptions{.retry_after = retry_after});
    mirror_ = std::make_unique<MetadataMirror>(catalog_.get(), tiers_.get(), key_.Clone());
  }

  Tier* tier(size_t i) { return tiers_->all()[i].get(); }

  // Puts the trees of a snapshot; `seed` makes them distinct from others'.
  SnapshotTrees PutTrees(uint64_t seed) {
    const std::string a = TreeBytes({FileEntry("a.bin", {TestChunkId(seed * 10 + 1)}, 100)});
    const std::string b = TreeBytes({FileEntry("b.bin", {TestChunkId(seed * 10 + 2)}, 100)});
    const std::string root = TreeBytes({DirEntry("a", TreeId(a)), DirEntry("b", TreeId(b))});
    std::vector<std::pair<std::string, std::string>> rows;
    for (const std::string* t : {&a, &b, &root}) rows.emplace_back(TreeId(*t), *t);
    EXPECT_OK(catalog_->trees().Put(tenant_, rows));
    SnapshotTrees out;
    out.root = TreeId(root);
    out.leaves = {TreeId(a), TreeId(b)};
    out.all = {TreeId(root), TreeId(a), TreeId(b)};
    return out;
  }

  // Inserts a running backup job and commits snapshot `id` (root `root`) for it.
  v1::Snapshot Commit(const std::string& id, const std::string& root) {
    v1::Job job;
    job.set_id("j-" + id.substr(2));
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_agent("gpu-1");
    job.set_created_unix_ms(1'700'000'000'000);
    EXPECT_OK(catalog_->jobs().Insert(job, 1'700'000'600'000));
    v1::Snapshot s;
    s.set_id(id);
    s.set_agent("gpu-1");
    s.set_tenant(kTenant);
    s.add_roots("/data");
    s.set_level(v1::BACKUP_LEVEL_FULL);
    s.set_root_tree_id(root);
    s.set_created_unix_ms(1'700'000'100'000);
    s.set_job_id(job.id());
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    job.set_snapshot_id(id);
    absl::StatusOr<v1::Snapshot> committed = catalog_->snapshots().Commit(s, job);
    EXPECT_TRUE(committed.ok()) << committed.status();
    return committed.value_or(s);
  }

  std::vector<std::string> Listed(size_t i, const std::string& prefix) {
    absl::StatusOr<std::vector<std::string>> listed = tier(i)->ListWithPrefix(prefix);
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.value_or(std::vector<std::string>{});
  }
  std::vector<std::string> TreePacksOn(size_t i) { return Listed(i, kTreePackPrefix); }
  std::vector<std::string> RecordsOn(size_t i) { return Listed(i, kSnapshotRecordPrefix); }

  // The ids of the trees in tree pack `pack` on tier `i` (checking its tenant).
  std::vector<std::string> TreesIn(size_t i, const std::string& pack) {
    std::vector<std::string> ids;
    absl::Status read = ReadTreePack(
        tier(i), pack, key_, [&](const std::string& tenant, const std::string& id, std::string) {
          EXPECT_EQ(tenant, kTenant);
          ids.push_back(id);
          return absl::OkStatus();
        });
    EXPECT_TRUE(read.ok()) << read;
    return ids;
  }

  // The record of snapshot `id` on tier `i`, decoded.
  std::optional<v1::TierSnapshotRecord> RecordOf(size_t i, const std::string& id) {
    const std::string object = SnapshotRecordName(id);
    absl::StatusOr<uint64_t> size = tier(i)->Size(object);
    if (!size.ok()) {
      ADD_FAILURE() << size.status();
      return std::nullopt;
    }
    std::string sealed;
    absl::Status read = tier(i)->Read(object, 0, *size, &sealed);
    EXPECT_TRUE(read.ok()) << read;
    absl::StatusOr<v1::TierSnapshotRecord> record = DecodeSnapshotRecord(sealed, object, key_);
    EXPECT_TRUE(record.ok()) << record.status();
    if (!record.ok()) return std::nullopt;
    return *std::move(record);
  }

  std::vector<std::string> Unmirrored() {
    absl::StatusOr<std::vector<TreeRow>> rows = catalog_->mirror().Unmirrored(tenant_, 1 << 30);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    for (const TreeRow& r : rows.value_or(std::vector<TreeRow>{})) ids.push_back(r.id);
    return ids;
  }

  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
  int64_t tenant_ = 0;
  std::unique_ptr<TierSet> tiers_;
  std::vector<FaultInjectionTier*> faults_;
  SecretKey key_ = SecretKey::Random();
  std::unique_ptr<MetadataMirror> mirror_;
};

TEST_F(MetadataMirrorTest, OnCommitWritesTheTreesAndTheRecordToEveryTier) {
  ASSERT_OK(catalog_->agents().SetKeyCheckIfUnset(kTenant, "tenant check").status());
  SnapshotTrees trees = PutTrees(1);
  ASSERT_THAT(Unmirrored(), SizeIs(3));
  v1::Snapshot s = Commit("s-00000000000000a1", trees.root);
  ASSERT_OK(mirror_->OnCommit(s));

  std::vector<std::string> packs = TreePacksOn(0);
  ASSERT_THAT(packs, SizeIs(1));
  EXPECT_TRUE(IsTreePackName(packs[0])) << packs[0];
  EXPECT_THAT(TreePacksOn(1), ElementsAre(packs[0])) << "one name on every tier";
  for (size_t i : {0u, 1u}) {
    SCOPED_TRACE(tier(i)->name());
    EXPECT_THAT(TreesIn(i, packs[0]), UnorderedElementsAreArray(trees.all));
    EXPECT_THAT(RecordsOn(i), ElementsAre("snap-s-00000000000000a1.csr"));
    std::optional<v1::TierSnapshotRecord> record = RecordOf(i, s.id());
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->snapshot().SerializeAsString(), s.SerializeAsString());
    EXPECT_EQ(record->job().id(), s.job_id());
    EXPECT_EQ(record->job().state(), v1::JOB_STATE_SUCCEEDED);
    EXPECT_EQ(record->tenant_key_check(), "tenant check");
  }
  EXPECT_THAT(Unmirrored(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> recorded, catalog_->mirror().TreePacks());
  EXPECT_THAT(recorded, ElementsAre(packs[0]));
}

TEST_F(MetadataMirrorTest, ACommitWithoutNewTreesWritesNoTreePack) {
  SnapshotTrees trees = PutTrees(1);
  ASSERT_OK(mirror_->OnCommit(Commit("s-00000000000000a1", trees.root)));
  const std::vector<std::string> first = TreePacksOn(0);
  ASSERT_THAT(first, SizeIs(1));

  // The same trees again (an unchanged directory): only a record.
  PutTrees(1);
  ASSERT_OK(mirror_->OnCommit(Commit("s-00000000000000a2", trees.root)));
  for (size_t i : {0u, 1u}) {
    EXPECT_EQ(TreePacksOn(i), first);
    EXPECT_THAT(RecordsOn(i),
                ElementsAre("snap-s-00000000000000a1.csr", "snap-s-00000000000000a2.csr"));
  }

  // New trees: a second pack, with only those.
  SnapshotTrees more = PutTrees(2);
  ASSERT_OK(mirror_->OnCommit(Commit("s-00000000000000a3", more.root)));
  std::vector<std::string> packs = TreePacksOn(0);
  ASSERT_THAT(packs, SizeIs(2));
  EXPECT_EQ(TreePacksOn(1), packs);
  const std::string second = packs[0] == first[0] ? packs[1] : packs[0];
  EXPECT_THAT(TreesIn(1, second), UnorderedElementsAreArray(more.all));
}

TEST_F(MetadataMirrorTest, AFailingTierIsNamedAndReconcileCatchesItUp) {
  SnapshotTrees trees = PutTrees(1);
  v1::Snapshot s = Commit("s-00000000000000a1", trees.root);
  faults_[1]->FailFromNth(TierOp::kCreate, 1);
  faults_[1]->FailFromNth(TierOp::kPut, 1);
  absl::Status committed = mirror_->OnCommit(s);
  EXPECT_TRUE(absl::IsUnavailable(committed)) << committed;
  EXPECT_THAT(committed.message(), HasSubstr("tier two"));
  EXPECT_THAT(committed.message(), Not(HasSubstr("tier one")));
  EXPECT_THAT(TreePacksOn(0), SizeIs(1));
  EXPECT_THAT(RecordsOn(0), SizeIs(1));
  EXPECT_THAT(TreePacksOn(1), IsEmpty());
  EXPECT_THAT(RecordsOn(1), IsEmpty());
  // On one tier is mirrored: the catalog records the pack.
  EXPECT_THAT(Unmirrored(), IsEmpty());

  // While it still fails, Reconcile says so and the other tier is left as is.
  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, Not(IsEmpty()));
  EXPECT_THAT(TreePacksOn(1), IsEmpty());

  faults_[1]->ClearFaults();
  ASSERT_OK_AND_ASSIGN(report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.tree_packs_written, 1u);
  EXPECT_EQ(report.records_written, 1u);
  EXPECT_EQ(report.tree_packs_deleted, 0u);
  EXPECT_EQ(report.records_deleted, 0u);
  EXPECT_EQ(TreePacksOn(1), TreePacksOn(0));
  EXPECT_THAT(TreesIn(1, TreePacksOn(0)[0]), UnorderedElementsAreArray(trees.all));
  EXPECT_THAT(RecordsOn(1), ElementsAre(SnapshotRecordName(s.id())));
  EXPECT_TRUE(RecordOf(1, s.id()).has_value());
}

TEST_F(MetadataMirrorTest, TreesWrittenToNoTierStayUnmirrored) {
  SnapshotTrees trees = PutTrees(1);
  v1::Snapshot s = Commit("s-00000000000000a1", trees.root);
  for (FaultInjectionTier* f : faults_) f->FailFromNth(TierOp::kCreate, 1);
  absl::Status committed = mirror_->OnCommit(s);
  EXPECT_TRUE(absl::IsUnavailable(committed)) << committed;
  EXPECT_THAT(Unmirrored(), SizeIs(3));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> recorded, catalog_->mirror().TreePacks());
  EXPECT_THAT(recorded, IsEmpty());

  for (FaultInjectionTier* f : faults_) f->ClearFaults();
  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.tree_packs_written, 2u);
  EXPECT_THAT(Unmirrored(), IsEmpty());
  for (size_t i : {0u, 1u}) {
    ASSERT_THAT(TreePacksOn(i), SizeIs(1));
    EXPECT_THAT(TreesIn(i, TreePacksOn(i)[0]), UnorderedElementsAreArray(trees.all));
    EXPECT_THAT(RecordsOn(i), ElementsAre(SnapshotRecordName(s.id())));
  }
}

TEST_F(MetadataMirrorTest, ADownTierIsNotWrittenAndNamed) {
  OpenTiers(absl::Hours(1));
  faults_[1]->FailNth(TierOp::kList, 1, absl::UnavailableError("the store is down"));
  ASSERT_FALSE(tier(1)->List().ok());
  ASSERT_TRUE(tiers_->Avoid("two"));

  SnapshotTrees trees = PutTrees(1);
  v1::Snapshot s = Commit("s-00000000000000a1", trees.root);
  const int64_t creates = faults_[1]->calls(TierOp::kCreate);
  const int64_t puts = faults_[1]->calls(TierOp::kPut);
  absl::Status committed = mirror_->OnCommit(s);
  EXPECT_TRUE(absl::IsUnavailable(committed)) << committed;
  EXPECT_THAT(committed.message(), HasSubstr("down"));
  EXPECT_THAT(TreePacksOn(0), SizeIs(1));
  EXPECT_THAT(RecordsOn(0), SizeIs(1));
  EXPECT_EQ(faults_[1]->calls(TierOp::kCreate), creates) << "a down tier was written to";
  EXPECT_EQ(faults_[1]->calls(TierOp::kPut), puts) << "a down tier was written to";

  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  ASSERT_THAT(report.problems, SizeIs(1));
  EXPECT_THAT(report.problems[0], HasSubstr("tier two"));
  EXPECT_EQ(report.tree_packs_written, 0u);
  EXPECT_EQ(report.records_written, 0u);
  EXPECT_THAT(TreePacksOn(1), IsEmpty());
}

TEST_F(MetadataMirrorTest, ReconcileWithTheTiersInLineChangesNothing) {
  ASSERT_OK(mirror_->OnCommit(Commit("s-00000000000000a1", PutTrees(1).root)));
  const std::vector<std::string> packs = TreePacksOn(0);
  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.tree_packs_written, 0u);
  EXPECT_EQ(report.records_written, 0u);
  EXPECT_EQ(report.tree_packs_deleted, 0u);
  EXPECT_EQ(report.records_deleted, 0u);
  for (size_t i : {0u, 1u}) {
    EXPECT_EQ(TreePacksOn(i), packs);
    EXPECT_THAT(RecordsOn(i), SizeIs(1));
  }
}

TEST_F(MetadataMirrorTest, ReconcileWritesBackWhatATierLost) {
  SnapshotTrees trees = PutTrees(1);
  v1::Snapshot s = Commit("s-00000000000000a1", trees.root);
  ASSERT_OK(mirror_->OnCommit(s));
  const std::vector<std::string> packs = TreePacksOn(1);
  ASSERT_THAT(packs, SizeIs(1));

  for (const std::string& lost : {packs[0], SnapshotRecordName(s.id())}) {
    SCOPED_TRACE(lost);
    ASSERT_OK(tier(1)->Delete(lost));
    ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
    EXPECT_THAT(report.problems, IsEmpty());
    EXPECT_EQ(report.tree_packs_written + report.records_written, 1u);
    EXPECT_EQ(TreePacksOn(1), packs);
    EXPECT_THAT(TreesIn(1, packs[0]), UnorderedElementsAreArray(trees.all));
    EXPECT_THAT(RecordsOn(1), ElementsAre(SnapshotRecordName(s.id())));
    std::optional<v1::TierSnapshotRecord> record = RecordOf(1, s.id());
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->snapshot().root_tree_id(), trees.root);
    // The tier that lost nothing is left as it was.
    EXPECT_EQ(TreePacksOn(0), packs);
    EXPECT_THAT(RecordsOn(0), ElementsAre(SnapshotRecordName(s.id())));
  }
}

TEST_F(MetadataMirrorTest, ReconcileDeletesTheRecordsOfDeletedSnapshots) {
  SnapshotTrees trees = PutTrees(1);
  v1::Snapshot kept = Commit("s-00000000000000a1", trees.root);
  ASSERT_OK(mirror_->OnCommit(kept));
  v1::Snapshot doomed = Commit("s-00000000000000a2", trees.root);
  ASSERT_OK(mirror_->OnCommit(doomed));
  ASSERT_THAT(RecordsOn(1), SizeIs(2));

  ASSERT_OK(catalog_->snapshots().Delete({{doomed.id(), "pruned by policy"}}));
  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.records_deleted, 2u);
  EXPECT_EQ(report.tree_packs_deleted, 0u);
  for (size_t i : {0u, 1u}) {
    EXPECT_THAT(RecordsOn(i), ElementsAre(SnapshotRecordName(kept.id())));
    EXPECT_THAT(TreePacksOn(i), SizeIs(1)) << "its trees are still catalogued";
  }

  // The last one too.
  ASSERT_OK(catalog_->snapshots().Delete({{kept.id(), "pruned by policy"}}));
  ASSERT_OK_AND_ASSIGN(report, mirror_->Reconcile());
  EXPECT_EQ(report.records_deleted, 2u);
  for (size_t i : {0u, 1u}) EXPECT_THAT(RecordsOn(i), IsEmpty());
}

TEST_F(MetadataMirrorTest, ReconcileDeletesATreePackOnceAllItsTreesAreGone) {
  SnapshotTrees first = PutTrees(1);
  v1::Snapshot s1 = Commit("s-00000000000000a1", first.root);
  ASSERT_OK(mirror_->OnCommit(s1));
  const std::vector<std::string> first_pack = TreePacksOn(0);
  ASSERT_THAT(first_pack, SizeIs(1));
  SnapshotTrees second = PutTrees(2);
  ASSERT_OK(mirror_->OnCommit(Commit("s-00000000000000a2", second.root)));
  std::vector<std::string> packs = TreePacksOn(0);
  ASSERT_THAT(packs, SizeIs(2));
  const std::string second_pack = packs[0] == first_pack[0] ? packs[1] : packs[0];

  // Some of the first pack's trees gone: the pack still holds live ones.
  ASSERT_OK(catalog_->trees().Delete({TenantObject{tenant_, first.leaves[0]}}).status());
  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  EXPECT_EQ(report.tree_packs_deleted, 0u);
  EXPECT_THAT(TreePacksOn(1), SizeIs(2));

  // All of them gone.
  std::vector<TenantObject> rest;
  for (const std::string& id : first.all) rest.push_back({tenant_, id});
  ASSERT_OK(catalog_->trees().Delete(rest).status());
  ASSERT_OK_AND_ASSIGN(report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.tree_packs_deleted, 2u);
  for (size_t i : {0u, 1u}) {
    EXPECT_THAT(TreePacksOn(i), ElementsAre(second_pack));
    EXPECT_THAT(RecordsOn(i), SizeIs(2)) << "records follow snapshots, not trees";
  }

  // And the other's trees too: no tree pack is left.
  rest.clear();
  for (const std::string& id : second.all) rest.push_back({tenant_, id});
  ASSERT_OK(catalog_->trees().Delete(rest).status());
  ASSERT_OK_AND_ASSIGN(report, mirror_->Reconcile());
  EXPECT_EQ(report.tree_packs_deleted, 2u);
  for (size_t i : {0u, 1u}) EXPECT_THAT(TreePacksOn(i), IsEmpty());
}

TEST_F(MetadataMirrorTest, ReconcileWritesWhatNoCommitMirrored) {
  // The server stopped between the commit and the mirror.
  SnapshotTrees trees = PutTrees(1);
  v1::Snapshot s = Commit("s-00000000000000a1", trees.root);
  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.tree_packs_written, 2u);
  EXPECT_EQ(report.records_written, 2u);
  EXPECT_THAT(Unmirrored(), IsEmpty());
  for (size_t i : {0u, 1u}) {
    ASSERT_THAT(TreePacksOn(i), SizeIs(1));
    EXPECT_THAT(TreesIn(i, TreePacksOn(i)[0]), UnorderedElementsAreArray(trees.all));
    EXPECT_TRUE(RecordOf(i, s.id()).has_value());
  }
}

TEST_F(MetadataMirrorTest, ReconcileLeavesOtherObjectsAloneAndDropsStrayTreePacks) {
  ASSERT_OK(mirror_->OnCommit(Commit("s-00000000000000a1", PutTrees(1).root)));
  const std::vector<std::string> packs = TreePacksOn(0);
  const std::string stray = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier(0), stray, kTenant, {}, key_));
  for (size_t i : {0u, 1u}) {
    ASSERT_OK(tier(i)->Put("pack-1700000000000-0123456789abcdef01234567", "a data pack"));
    ASSERT_OK(tier(i)->Put("catalog-1700000000000.cbk", "a bundle"));
    ASSERT_OK(tier(i)->Put("trees-notes.txt", "not a tree pack"));
    ASSERT_OK(tier(i)->Put("snap-notes.txt", "not a record"));
  }
  ASSERT_OK_AND_ASSIGN(MirrorReport report, mirror_->Reconcile());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.tree_packs_deleted, 1u);
  EXPECT_EQ(report.records_deleted, 0u);
  for (size_t i : {0u, 1u}) {
    SCOPED_TRACE(tier(i)->name());
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> all, tier(i)->List());
    std::vector<std::string> want = {"pack-1700000000000-0123456789abcdef01234567",
                                     "catalog-1700000000000.cbk",
                                     "trees-notes.txt",
                                     "snap-notes.txt",
                                     "snap-s-00000000000000a1.csr",
                                     packs[0]};
    EXPECT_THAT(all, UnorderedElementsAreArray(want));
  }
}

}  // namespace
}  // namespace cairn

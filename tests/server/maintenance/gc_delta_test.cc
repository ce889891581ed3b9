// Checkpoint deltas on the server: FindMissingChunks says which proposed
// bases are usable (held, chain short enough), an upload names its base and
// is refused when the base is not held, and a collection keeps every base a
// surviving delta decodes from — through the chain — even when no snapshot
// names it any more; once the deltas go, their bases go too.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/chunk_id.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/maintenance/garbage_collector.h"
#include "server/tiers/pack_index.h"
#include "tests/server/maintenance/gc_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class GcDeltaTest : public GcTest {
 protected:
  absl::StatusOr<v1::FindMissingChunksResponse> Ask(const std::string& job,
                                                    const std::vector<std::string>& ids,
                                                    const std::vector<std::string>& bases,
                                                    uint32_t max_chain) {
    v1::FindMissingChunksRequest request;
    request.set_job_id(job);
    for (const std::string& id : ids) request.add_ids(id);
    for (const std::string& base : bases) request.add_base_ids(base);
    request.set_max_chain(max_chain);
    return repo_->agent->FindMissingChunks(request);
  }
  absl::Status UploadDelta(const std::string& job, const std::string& id, const std::string& base) {
    ASSIGN_OR_RETURN(std::unique_ptr<PackIngest> ingest, repo_->agent->StartUpload(job));
    RETURN_IF_ERROR(ingest->Add(id, 300, Sealed(id), base));
    return ingest->Finish();
  }
  // A backup of one file whose one chunk `id` is stored as a delta of `base`.
  absl::StatusOr<v1::Snapshot> DeltaBackup(const std::string& id, const std::string& base) {
    ASSIGN_OR_RETURN(std::string job,
                     StartBackup(*repo_->agent, "gpu-1", kTenant, "/data", v1::BACKUP_LEVEL_FULL));
    ASSIGN_OR_RETURN(v1::FindMissingChunksResponse answer, Ask(job, {id}, {base}, 4));
    if (answer.usable_bases_size() != 1) {
      return absl::FailedPreconditionError("the base was not usable");
    }
    RETURN_IF_ERROR(UploadDelta(job, id, base));
    return Finish(*repo_, job, {{id}});
  }
};

TEST_F(GcDeltaTest, ACollectionKeepsTheChainOfEveryDeltaThatStays) {
  const std::string a = Id(1), b = Id(2), c = Id(3);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a}}, {{a}}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, DeltaBackup(b, a));  // b = a + delta
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s3, DeltaBackup(c, b));  // c = b + delta
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK(Forget(*repo_, s2));

  ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
  EXPECT_EQ(report.chunks_deleted, 0u) << "a and b are the chain of c";
  EXPECT_EQ(report.chunks_kept_as_bases, 2u);
  EXPECT_EQ(report.trees_deleted, 4u);
  for (const std::string& kept : {a, b, c}) EXPECT_TRUE(Stored(*repo_, kept));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  const int64_t tenant = TenantOf(*repo_);
  for (const std::string& id : {a, b, c}) {
    ASSERT_OK_AND_ASSIGN(std::string sealed, ReadSealed(*repo_, tenant, id));
    EXPECT_EQ(sealed, Sealed(id));
  }

  // The last snapshot goes: the whole chain goes with it.
  ASSERT_OK(Forget(*repo_, s3));
  ASSERT_OK_AND_ASSIGN(GcReport last, Gc());
  EXPECT_EQ(last.chunks_deleted, 3u);
  EXPECT_EQ(last.chunks_kept_as_bases, 0u);
  for (const std::string& gone : {a, b, c}) EXPECT_FALSE(Stored(*repo_, gone));
  EXPECT_EQ(TierObjects(*repo_), CatalogPacks(*repo_));
}

TEST_F(GcDeltaTest, ABaseStaysWhenOnlyItsDeltaIsNamedAndGoesWhenNeitherIs) {
  const std::string a = Id(1), b = Id(2), x = Id(9);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a, x}}, {{a, x}}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, DeltaBackup(b, a));
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(Immediately(0)));
  EXPECT_EQ(report.chunks_deleted, 1u) << "x, which nothing needs";
  EXPECT_EQ(report.chunks_kept_as_bases, 1u);
  EXPECT_TRUE(Stored(*repo_, a));
  EXPECT_TRUE(Stored(*repo_, b));
  EXPECT_FALSE(Stored(*repo_, x));
  ASSERT_OK(Forget(*repo_, s2));
  ASSERT_OK_AND_ASSIGN(GcReport last, Gc(Immediately(0)));
  EXPECT_EQ(last.chunks_deleted, 2u);
  EXPECT_FALSE(Stored(*repo_, a));
  EXPECT_FALSE(Stored(*repo_, b));
}

// A delta whose base is found damaged counts as missing; stored again it
// replaces its copy, whole (as a delta it could lengthen the chains built
// on it), and the server refuses it as a delta.
TEST_F(GcDeltaTest, ADeltaWithABrokenChainIsStoredAgainWhole) {
  const std::string a = Id(1), b = Id(2), c = Id(3);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a, c}}, {{a, c}}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, DeltaBackup(b, a));
  const int64_t tenant = TenantOf(*repo_);
  ASSERT_OK(repo_->catalog->chunks().MarkDamaged(tenant, {a}).status());
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse answer, Ask(job, {b}, {c}, 4));
  EXPECT_THAT(answer.missing(), ElementsAre(0u));
  EXPECT_THAT(answer.usable_bases(), IsEmpty()) << "b replaces a copy: whole only";
  absl::Status refused = UploadDelta(job, b, c);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  ASSERT_OK(Upload(*repo_, job, {b}));
  EXPECT_TRUE(Stored(*repo_, b));
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<int>> depth,
                       repo_->catalog->chunks().ChainDepths(tenant, {b}));
  EXPECT_THAT(depth, ElementsAre(0));
  (void)s1;
  (void)s2;
}

// A delta reported damaged is stored again whole, and its old copy is kept
// aside (superseded_chunks) while the hold lasts, in case the report was
// false. That copy is still a delta: its base stays with it even when no
// snapshot and no current chunk needs the base, and goes when the hold ends.
TEST_F(GcDeltaTest, ADeltaCopyKeptAsideKeepsItsBaseUntilTheHoldEnds) {
  const std::string a = Id(1), b = Id(2);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a}}, {{a}}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, DeltaBackup(b, a));  // b = a + delta
  const int64_t tenant = TenantOf(*repo_);
  ASSERT_OK_AND_ASSIGN(uint64_t marked, repo_->catalog->chunks().MarkDamaged(tenant, {b}));
  ASSERT_EQ(marked, 1u);
  ASSERT_OK(Backup(*repo_, {{b}}, {{b}}).status());  // b again, whole
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<int>> depth,
                       repo_->catalog->chunks().ChainDepths(tenant, {b}));
  ASSERT_THAT(depth, ElementsAre(0)) << "the current copy of b is whole";
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK(Forget(*repo_, s2));

  ASSERT_OK_AND_ASSIGN(GcReport held, Gc(Immediately(0)));
  EXPECT_EQ(held.chunks_deleted, 0u) << "a decodes the copy of b kept aside";
  EXPECT_EQ(held.chunks_kept_as_bases, 1u);
  EXPECT_TRUE(Stored(*repo_, a));
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<ChunkLocation>> aside,
                       repo_->catalog->chunks().LocateMany(tenant, {b}, /*superseded=*/true));
  ASSERT_TRUE(aside.front().has_value()) << "the copy of b kept aside is still there";
  ASSERT_OK_AND_ASSIGN(std::string base, ReadSealed(*repo_, tenant, a));
  EXPECT_EQ(base, Sealed(a));

  // A week later the hold ends: a dry run already counts a as garbage, and
  // the collection deletes it.
  clock_.Advance(absl::Hours(24 * 7 + 1));
  GcOptions dry = Immediately(0);
  dry.dry_run = true;
  ASSERT_OK_AND_ASSIGN(GcReport would, Gc(dry));
  EXPECT_EQ(would.chunks_deleted, 1u);
  EXPECT_EQ(would.chunks_kept_as_bases, 0u);
  ASSERT_OK_AND_ASSIGN(GcReport released, Gc(Immediately(0)));
  EXPECT_EQ(released.chunks_deleted, 1u);
  EXPECT_FALSE(Stored(*repo_, a));
  EXPECT_TRUE(Stored(*repo_, b));
  ExpectAllSnapshotsReadable(*repo_);
}

TEST_F(GcDeltaTest, UsableBasesFollowWhatIsHeldAndTheChainLimit) {
  const std::string a = Id(1), b = Id(2), c = Id(3), d = Id(4), unknown = Id(50);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a}}, {{a}}));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, DeltaBackup(b, a));
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  // c on a (whole): usable; d on b (a delta already): usable only while the
  // chain may be 2 long; a present chunk has no answer; an unknown base none.
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse answer,
                       Ask(job, {c, d, a, Id(5)}, {a, b, b, unknown}, 2));
  EXPECT_THAT(answer.missing(), ElementsAre(0u, 1u, 3u));
  EXPECT_THAT(answer.usable_bases(), ElementsAre(0u, 1u));
  ASSERT_OK_AND_ASSIGN(answer, Ask(job, {c, d}, {a, b}, 1));
  EXPECT_THAT(answer.usable_bases(), ElementsAre(0u));
  // No bases asked for (older agents): no answer about them.
  ASSERT_OK_AND_ASSIGN(answer, Ask(job, {c, d}, {}, 0));
  EXPECT_THAT(answer.usable_bases(), IsEmpty());
  // Bad requests are refused, naming what is wrong.
  absl::StatusOr<v1::FindMissingChunksResponse> bad = Ask(job, {c, d}, {a}, 2);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "one per id")) << bad.status();
  bad = Ask(job, {c}, {a}, 9);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  bad = Ask(job, {c}, {"short"}, 2);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);

  // An upload naming a base the tenant does not hold is refused; so is a
  // chunk named as its own base.
  absl::Status refused = UploadDelta(job, c, unknown);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "not stored")) << refused;
  EXPECT_EQ(UploadDelta(job, c, c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Stored(*repo_, c));
  ASSERT_OK(UploadDelta(job, c, a));
  EXPECT_TRUE(Stored(*repo_, c));
  (void)s1;
  (void)s2;
}

// Compaction copies a delta with its base into the new pack's index, so a
// catalog rebuilt from the tiers still knows the chain.
TEST_F(GcDeltaTest, CompactionKeepsTheBaseInTheNewPacksIndex) {
  const std::string a = Id(1), b = Id(2), junk = Id(3);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a}}, {{a}}));
  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse answer, Ask(job, {b}, {a}, 4));
  ASSERT_EQ(answer.usable_bases_size(), 1);
  {  // b (a delta) and junk no snapshot will name, in one pack
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackIngest> ingest, repo_->agent->StartUpload(job));
    ASSERT_OK(ingest->Add(b, 300, Sealed(b), a));
    ASSERT_OK(ingest->Add(junk, 300, Sealed(junk)));
    ASSERT_OK(ingest->Finish());
  }
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s2, Finish(*repo_, job, {{b}}));
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK_AND_ASSIGN(GcReport report, Gc(Immediately(0.99)));
  EXPECT_EQ(report.chunks_deleted, 1u);
  EXPECT_EQ(report.chunks_kept_as_bases, 1u);
  EXPECT_GE(report.packs_compacted, 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                       repo_->catalog->chunks().Locate(TenantOf(*repo_), b));
  ASSERT_TRUE(where.has_value());
  uint64_t size = 0;
  ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> index,
                       ReadPackIndex(repo_->tier, where->pack_name, &size));
  bool found = false;
  for (const PackEntry& e : index) {
    if (std::string(ChunkIdBytes(e.id)) != b) continue;
    found = true;
    ASSERT_TRUE(e.base.has_value());
    EXPECT_EQ(std::string(ChunkIdBytes(*e.base)), a);
  }
  EXPECT_TRUE(found);
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo_));
  (void)s2;
}

// Bases are a tenant's own: another tenant's agent proposing them (it can
// only guess ids; they are keyed per tenant) learns nothing and cannot store
// a delta on them. A base id of the wrong size is refused at upload.
TEST_F(GcDeltaTest, AnotherTenantsChunksAreNoBases) {
  const std::string a = Id(1), b = Id(2);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a}}, {{a}}));
  ASSERT_OK_AND_ASSIGN(std::string other, StartBackup(*repo_->agent, "gpu-9", "other-tenant",
                                                      "/data", v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse answer, Ask(other, {b, a}, {a, a}, 4));
  EXPECT_THAT(answer.missing(), ElementsAre(0u, 1u)) << "a is the first tenant's";
  EXPECT_THAT(answer.usable_bases(), IsEmpty());
  absl::Status refused = UploadDelta(other, b, a);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;

  ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "gpu-1", kTenant, "/data",
                                                    v1::BACKUP_LEVEL_FULL));
  EXPECT_EQ(UploadDelta(job, b, "short").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Stored(*repo_, b));
  (void)s1;
}

}  // namespace
}  // namespace cairn

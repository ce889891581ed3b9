// A chunk an agent reports damaged is stored again by the next backup, but
// the server cannot check the report (it has no key): the copy it replaced
// keeps its pack — neither deleted nor compacted — until the hold ends, so a
// false report from a compromised agent destroys nothing within it.
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/server/maintenance/gc_test_util.h"

namespace cairn {
namespace {

TEST_F(GcTest, AReplacedReportedChunkKeepsItsPackUntilTheHoldEnds) {
  const std::string a = Id(1), b = Id(2), c = Id(3);
  ASSERT_OK_AND_ASSIGN(v1::Snapshot s1, Backup(*repo_, {{a, b, c}}, {{a, b, c}}));
  const int64_t tenant = TenantOf(*repo_);
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> before,
                       repo_->catalog->chunks().Locate(tenant, a));
  ASSERT_TRUE(before.has_value());
  const std::set<std::string> packs_before = CatalogPacks(*repo_);
  ASSERT_EQ(packs_before.size(), 1u);

  ASSERT_OK_AND_ASSIGN(uint64_t marked, repo_->catalog->chunks().MarkDamaged(tenant, {a}));
  ASSERT_EQ(marked, 1u);
  // The next backup stores `a` again (the server reports it missing).
  ASSERT_OK(Backup(*repo_, {{a}}, {{a}}).status());
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> after,
                       repo_->catalog->chunks().Locate(tenant, a));
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->pack_id, before->pack_id) << "the new copy is in a new pack";

  // The first snapshot goes: b and c die, and the old pack holds nothing
  // live — but it holds the superseded copy of a.
  ASSERT_OK(Forget(*repo_, s1));
  ASSERT_OK_AND_ASSIGN(GcReport held, Gc(Immediately(/*compact_below=*/0.99)));
  EXPECT_EQ(held.chunks_deleted, 2u);
  for (const std::string& pack : packs_before) {
    EXPECT_TRUE(CatalogPacks(*repo_).contains(pack)) << pack << " was deleted within the hold";
    EXPECT_TRUE(TierObjects(*repo_).contains(pack)) << pack << " left the tier within the hold";
  }

  // A week later the hold ends and the pack goes.
  clock_.Advance(absl::Hours(24 * 7 + 1));
  ASSERT_OK_AND_ASSIGN(GcReport released, Gc(Immediately(0.99)));
  EXPECT_GE(released.packs_deleted, 1u);
  for (const std::string& pack : packs_before) {
    EXPECT_FALSE(CatalogPacks(*repo_).contains(pack)) << pack;
    EXPECT_FALSE(TierObjects(*repo_).contains(pack)) << pack;
  }
  EXPECT_EQ(TierObjects(*repo_), CatalogPacks(*repo_));
  ExpectAllSnapshotsReadable(*repo_);
}

}  // namespace
}  // namespace cairn

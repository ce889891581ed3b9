// PlacementStore on a real catalog file: AddCopy records a copy once (never
// the first location) and is false for a pack gone meanwhile; Relocate moves
// the first location or a copy, merges onto a tier that already holds a copy,
// and is false without a location on `from`; PacksOn pages in id order with
// every location and filters by age; UsageByTier counts copies; deleting a
// pack's last chunks (ChunkStore::Delete, MoveChunks) returns its copies and
// leaves no pack_copies rows.
#include "server/catalog/placement_store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class PlacementStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(tenant_, catalog().agents().TenantId("t1"));
  }

  ChunkStore& chunks() { return catalog().chunks(); }
  PlacementStore& placement() { return catalog().placement(); }

  // A pack `name` on `tier` of `size` bytes holding chunks [first, first + count).
  int64_t AddPack(const std::string& name, const std::string& tier, uint64_t first,
                  uint64_t count = 2, uint64_t size = 1000) {
    std::vector<StoredChunk> rows;
    for (uint64_t n = first; n < first + count; ++n) {
      rows.push_back(StoredChunk{TestChunkId(n), 8 + 100 * (n - first), 100, 200});
    }
    absl::StatusOr<uint64_t> added = chunks().AddPack(tenant_, tier, name, size, rows);
    EXPECT_TRUE(added.ok()) << added.status();
    return PackId(name);
  }
  int64_t PackId(const std::string& name) {
    absl::StatusOr<std::vector<PackRecord>> packs = chunks().ListPacks();
    EXPECT_TRUE(packs.ok()) << packs.status();
    if (packs.ok()) {
      for (const PackRecord& p : *packs) {
        if (p.name == name) return p.id;
      }
    }
    ADD_FAILURE() << "no pack " << name;
    return -1;
  }
  std::string FirstTier(int64_t id) {
    absl::StatusOr<std::optional<PackRecord>> p = chunks().GetPack(id);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() && p->has_value() ? (*p)->tier : "(gone)";
  }
  std::vector<std::string> Copies(int64_t id) {
    absl::StatusOr<std::vector<std::string>> copies = placement().Copies(id);
    EXPECT_TRUE(copies.ok()) << copies.status();
    return copies.ok() ? *copies : std::vector<std::string>{"(error)"};
  }
  int64_t CopyRows() {
    absl::StatusOr<int64_t> n = RawInt("SELECT count(*) FROM pack_copies");
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }
  // Names of the packs PacksOn returns, each as "name:loc1,loc2".
  std::vector<std::string> On(const std::string& tier, int64_t before_ms = INT64_MAX,
                              int64_t after = 0, uint32_t limit = 1000) {
    absl::StatusOr<std::vector<PlacedPack>> packs =
        placement().PacksOn(tier, before_ms, after, limit);
    EXPECT_TRUE(packs.ok()) << packs.status();
    std::vector<std::string> out;
    if (packs.ok()) {
      for (const PlacedPack& p : *packs) {
        out.push_back(absl::StrCat(p.pack.name, ":", absl::StrJoin(p.locations, ",")));
      }
    }
    return out;
  }
  static std::string Usage(const TierUsage& u) {
    return absl::StrCat(u.tier, " ", u.packs, " ", u.bytes);
  }
  std::vector<std::string> UsageByTier() {
    absl::StatusOr<std::vector<TierUsage>> usage = placement().UsageByTier();
    EXPECT_TRUE(usage.ok()) << usage.status();
    std::vector<std::string> out;
    if (usage.ok()) {
      for (const TierUsage& u : *usage) out.push_back(Usage(u));
    }
    return out;
  }
  // Deletes the chunk rows [first, first + count) of the tenant; the emptied packs.
  std::vector<PackRecord> DeleteChunks(uint64_t first, uint64_t count) {
    std::vector<TenantObject> doomed;
    for (uint64_t n = first; n < first + count; ++n) {
      doomed.push_back(TenantObject{tenant_, TestChunkId(n)});
    }
    uint64_t deleted = 0;
    absl::StatusOr<std::vector<PackRecord>> emptied = chunks().Delete(doomed, &deleted);
    EXPECT_TRUE(emptied.ok()) << emptied.status();
    EXPECT_EQ(deleted, count);
    return emptied.ok() ? *emptied : std::vector<PackRecord>{};
  }

  int64_t tenant_ = 0;
};

TEST_F(PlacementStoreTest, AddCopyRecordsEachCopyOnceAndNeverTheFirstLocation) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  EXPECT_THAT(Copies(p1), IsEmpty());
  ASSERT_OK_AND_ASSIGN(bool recorded, placement().AddCopy(p1, "cold"));
  EXPECT_TRUE(recorded);
  EXPECT_THAT(Copies(p1), ElementsAre("cold"));
  // Again: true, nothing changes.
  ASSERT_OK_AND_ASSIGN(recorded, placement().AddCopy(p1, "cold"));
  EXPECT_TRUE(recorded);
  EXPECT_EQ(CopyRows(), 1);
  // The first location is no copy.
  ASSERT_OK_AND_ASSIGN(recorded, placement().AddCopy(p1, "hot"));
  EXPECT_TRUE(recorded);
  EXPECT_THAT(Copies(p1), ElementsAre("cold"));
  // Copies are listed sorted, not in the order they were made.
  ASSERT_OK_AND_ASSIGN(recorded, placement().AddCopy(p1, "archive"));
  EXPECT_TRUE(recorded);
  EXPECT_THAT(Copies(p1), ElementsAre("archive", "cold"));
  EXPECT_EQ(FirstTier(p1), "hot");
  // Another pack has none of them; the rows outlive a reopen.
  const int64_t p2 = AddPack("p2", "hot", 10);
  EXPECT_THAT(Copies(p2), IsEmpty());
  Reopen();
  EXPECT_THAT(Copies(p1), ElementsAre("archive", "cold"));
}

TEST_F(PlacementStoreTest, AddCopyOfAPackGoneMeanwhileIsFalseAndWritesNothing) {
  ASSERT_OK_AND_ASSIGN(bool recorded, placement().AddCopy(424242, "cold"));
  EXPECT_FALSE(recorded);
  EXPECT_EQ(CopyRows(), 0);
  // Collected between the copy and its record: no row names a pack that is not there.
  const int64_t p1 = AddPack("p1", "hot", 0);
  std::vector<PackRecord> emptied = DeleteChunks(0, 2);
  ASSERT_EQ(emptied.size(), 1u);
  ASSERT_OK_AND_ASSIGN(recorded, placement().AddCopy(p1, "cold"));
  EXPECT_FALSE(recorded);
  EXPECT_EQ(CopyRows(), 0);
  EXPECT_THAT(On("cold"), IsEmpty());
}

TEST_F(PlacementStoreTest, RelocatingTheFirstLocationMovesThePackAndItsChunks) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  ASSERT_OK_AND_ASSIGN(bool moved, placement().Relocate(p1, "hot", "cold"));
  EXPECT_TRUE(moved);
  EXPECT_EQ(FirstTier(p1), "cold");
  EXPECT_THAT(Copies(p1), IsEmpty());
  // Restores look chunks up through the pack: they now read cold.
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc, chunks().Locate(tenant_, TestChunkId(1)));
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->tier, "cold");
  EXPECT_EQ(loc->pack_name, "p1");
  EXPECT_THAT(On("hot"), IsEmpty());
  EXPECT_THAT(On("cold"), ElementsAre("p1:cold"));
  // No location on hot any more: false, nothing changes.
  ASSERT_OK_AND_ASSIGN(moved, placement().Relocate(p1, "hot", "archive"));
  EXPECT_FALSE(moved);
  EXPECT_EQ(FirstTier(p1), "cold");
  EXPECT_THAT(Copies(p1), IsEmpty());
}

TEST_F(PlacementStoreTest, RelocatingOntoATierWithACopyLeavesOneLocationThere) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  ASSERT_OK(placement().AddCopy(p1, "cold").status());
  ASSERT_OK_AND_ASSIGN(bool moved, placement().Relocate(p1, "hot", "cold"));
  EXPECT_TRUE(moved);
  EXPECT_EQ(FirstTier(p1), "cold");
  // The copy became the first location: no second "cold" as a copy.
  EXPECT_THAT(Copies(p1), IsEmpty());
  EXPECT_EQ(CopyRows(), 0);
  EXPECT_THAT(UsageByTier(), ElementsAre("cold 1 1000"));
  EXPECT_THAT(On("cold"), ElementsAre("p1:cold"));
}

TEST_F(PlacementStoreTest, RelocatingACopyKeepsTheFirstLocation) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  ASSERT_OK(placement().AddCopy(p1, "cold").status());
  ASSERT_OK(placement().AddCopy(p1, "warm").status());
  ASSERT_OK_AND_ASSIGN(bool moved, placement().Relocate(p1, "cold", "archive"));
  EXPECT_TRUE(moved);
  EXPECT_EQ(FirstTier(p1), "hot");
  EXPECT_THAT(Copies(p1), ElementsAre("archive", "warm"));
  // Onto another copy's tier: the two become one.
  ASSERT_OK_AND_ASSIGN(moved, placement().Relocate(p1, "archive", "warm"));
  EXPECT_TRUE(moved);
  EXPECT_THAT(Copies(p1), ElementsAre("warm"));
  // Onto the first location: the copy row goes, the first location stays.
  ASSERT_OK_AND_ASSIGN(moved, placement().Relocate(p1, "warm", "hot"));
  EXPECT_TRUE(moved);
  EXPECT_EQ(FirstTier(p1), "hot");
  EXPECT_THAT(Copies(p1), IsEmpty());
  // From a tier without a location, or for a pack that is gone: false, no change.
  ASSERT_OK_AND_ASSIGN(moved, placement().Relocate(p1, "cold", "archive"));
  EXPECT_FALSE(moved);
  EXPECT_EQ(FirstTier(p1), "hot");
  EXPECT_THAT(Copies(p1), IsEmpty());
  ASSERT_OK_AND_ASSIGN(moved, placement().Relocate(424242, "hot", "cold"));
  EXPECT_FALSE(moved);
  EXPECT_EQ(CopyRows(), 0);
}

TEST_F(PlacementStoreTest, PacksOnPagesInIdOrderWithEveryLocation) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  const int64_t p2 = AddPack("p2", "cold", 10);
  const int64_t p3 = AddPack("p3", "hot", 20);
  const int64_t p4 = AddPack("p4", "archive", 30);
  const int64_t p5 = AddPack("p5", "hot", 40);
  ASSERT_OK(placement().AddCopy(p1, "cold").status());
  ASSERT_OK(placement().AddCopy(p1, "archive").status());
  ASSERT_OK(placement().AddCopy(p4, "cold").status());
  ASSERT_OK(chunks().Quarantine(p5));
  ASSERT_OK(placement().AddCopy(p5, "cold").status());

  // Every location: the first, then the copies sorted.
  EXPECT_THAT(On("cold"),
              ElementsAre("p1:hot,archive,cold", "p2:cold", "p4:archive,cold", "p5:hot,cold"));
  EXPECT_THAT(On("hot"), ElementsAre("p1:hot,archive,cold", "p3:hot", "p5:hot,cold"));
  EXPECT_THAT(On("archive"), ElementsAre("p1:hot,archive,cold", "p4:archive,cold"));
  EXPECT_THAT(On("nowhere"), IsEmpty());

  // Pages of two, each after the last id of the one before.
  EXPECT_THAT(On("cold", INT64_MAX, 0, 2), ElementsAre("p1:hot,archive,cold", "p2:cold"));
  EXPECT_THAT(On("cold", INT64_MAX, p2, 2), ElementsAre("p4:archive,cold", "p5:hot,cold"));
  EXPECT_THAT(On("cold", INT64_MAX, p5, 2), IsEmpty());
  EXPECT_THAT(On("hot", INT64_MAX, p1, 1), ElementsAre("p3:hot"));
  EXPECT_THAT(On("hot", INT64_MAX, p3, 1000), ElementsAre("p5:hot,cold"));

  // Quarantine shows (the callers that copy skip it), with the rest of the record.
  ASSERT_OK_AND_ASSIGN(std::vector<PlacedPack> page,
                       placement().PacksOn("hot", INT64_MAX, p3, 1000));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].pack.id, p5);
  EXPECT_EQ(page[0].pack.tier, "hot");
  EXPECT_EQ(page[0].pack.size, 1000u);
  EXPECT_EQ(page[0].pack.entries, 2u);
  EXPECT_TRUE(page[0].pack.quarantined);
  EXPECT_GT(page[0].created_ms, 0);
}

TEST_F(PlacementStoreTest, PacksOnSkipsPacksNotOlderThanTheCutoff) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  const int64_t p2 = AddPack("p2", "hot", 10);
  const int64_t p3 = AddPack("p3", "cold", 20);
  ASSERT_OK(placement().AddCopy(p3, "hot").status());
  ASSERT_OK(RawExec(absl::StrCat("UPDATE packs SET created_ms = 1000 WHERE id = ", p1)));
  ASSERT_OK(RawExec(absl::StrCat("UPDATE packs SET created_ms = 2000 WHERE id = ", p2)));
  ASSERT_OK(RawExec(absl::StrCat("UPDATE packs SET created_ms = 3000 WHERE id = ", p3)));
  // Strictly before the cutoff.
  EXPECT_THAT(On("hot", 1000), IsEmpty());
  EXPECT_THAT(On("hot", 1001), ElementsAre("p1:hot"));
  EXPECT_THAT(On("hot", 2001), ElementsAre("p1:hot", "p2:hot"));
  EXPECT_THAT(On("hot", 3000), ElementsAre("p1:hot", "p2:hot"));
  // A copy counts by the pack's age, not the copy's.
  EXPECT_THAT(On("hot", 3001), ElementsAre("p1:hot", "p2:hot", "p3:cold,hot"));
  EXPECT_THAT(On("cold", 3000), IsEmpty());
}

TEST_F(PlacementStoreTest, UsageByTierCountsCopiesOnTheirTiers) {
  EXPECT_THAT(UsageByTier(), IsEmpty());
  const int64_t p1 = AddPack("p1", "hot", 0, 2, 1000);
  const int64_t p2 = AddPack("p2", "hot", 10, 2, 300);
  AddPack("p3", "cold", 20, 2, 50);
  ASSERT_OK(placement().AddCopy(p1, "cold").status());
  ASSERT_OK(placement().AddCopy(p1, "archive").status());
  ASSERT_OK(placement().AddCopy(p2, "archive").status());
  // Tiers in name order.
  EXPECT_THAT(UsageByTier(), ElementsAre("archive 2 1300", "cold 2 1050", "hot 2 1300"));
  // A move takes the pack off hot; its copies stay where they are.
  ASSERT_OK(placement().Relocate(p2, "hot", "cold").status());
  EXPECT_THAT(UsageByTier(), ElementsAre("archive 2 1300", "cold 3 1350", "hot 1 1000"));
}

TEST_F(PlacementStoreTest, DeletingAPacksLastChunksReturnsItsCopiesAndDropsTheirRows) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  const int64_t p2 = AddPack("p2", "hot", 10);
  const int64_t p3 = AddPack("p3", "hot", 20);
  ASSERT_OK(placement().AddCopy(p1, "cold").status());
  ASSERT_OK(placement().AddCopy(p1, "archive").status());
  ASSERT_OK(placement().AddCopy(p2, "cold").status());
  ASSERT_OK(placement().AddCopy(p3, "cold").status());

  // One of p2's two chunks: p2 stays, with its copy.
  EXPECT_THAT(DeleteChunks(10, 1), IsEmpty());
  EXPECT_THAT(Copies(p2), ElementsAre("cold"));

  // All of p1's and the rest of p2's: both go, each with the tiers of its copies.
  std::vector<TenantObject> doomed = {
      {tenant_, TestChunkId(0)}, {tenant_, TestChunkId(1)}, {tenant_, TestChunkId(11)}};
  uint64_t deleted = 0;
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> emptied, chunks().Delete(doomed, &deleted));
  EXPECT_EQ(deleted, 3u);
  ASSERT_EQ(emptied.size(), 2u);
  EXPECT_EQ(emptied[0].name, "p1");
  EXPECT_EQ(emptied[0].tier, "hot");
  EXPECT_THAT(emptied[0].copies, UnorderedElementsAre("archive", "cold"));
  EXPECT_EQ(emptied[1].name, "p2");
  EXPECT_THAT(emptied[1].copies, ElementsAre("cold"));
  // Only p3's copy row is left; nothing names the packs that went.
  EXPECT_EQ(CopyRows(), 1);
  EXPECT_THAT(Copies(p1), IsEmpty());
  EXPECT_THAT(On("cold"), ElementsAre("p3:hot,cold"));
  EXPECT_THAT(UsageByTier(), ElementsAre("cold 1 1000", "hot 1 1000"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems, catalog().IntegrityCheck());
  EXPECT_THAT(problems, IsEmpty());
}

TEST_F(PlacementStoreTest, APackWithoutCopiesIsReturnedWithNone) {
  AddPack("p1", "hot", 0);
  std::vector<PackRecord> emptied = DeleteChunks(0, 2);
  ASSERT_EQ(emptied.size(), 1u);
  EXPECT_EQ(emptied[0].name, "p1");
  EXPECT_THAT(emptied[0].copies, IsEmpty());
}

TEST_F(PlacementStoreTest, CompactionEmptyingAPackReturnsItsCopies) {
  const int64_t p1 = AddPack("p1", "hot", 0);
  ASSERT_OK(placement().AddCopy(p1, "cold").status());
  // Both chunks repointed into a new pack: p1 is empty and goes, with its copy.
  std::vector<StoredChunk> moves = {StoredChunk{TestChunkId(0), 8, 100, 200, p1},
                                    StoredChunk{TestChunkId(1), 108, 100, 200, p1}};
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> emptied,
                       chunks().MoveChunks(tenant_, "hot", "p9", 300, moves));
  ASSERT_EQ(emptied.size(), 1u);
  EXPECT_EQ(emptied[0].id, p1);
  EXPECT_THAT(emptied[0].copies, ElementsAre("cold"));
  EXPECT_EQ(CopyRows(), 0);
  EXPECT_THAT(On("cold"), IsEmpty());
  EXPECT_THAT(On("hot"), ElementsAre("p9:hot"));
}

}  // namespace
}  // namespace cairn

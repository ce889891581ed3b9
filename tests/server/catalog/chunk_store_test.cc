// ChunkStore on a real catalog file, beyond catalog_test.cc: FindMissing by
// index with repeats and quarantine, AddPack's counting and replacement of
// quarantined copies, LocateMany's order, Usage, Page ordering and age
// filter, Delete and MoveChunks dropping emptied packs, and Totals after them.
#include "server/catalog/chunk_store.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ChunkStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(a_, catalog().agents().TenantId("A"));
    ASSERT_OK_AND_ASSIGN(b_, catalog().agents().TenantId("B"));
  }

  ChunkStore& chunks() { return catalog().chunks(); }

  // Chunk n at offset 8 + 100 * (n - first), 100 sealed bytes, raw 1000 + n.
  static std::vector<StoredChunk> Chunks(uint64_t first, uint64_t count) {
    std::vector<StoredChunk> out;
    for (uint64_t n = first; n < first + count; ++n) {
      out.push_back(
          StoredChunk{TestChunkId(n), 8 + 100 * (n - first), 100, static_cast<uint32_t>(1000 + n)});
    }
    return out;
  }
  static std::vector<std::string> Ids(std::initializer_list<uint64_t> ns) {
    std::vector<std::string> ids;
    for (uint64_t n : ns) ids.push_back(TestChunkId(n));
    return ids;
  }

  // The id of the pack named `name`.
  int64_t PackId(const std::string& name) {
    absl::StatusOr<std::vector<PackRecord>> packs = chunks().ListPacks();
    EXPECT_TRUE(packs.ok()) << packs.status();
    if (!packs.ok()) return -1;
    for (const PackRecord& p : *packs) {
      if (p.name == name) return p.id;
    }
    ADD_FAILURE() << "no pack " << name;
    return -1;
  }
  std::vector<std::string> PackNames() {
    absl::StatusOr<std::vector<PackRecord>> packs = chunks().ListPacks();
    EXPECT_TRUE(packs.ok()) << packs.status();
    std::vector<std::string> names;
    if (packs.ok()) {
      for (const PackRecord& p : *packs) names.push_back(p.name);
    }
    return names;
  }
  std::string WhereIs(int64_t tenant, uint64_t n) {
    absl::StatusOr<std::optional<ChunkLocation>> loc = chunks().Locate(tenant, TestChunkId(n));
    EXPECT_TRUE(loc.ok()) << loc.status();
    return loc.ok() && loc->has_value() ? (*loc)->pack_name : "";
  }

  int64_t a_ = 0;
  int64_t b_ = 0;
};

TEST_F(ChunkStoreTest, FindMissingAnswersByIndexWithRepeats) {
  ASSERT_OK(chunks().AddPack(a_, "hot", "p1", 1000, Chunks(0, 3)).status());
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       chunks().FindMissing(a_, Ids({5, 0, 5, 2, 9, 1})));
  EXPECT_THAT(missing, ElementsAre(0u, 2u, 4u));
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(a_, {}));
  EXPECT_THAT(missing, IsEmpty());
  // An id of the wrong length is simply not there.
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(a_, {std::string("short")}));
  EXPECT_THAT(missing, ElementsAre(0u));
}

TEST_F(ChunkStoreTest, QuarantineMakesOnlyThatPacksChunksMissing) {
  ASSERT_OK(chunks().AddPack(a_, "hot", "p1", 1000, Chunks(0, 2)).status());
  ASSERT_OK(chunks().AddPack(a_, "hot", "p2", 1000, Chunks(2, 2)).status());
  ASSERT_OK(chunks().AddPack(b_, "hot", "p3", 1000, Chunks(0, 2)).status());
  ASSERT_OK(chunks().Quarantine(PackId("p1")));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, chunks().FindMissing(a_, Ids({0, 1, 2, 3})));
  EXPECT_THAT(missing, ElementsAre(0u, 1u));
  // Tenant B's copies of the same ids live in another pack: unaffected.
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(b_, Ids({0, 1})));
  EXPECT_THAT(missing, IsEmpty());
  // Quarantined chunks are still located (a restore may still try them).
  EXPECT_EQ(WhereIs(a_, 0), "p1");
}

TEST_F(ChunkStoreTest, AddPackCountsNewRowsAndReplacesOnlyQuarantinedOnes) {
  // A repeat inside one pack is one row.
  std::vector<StoredChunk> twice = Chunks(0, 2);
  twice.push_back(StoredChunk{TestChunkId(0), 208, 100, 1000});
  ASSERT_OK_AND_ASSIGN(uint64_t added, chunks().AddPack(a_, "hot", "p1", 1000, twice));
  EXPECT_EQ(added, 2u);
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> p1, chunks().GetPack(PackId("p1")));
  ASSERT_TRUE(p1.has_value());
  EXPECT_EQ(p1->entries, 3u);  // entries counts what the pack holds
  EXPECT_EQ(p1->size, 1000u);
  EXPECT_EQ(p1->tier, "hot");
  EXPECT_FALSE(p1->quarantined);

  ASSERT_OK(chunks().AddPack(a_, "hot", "p2", 1000, Chunks(5, 1)).status());
  ASSERT_OK(chunks().Quarantine(PackId("p1")));
  // p3 holds 0 (quarantined in p1: replaced), 5 (healthy in p2: kept) and 6 (new).
  std::vector<StoredChunk> again = {StoredChunk{TestChunkId(0), 8, 100, 1000},
                                    StoredChunk{TestChunkId(5), 108, 100, 1005},
                                    StoredChunk{TestChunkId(6), 208, 100, 1006}};
  ASSERT_OK_AND_ASSIGN(added, chunks().AddPack(a_, "archive", "p3", 500, again));
  EXPECT_EQ(added, 2u);
  EXPECT_EQ(WhereIs(a_, 0), "p3");
  EXPECT_EQ(WhereIs(a_, 1), "p1");
  EXPECT_EQ(WhereIs(a_, 5), "p2");
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc, chunks().Locate(a_, TestChunkId(0)));
  EXPECT_EQ(loc->tier, "archive");
  EXPECT_EQ(loc->offset, 8u);
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, chunks().FindMissing(a_, Ids({0, 1, 5})));
  EXPECT_THAT(missing, ElementsAre(1u));
  // The replaced row is counted once, the kept and the repeated ones once.
  ASSERT_OK_AND_ASSIGN(CatalogTotals totals, chunks().Totals());
  EXPECT_EQ(totals.chunks, 4u);
  EXPECT_EQ(totals.stored_bytes, 400u);
  EXPECT_EQ(totals.unique_bytes, 1000u + 1001 + 1005 + 1006);
}

TEST_F(ChunkStoreTest, LocateManyAnswersInRequestOrder) {
  ASSERT_OK(chunks().AddPack(a_, "hot", "p1", 1000, Chunks(0, 3)).status());
  ASSERT_OK(chunks().AddPack(a_, "cold", "p2", 1000, Chunks(10, 3)).status());
  ASSERT_OK(chunks().AddPack(b_, "hot", "p3", 1000, Chunks(20, 1)).status());
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<ChunkLocation>> got,
                       chunks().LocateMany(a_, Ids({12, 1, 99, 20, 12, 0})));
  ASSERT_EQ(got.size(), 6u);
  ASSERT_TRUE(got[0].has_value());
  EXPECT_EQ(got[0]->pack_name, "p2");
  EXPECT_EQ(got[0]->tier, "cold");
  EXPECT_EQ(got[0]->offset, 208u);
  EXPECT_EQ(got[0]->length, 100u);
  EXPECT_EQ(got[0]->raw_size, 1012u);
  EXPECT_EQ(got[0]->pack_id, PackId("p2"));
  ASSERT_TRUE(got[1].has_value());
  EXPECT_EQ(got[1]->pack_name, "p1");
  EXPECT_EQ(got[1]->offset, 108u);
  EXPECT_FALSE(got[2].has_value());  // nobody's
  EXPECT_FALSE(got[3].has_value());  // tenant B's
  ASSERT_TRUE(got[4].has_value());
  EXPECT_EQ(got[4]->offset, got[0]->offset);
  ASSERT_TRUE(got[5].has_value());
  EXPECT_EQ(got[5]->offset, 8u);
  ASSERT_OK_AND_ASSIGN(got, chunks().LocateMany(a_, {}));
  EXPECT_THAT(got, IsEmpty());
}

TEST_F(ChunkStoreTest, UsageCountsWhatStillLivesInEachPack) {
  int64_t before = absl::ToUnixMillis(absl::Now());
  ASSERT_OK(chunks().AddPack(a_, "hot", "p1", 4000, Chunks(0, 3)).status());
  ASSERT_OK(chunks().AddPack(b_, "hot", "p2", 2000, Chunks(0, 2)).status());
  uint64_t deleted = 0;
  ASSERT_OK(chunks().Delete({TenantObject{a_, TestChunkId(1)}}, &deleted).status());
  ASSERT_OK(chunks().AddPack(a_, "hot", "p3", 10, {}).status());  // holds nothing
  int64_t after = absl::ToUnixMillis(absl::Now());

  ASSERT_OK_AND_ASSIGN(std::vector<PackUsage> usage, chunks().Usage());
  ASSERT_EQ(usage.size(), 3u);
  EXPECT_EQ(usage[0].pack.name, "p1");
  EXPECT_EQ(usage[0].pack.size, 4000u);
  EXPECT_EQ(usage[0].pack.entries, 3u);
  EXPECT_EQ(usage[0].tenant, a_);
  EXPECT_EQ(usage[0].live_chunks, 2u);
  EXPECT_EQ(usage[0].live_bytes, 200u);
  EXPECT_GE(usage[0].created_ms, before);
  EXPECT_LE(usage[0].created_ms, after);
  EXPECT_EQ(usage[1].pack.name, "p2");
  EXPECT_EQ(usage[1].tenant, b_);
  EXPECT_EQ(usage[1].live_chunks, 2u);
  EXPECT_EQ(usage[2].pack.name, "p3");
  EXPECT_EQ(usage[2].tenant, 0);
  EXPECT_EQ(usage[2].live_chunks, 0u);
  EXPECT_EQ(usage[2].live_bytes, 0u);

  ASSERT_OK_AND_ASSIGN(std::vector<ChunkRow> live, chunks().LiveChunksOfPack(PackId("p1")));
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].id, TestChunkId(0));
  EXPECT_EQ(live[1].id, TestChunkId(2));
  EXPECT_EQ(live[1].offset, 208u);
  EXPECT_EQ(live[1].raw_size, 1002u);
  EXPECT_EQ(live[1].tenant, a_);
}

TEST_F(ChunkStoreTest, PageWalksTenantThenIdOrderAndFiltersByPackAge) {
  ASSERT_OK(chunks().AddPack(b_, "hot", "old-b", 1000, Chunks(0, 4)).status());
  ASSERT_OK(chunks().AddPack(a_, "hot", "old-a", 1000, Chunks(10, 4)).status());
  ASSERT_OK(chunks().AddPack(a_, "hot", "new-a", 1000, Chunks(20, 3)).status());
  ASSERT_OK(RawExec("UPDATE packs SET created_ms = 1000 WHERE name LIKE 'old-%'"));
  ASSERT_OK(RawExec("UPDATE packs SET created_ms = 5000 WHERE name = 'new-a'"));

  auto walk = [&](int64_t before_ms, uint32_t limit) {
    std::vector<std::pair<int64_t, std::string>> seen;
    int64_t tenant = 0;
    std::string id;
    while (true) {
      absl::StatusOr<std::vector<ChunkRow>> page = chunks().Page(tenant, id, before_ms, limit);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || page->empty()) return seen;
      EXPECT_LE(page->size(), limit);
      for (const ChunkRow& row : *page) seen.emplace_back(row.tenant, row.id);
      tenant = page->back().tenant;
      id = page->back().id;
    }
  };
  std::vector<std::pair<int64_t, std::string>> all = walk(1'000'000, 3);
  ASSERT_EQ(all.size(), 11u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(all.front().first, a_);  // tenant A was created first
  EXPECT_EQ(all.back().first, b_);
  EXPECT_EQ(walk(1'000'000, 1000), all);

  // Only chunks of packs created before 3000: the new pack's are left out.
  std::vector<std::pair<int64_t, std::string>> old = walk(3000, 2);
  EXPECT_EQ(old.size(), 8u);
  for (const auto& row : old) {
    EXPECT_NE(row.second, TestChunkId(20));
    EXPECT_NE(row.second, TestChunkId(21));
    EXPECT_NE(row.second, TestChunkId(22));
  }
  EXPECT_THAT(walk(1000, 10), IsEmpty());  // strictly before
}

TEST_F(ChunkStoreTest, DeleteRemovesRowsAndEveryEmptiedPack) {
  ASSERT_OK(chunks().AddPack(a_, "hot", "p1", 1000, Chunks(0, 2)).status());
  ASSERT_OK(chunks().AddPack(a_, "hot", "p2", 1000, Chunks(2, 2)).status());
  ASSERT_OK(chunks().AddPack(b_, "hot", "p3", 1000, Chunks(0, 1)).status());
  uint64_t deleted = 99;
  ASSERT_OK_AND_ASSIGN(
      std::vector<PackRecord> gone,
      chunks().Delete({TenantObject{a_, TestChunkId(0)}, TenantObject{a_, TestChunkId(1)},
                       TenantObject{a_, TestChunkId(2)}, TenantObject{a_, TestChunkId(77)},
                       TenantObject{b_, TestChunkId(1)}},
                      &deleted));
  EXPECT_EQ(deleted, 3u);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].name, "p1");
  EXPECT_EQ(gone[0].size, 1000u);
  EXPECT_THAT(PackNames(), ElementsAre("p2", "p3"));
  EXPECT_EQ(WhereIs(b_, 0), "p3");  // the same id of another tenant stays
  EXPECT_EQ(WhereIs(a_, 3), "p2");

  // A pack emptied some other way (its chunks replaced) goes with the next Delete.
  ASSERT_OK(chunks().Quarantine(PackId("p2")));
  ASSERT_OK(chunks().AddPack(a_, "hot", "p4", 1000, Chunks(3, 1)).status());
  ASSERT_OK_AND_ASSIGN(gone, chunks().Delete({}, &deleted));
  EXPECT_EQ(deleted, 0u);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].name, "p2");
  EXPECT_TRUE(gone[0].quarantined);
  EXPECT_THAT(PackNames(), ElementsAre("p3", "p4"));
}

TEST_F(ChunkStoreTest, MoveChunksMovesOnlyRowsStillInTheirSourcePack) {
  ASSERT_OK(chunks().AddPack(a_, "hot", "src", 1000, Chunks(0, 3)).status());
  ASSERT_OK(chunks().AddPack(b_, "hot", "src-b", 1000, Chunks(0, 1)).status());
  const int64_t src = PackId("src");
  // Chunk 2 moved on meanwhile: src was quarantined and 2 stored again elsewhere.
  ASSERT_OK(chunks().Quarantine(src));
  ASSERT_OK(chunks().AddPack(a_, "hot", "fresh", 1000, Chunks(2, 1)).status());

  std::vector<StoredChunk> moves = {
      StoredChunk{TestChunkId(0), 8, 100, 1000, src},
      StoredChunk{TestChunkId(1), 108, 100, 1001, src},
      StoredChunk{TestChunkId(2), 208, 100, 1002, src},  // no longer in src
      StoredChunk{TestChunkId(9), 308, 100, 1009, src},  // never was
  };
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> emptied,
                       chunks().MoveChunks(a_, "cold", "new", 4096, moves));
  ASSERT_EQ(emptied.size(), 1u);
  EXPECT_EQ(emptied[0].name, "src");
  EXPECT_THAT(PackNames(), ElementsAre("src-b", "fresh", "new"));
  EXPECT_EQ(WhereIs(a_, 0), "new");
  EXPECT_EQ(WhereIs(a_, 1), "new");
  EXPECT_EQ(WhereIs(a_, 2), "fresh");
  EXPECT_EQ(WhereIs(a_, 9), "");
  EXPECT_EQ(WhereIs(b_, 0), "src-b");  // tenant B's row of the same id is not moved
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc, chunks().Locate(a_, TestChunkId(1)));
  EXPECT_EQ(loc->tier, "cold");
  EXPECT_EQ(loc->offset, 108u);
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> fresh, chunks().GetPack(PackId("new")));
  EXPECT_EQ(fresh->entries, 4u);
  EXPECT_EQ(fresh->size, 4096u);
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, chunks().FindMissing(a_, Ids({0, 1, 2})));
  EXPECT_THAT(missing, IsEmpty());
}

TEST_F(ChunkStoreTest, AFailedMoveChangesNothing) {
  ASSERT_OK(chunks().AddPack(a_, "hot", "src", 1000, Chunks(0, 2)).status());
  ASSERT_OK(chunks().AddPack(a_, "hot", "taken", 1000, Chunks(5, 1)).status());
  const int64_t src = PackId("src");
  std::vector<StoredChunk> moves = {StoredChunk{TestChunkId(0), 8, 100, 1000, src},
                                    StoredChunk{TestChunkId(1), 108, 100, 1001, src}};
  // The new pack's name is already catalogued: the whole transaction rolls back.
  absl::StatusOr<std::vector<PackRecord>> moved =
      chunks().MoveChunks(a_, "hot", "taken", 1000, moves);
  EXPECT_FALSE(moved.ok());
  EXPECT_EQ(WhereIs(a_, 0), "src");
  EXPECT_EQ(WhereIs(a_, 1), "src");
  EXPECT_THAT(PackNames(), ElementsAre("src", "taken"));
}

TEST_F(ChunkStoreTest, TotalsFollowDeletesAndMoves) {
  ASSERT_OK(chunks().AddPack(a_, "hot", "p1", 1000, Chunks(0, 4)).status());
  ASSERT_OK(chunks().AddPack(b_, "hot", "p2", 1000, Chunks(0, 1)).status());
  ASSERT_OK_AND_ASSIGN(CatalogTotals totals, chunks().Totals());
  EXPECT_EQ(totals.chunks, 5u);
  EXPECT_EQ(totals.stored_bytes, 500u);
  EXPECT_EQ(totals.unique_bytes, 1000u + 1001 + 1002 + 1003 + 1000);
  EXPECT_EQ(totals.packs, 2u);

  uint64_t deleted = 0;
  ASSERT_OK(chunks().Delete({TenantObject{a_, TestChunkId(0)}}, &deleted).status());
  const int64_t p1 = PackId("p1");
  std::vector<StoredChunk> moves;
  for (uint64_t n = 1; n < 4; ++n) {
    moves.push_back(
        StoredChunk{TestChunkId(n), 8 + 50 * (n - 1), 50, static_cast<uint32_t>(1000 + n), p1});
  }
  ASSERT_OK(chunks().MoveChunks(a_, "hot", "p3", 200, moves).status());
  ASSERT_OK_AND_ASSIGN(totals, chunks().Totals());
  EXPECT_EQ(totals.chunks, 4u);
  EXPECT_EQ(totals.stored_bytes, 3 * 50u + 100u);
  EXPECT_EQ(totals.unique_bytes, 1001u + 1002 + 1003 + 1000);
  EXPECT_EQ(totals.packs, 2u);  // p1 emptied and dropped, p3 added
}

TEST_F(ChunkStoreTest, UnknownPackIdsAnswerEmpty) {
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> none, chunks().GetPack(12345));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, chunks().PackChunkIds(12345));
  EXPECT_THAT(ids, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<ChunkRow> live, chunks().LiveChunksOfPack(12345));
  EXPECT_THAT(live, IsEmpty());
}

// Checkpoint deltas: a row names its base; a delta counts as held only while
// its whole chain is; ChainDepths counts the links; DeltaPage lists the
// deltas (for the collector, which keeps their bases).
TEST_F(ChunkStoreTest, ADeltaIsHeldOnlyWhileItsChainIs) {
  std::vector<StoredChunk> rows = Chunks(1, 3);
  rows[1].base_id = TestChunkId(1);  // 2 = delta of 1
  rows[2].base_id = TestChunkId(2);  // 3 = delta of 2
  ASSERT_OK(chunks().AddPack(a_, "hot", "p1", 1000, rows).status());
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, chunks().FindMissing(a_, Ids({1, 2, 3, 4})));
  EXPECT_THAT(missing, ElementsAre(3u));
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<int>> depths,
                       chunks().ChainDepths(a_, Ids({1, 2, 3, 4})));
  EXPECT_THAT(depths, ElementsAre(0, 1, 2, std::nullopt));
  // Another tenant holds none of them.
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(b_, Ids({1, 2, 3})));
  EXPECT_THAT(missing, ElementsAre(0u, 1u, 2u));

  ASSERT_OK_AND_ASSIGN(std::vector<ChunkRow> deltas, chunks().DeltaPage(0, "", 10));
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[0].id, TestChunkId(2));
  EXPECT_EQ(deltas[0].base_id, TestChunkId(1));
  EXPECT_EQ(deltas[1].base_id, TestChunkId(2));
  ASSERT_OK_AND_ASSIGN(deltas, chunks().DeltaPage(a_, TestChunkId(2), 10));
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].id, TestChunkId(3));

  // The whole chunk at the chain's root reported damaged: every delta on it
  // counts as missing too, so the next backup stores them again.
  ASSERT_OK(chunks().MarkDamaged(a_, Ids({1})).status());
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(a_, Ids({1, 2, 3})));
  EXPECT_THAT(missing, ElementsAre(0u, 1u, 2u));
  // A dependent stored again (whole) replaces the copy whose chain broke,
  // while the base is still damaged; the delta on it reads again.
  std::vector<StoredChunk> again = Chunks(2, 1);
  ASSERT_OK_AND_ASSIGN(uint64_t replaced, chunks().AddPack(a_, "hot", "p-again", 1000, again));
  EXPECT_EQ(replaced, 1u);
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(a_, Ids({1, 2, 3})));
  EXPECT_THAT(missing, ElementsAre(0u));
  ASSERT_OK_AND_ASSIGN(depths, chunks().ChainDepths(a_, Ids({2, 3})));
  EXPECT_THAT(depths, ElementsAre(0, 1));
  ASSERT_OK_AND_ASSIGN(std::vector<bool> has, chunks().HasRows(a_, Ids({1, 2, 9})));
  EXPECT_THAT(has, ElementsAre(true, true, false));
  // Stored again whole, the chain is readable again.
  ASSERT_OK(chunks().AddPack(a_, "hot", "p2", 1000, Chunks(1, 1)).status());
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(a_, Ids({1, 2, 3})));
  EXPECT_THAT(missing, IsEmpty());
  // Chunk 2 is whole now: chunk 1's pack quarantined leaves it alone; its
  // own pack quarantined makes it and the delta on it missing.
  ASSERT_OK(chunks().Quarantine(PackId("p2")));
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(a_, Ids({1, 2, 3})));
  EXPECT_THAT(missing, ElementsAre(0u));
  ASSERT_OK(chunks().Quarantine(PackId("p-again")));
  ASSERT_OK_AND_ASSIGN(missing, chunks().FindMissing(a_, Ids({2, 3})));
  EXPECT_THAT(missing, ElementsAre(0u, 1u));
}

}  // namespace
}  // namespace cairn

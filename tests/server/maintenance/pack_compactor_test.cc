// PackCompactor over a real catalog and local tier (wrapped for faults):
// the live chunks of sparse packs move into new packs that verify, the old
// objects go, restores read the same bytes; the target size splits the
// output; a damaged source pack is quarantined and left alone; each crash
// point leaves rows that name existing objects; an unknown tier is refused.
#include "server/maintenance/pack_compactor.h"

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/chunk_reader.h"
#include "server/maintenance/pack_verifier.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class PackCompactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("pack_compactor", CoreOptions(), [this](std::unique_ptr<Tier> local) {
      std::unique_ptr<FaultInjectionTier> wrapped = WrapWithFaults(std::move(local));
      faults_ = wrapped.get();
      return std::unique_ptr<Tier>(std::move(wrapped));
    });
    ASSERT_NE(repo_, nullptr);
    ASSERT_OK_AND_ASSIGN(tenant_, repo_->catalog->agents().TenantId("t1"));
  }

  ChunkStore& chunks() { return repo_->catalog->chunks(); }

  // A pack of chunks `ns` (sealed TestSealed(n, 100 + n)), durable and catalogued.
  PackRecord WritePack(const std::vector<uint64_t>& ns) {
    absl::StatusOr<std::unique_ptr<PackWriter>> writer = PackWriter::Create(repo_->tier);
    EXPECT_TRUE(writer.ok()) << writer.status();
    std::vector<StoredChunk> rows;
    for (uint64_t n : ns) {
      std::string id = TestChunkId(n);
      ChunkId raw;
      std::memcpy(raw.data(), id.data(), raw.size());
      absl::StatusOr<PackEntry> e = (*writer)->Add(raw, 1000 + n, TestSealed(n, 100 + n));
      EXPECT_TRUE(e.ok()) << e.status();
      rows.push_back(StoredChunk{id, e->offset, e->length, e->raw_size});
    }
    EXPECT_OK((*writer)->Commit());
    EXPECT_OK(
        chunks().AddPack(tenant_, "hot", (*writer)->name(), (*writer)->size(), rows).status());
    return Pack((*writer)->name());
  }
  PackRecord Pack(const std::string& name) {
    absl::StatusOr<std::vector<PackRecord>> packs = chunks().ListPacks();
    EXPECT_TRUE(packs.ok()) << packs.status();
    if (!packs.ok()) return PackRecord();
    for (const PackRecord& p : *packs) {
      if (p.name == name) return p;
    }
    ADD_FAILURE() << "no pack " << name;
    return PackRecord();
  }
  void Forget(const std::vector<uint64_t>& ns) {
    std::vector<TenantObject> doomed;
    for (uint64_t n : ns) doomed.push_back(TenantObject{tenant_, TestChunkId(n)});
    uint64_t deleted = 0;
    EXPECT_OK(chunks().Delete(doomed, &deleted).status());
  }
  // Every chunk of `ns` reads back with its original bytes; the packs holding them.
  std::vector<std::string> ExpectReadable(const std::vector<uint64_t>& ns) {
    ChunkReader reader(&chunks(), &repo_->core->tiers());
    std::vector<std::string> ids;
    std::map<std::string, uint64_t> number;
    for (uint64_t n : ns) {
      ids.push_back(TestChunkId(n));
      number[ids.back()] = n;
    }
    size_t seen = 0;
    EXPECT_OK(reader.Read(tenant_, ids, [&](absl::string_view id, absl::string_view sealed) {
      uint64_t n = number[std::string(id)];
      EXPECT_EQ(sealed, TestSealed(n, 100 + n)) << "chunk " << n;
      ++seen;
      return absl::OkStatus();
    }));
    EXPECT_EQ(seen, ns.size());
    absl::StatusOr<std::vector<std::optional<ChunkLocation>>> where =
        chunks().LocateMany(tenant_, ids);
    std::vector<std::string> packs;
    for (const auto& w : *where) {
      if (w.has_value() && (packs.empty() || packs.back() != w->pack_name)) {
        packs.push_back(w->pack_name);
      }
    }
    return packs;
  }
  std::vector<std::string> Objects() {
    absl::StatusOr<std::vector<std::string>> names = repo_->tier->List();
    EXPECT_TRUE(names.ok()) << names.status();
    return *names;
  }
  std::vector<std::string> CataloguedPacks() {
    absl::StatusOr<std::vector<PackRecord>> packs = chunks().ListPacks();
    EXPECT_TRUE(packs.ok()) << packs.status();
    std::vector<std::string> names;
    if (packs.ok()) {
      for (const PackRecord& p : *packs) names.push_back(p.name);
    }
    return names;
  }

  std::unique_ptr<TestRepo> repo_;
  FaultInjectionTier* faults_ = nullptr;
  int64_t tenant_ = 0;
};

TEST_F(PackCompactorTest, LiveChunksMoveIntoANewPackAndTheOldOnesGo) {
  PackRecord p1 = WritePack({0, 1, 2, 3});
  PackRecord p2 = WritePack({4, 5, 6, 7});
  Forget({1, 2, 5});
  PackCompactor compactor(&chunks(), &repo_->core->tiers(), 64 << 20, nullptr);
  CompactionCounts counts;
  ASSERT_OK(compactor.Compact("hot", tenant_, {p1, p2}, &counts));
  EXPECT_EQ(counts.packs_compacted, 2u);
  EXPECT_EQ(counts.packs_written, 1u);
  EXPECT_EQ(counts.packs_deleted, 2u);
  EXPECT_THAT(counts.problems, IsEmpty());

  std::vector<std::string> now = CataloguedPacks();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_THAT(Objects(), ElementsAre(now[0]));  // the old objects are gone
  ASSERT_OK_AND_ASSIGN(uint64_t new_size, repo_->tier->Size(now[0]));
  EXPECT_EQ(counts.bytes_freed,
            static_cast<int64_t>(p1.size + p2.size) - static_cast<int64_t>(new_size));
  EXPECT_THAT(ExpectReadable({0, 3, 4, 6, 7}), ElementsAre(now[0]));
  // The new pack stands on its own: its index lists exactly the live chunks.
  ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> index, ReadPackIndex(repo_->tier, now[0]));
  std::vector<std::string> indexed;
  for (const PackEntry& e : index) {
    indexed.emplace_back(reinterpret_cast<const char*>(e.id.data()), e.id.size());
  }
  EXPECT_THAT(indexed, UnorderedElementsAre(TestChunkId(0), TestChunkId(3), TestChunkId(4),
                                            TestChunkId(6), TestChunkId(7)));
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> record, chunks().GetPack(Pack(now[0]).id));
  EXPECT_EQ(record->entries, 5u);
  EXPECT_EQ(record->size, new_size);
}

TEST_F(PackCompactorTest, TheTargetSizeSplitsTheOutput) {
  PackRecord p1 = WritePack({0, 1});
  PackRecord p2 = WritePack({2, 3});
  PackRecord p3 = WritePack({4, 5});
  Forget({1, 3, 5});
  // A new pack is closed once it reaches 100 bytes: after each source here.
  PackCompactor compactor(&chunks(), &repo_->core->tiers(), 100, nullptr);
  CompactionCounts counts;
  ASSERT_OK(compactor.Compact("hot", tenant_, {p1, p2, p3}, &counts));
  EXPECT_EQ(counts.packs_compacted, 3u);
  EXPECT_EQ(counts.packs_written, 3u);
  EXPECT_EQ(counts.packs_deleted, 3u);
  EXPECT_EQ(ExpectReadable({0, 2, 4}).size(), 3u);
  EXPECT_EQ(Objects().size(), 3u);
}

TEST_F(PackCompactorTest, ADamagedSourcePackIsQuarantinedAndLeftAlone) {
  PackRecord bad = WritePack({0, 1, 2});
  PackRecord good = WritePack({3, 4});
  Forget({1, 4});
  // Flip a byte inside chunk 0's blob, on disk.
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> at, chunks().Locate(tenant_, TestChunkId(0)));
  std::string bytes;
  ASSERT_OK_AND_ASSIGN(uint64_t size, repo_->tier->Size(bad.name));
  ASSERT_OK(repo_->tier->Read(bad.name, 0, size, &bytes));
  bytes[at->offset + 10] ^= 0x40;
  ASSERT_OK(repo_->tier->Put(bad.name, bytes));

  PackCompactor compactor(&chunks(), &repo_->core->tiers(), 64 << 20, nullptr);
  CompactionCounts counts;
  ASSERT_OK(compactor.Compact("hot", tenant_, {bad, good}, &counts));
  ASSERT_EQ(counts.problems.size(), 1u);
  EXPECT_THAT(counts.problems[0], HasSubstr(bad.name));
  EXPECT_THAT(counts.problems[0], HasSubstr("quarantined"));
  EXPECT_EQ(counts.packs_compacted, 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> now, chunks().GetPack(bad.id));
  ASSERT_TRUE(now.has_value());
  EXPECT_TRUE(now->quarantined);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> left, chunks().PackChunkIds(bad.id));
  EXPECT_THAT(left, ElementsAre(TestChunkId(0), TestChunkId(2)));
  ASSERT_OK_AND_ASSIGN(uint64_t still, repo_->tier->Size(bad.name));  // the object stays
  EXPECT_EQ(still, size);
  EXPECT_EQ(ExpectReadable({3}).size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> gone, chunks().GetPack(good.id));
  EXPECT_FALSE(gone.has_value());
}

// Regression: compaction quarantined a source pack only on DataLoss; a pack
// missing from its tier made every collection fail at the same pack. A
// missing or cut-short pack is damage too (IsPackDamage).
TEST_F(PackCompactorTest, ASourcePackMissingFromItsTierIsQuarantinedToo) {
  PackRecord gone = WritePack({0, 1});
  PackRecord good = WritePack({2, 3});
  Forget({1, 3});
  ASSERT_OK(repo_->tier->Delete(gone.name));
  PackCompactor compactor(&chunks(), &repo_->core->tiers(), 64 << 20, nullptr);
  CompactionCounts counts;
  EXPECT_OK(compactor.Compact("hot", tenant_, {gone, good}, &counts));
  EXPECT_EQ(counts.problems.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> now, chunks().GetPack(gone.id));
  ASSERT_TRUE(now.has_value());
  EXPECT_TRUE(now->quarantined);
  EXPECT_EQ(counts.packs_compacted, 1u);
}

TEST_F(PackCompactorTest, EachCrashPointLeavesRowsNamingExistingObjects) {
  for (PackCompactor::Point stop :
       {PackCompactor::Point::kWritten, PackCompactor::Point::kRepointed,
        PackCompactor::Point::kOldDeleted}) {
    SCOPED_TRACE(static_cast<int>(stop));
    Forget({0, 1, 2, 3, 4, 5, 6, 7});
    for (const std::string& o : Objects()) ASSERT_OK(repo_->tier->Delete(o));
    PackRecord p1 = WritePack({0, 1, 2});
    PackRecord p2 = WritePack({3, 4, 5});
    Forget({1, 4});
    PackCompactor compactor(
        &chunks(), &repo_->core->tiers(), 64 << 20, [stop](PackCompactor::Point point) {
          return point == stop ? absl::AbortedError("crash here") : absl::OkStatus();
        });
    CompactionCounts counts;
    EXPECT_EQ(compactor.Compact("hot", tenant_, {p1, p2}, &counts).code(),
              absl::StatusCode::kAborted);
    // Whatever the catalog names exists, and every live chunk reads back.
    for (const std::string& name : CataloguedPacks()) {
      EXPECT_TRUE(repo_->tier->Size(name).ok()) << name;
    }
    std::vector<std::string> holding = ExpectReadable({0, 2, 3, 5});
    std::vector<std::string> objects = Objects();
    switch (stop) {
      case PackCompactor::Point::kWritten:  // the new object is an orphan
        EXPECT_THAT(holding, ElementsAre(p1.name, p2.name));
        EXPECT_EQ(objects.size(), 3u);
        break;
      case PackCompactor::Point::kRepointed:  // the old objects are orphans
        EXPECT_EQ(holding.size(), 1u);
        EXPECT_THAT(CataloguedPacks(), ElementsAre(holding[0]));
        EXPECT_EQ(objects.size(), 3u);
        break;
      case PackCompactor::Point::kOldDeleted:  // one old object left
        EXPECT_EQ(objects.size(), 2u);
        EXPECT_EQ(counts.packs_deleted, 1u);
        break;
    }
  }
}

TEST_F(PackCompactorTest, AFailedWriteKeepsTheOldPacks) {
  PackRecord p1 = WritePack({0, 1, 2});
  Forget({1});
  faults_->FailNth(TierOp::kCommit, 1);
  PackCompactor compactor(&chunks(), &repo_->core->tiers(), 64 << 20, nullptr);
  CompactionCounts counts;
  EXPECT_EQ(compactor.Compact("hot", tenant_, {p1}, &counts).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(CataloguedPacks(), ElementsAre(p1.name));
  EXPECT_THAT(Objects(), ElementsAre(p1.name));
  EXPECT_THAT(ExpectReadable({0, 2}), ElementsAre(p1.name));
}

TEST_F(PackCompactorTest, AnUnconfiguredTierIsUnavailable) {
  PackRecord p1 = WritePack({0, 1});
  PackCompactor compactor(&chunks(), &repo_->core->tiers(), 64 << 20, nullptr);
  CompactionCounts counts;
  EXPECT_EQ(compactor.Compact("archive", tenant_, {p1}, &counts).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(counts.packs_written, 0u);
  EXPECT_THAT(Objects(), ElementsAre(p1.name));
}

}  // namespace
}  // namespace cairn

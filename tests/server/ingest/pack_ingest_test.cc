// PackIngest on a real LocalTier (under a FaultInjectionTier) and a real
// catalog: chunks are catalogued only once their pack is durable, packs roll
// over at the target size and read back intact, hostile framing is refused,
// and full disks or crashes leave the catalog as it was.
#include "server/ingest/pack_ingest.h"

#include <map>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/maintenance/pack_verifier.h"
#include "tests/server/tiers/fault_injection_tier.h"
#include "server/tiers/local_tier.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint64_t kTarget = 1u << 20;
constexpr uint64_t kBigTarget = 64u << 20;

class PackIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("ingest");
    ASSERT_OK(MakeDirectories(dir_, 0750));
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_ + "/catalog.db"));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> local, OpenLocalTier("hot", dir_ + "/packs"));
    tier_ = WrapWithFaults(std::move(local));
    ASSERT_OK_AND_ASSIGN(tenant_, catalog_->agents().TenantId("t1"));
  }

  void TearDown() override {
    tier_.reset();
    catalog_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  // Adds chunks [first, first + count) of `size` sealed bytes; remembers them.
  absl::Status AddChunks(PackIngest& ingest, uint64_t first, uint64_t count, size_t size) {
    for (uint64_t n = first; n < first + count; ++n) {
      std::string id = TestChunkId(n);
      std::string sealed = TestSealed(n, size);
      absl::Status status = ingest.Add(id, static_cast<uint32_t>(size * 2), sealed);
      if (!status.ok()) return status;
      sent_[id] = std::move(sealed);
    }
    return absl::OkStatus();
  }

  std::vector<std::string> Ids(uint64_t first, uint64_t count) {
    std::vector<std::string> ids;
    for (uint64_t n = first; n < first + count; ++n) ids.push_back(TestChunkId(n));
    return ids;
  }

  size_t MissingCount(uint64_t first, uint64_t count) {
    absl::StatusOr<std::vector<uint32_t>> missing =
        catalog_->chunks().FindMissing(tenant_, Ids(first, count));
    EXPECT_TRUE(missing.ok()) << missing.status();
    return missing.ok() ? missing->size() : 0;
  }

  std::vector<std::string> Listing() {
    absl::StatusOr<std::vector<std::string>> names = tier_->List();
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? *names : std::vector<std::string>();
  }

  // Reads every listed pack back through its index alone, checks each blob,
  // that it is what was sent, and that the catalog places it there. Returns
  // the number of blobs seen.
  size_t VerifyAllPacks() {
    size_t blobs = 0;
    for (const std::string& pack : Listing()) {
      absl::StatusOr<std::vector<PackEntry>> entries = ReadPackIndex(tier_.get(), pack);
      EXPECT_TRUE(entries.ok()) << pack << ": " << entries.status();
      if (!entries.ok()) continue;
      for (const PackEntry& e : *entries) {
        std::string blob;
        EXPECT_OK(tier_->Read(pack, e.offset, e.length, &blob));
        EXPECT_OK(VerifyBlob(e, blob));
        std::string id(reinterpret_cast<const char*>(e.id.data()), e.id.size());
        auto it = sent_.find(id);
        EXPECT_TRUE(it != sent_.end());
        if (it != sent_.end()) {
          EXPECT_EQ(blob, it->second);
        }
        absl::StatusOr<std::optional<ChunkLocation>> loc = catalog_->chunks().Locate(tenant_, id);
        EXPECT_TRUE(loc.ok() && loc->has_value());
        if (loc.ok() && loc->has_value()) {
          EXPECT_EQ((*loc)->pack_name, pack);
          EXPECT_EQ((*loc)->offset, e.offset);
          EXPECT_EQ((*loc)->length, e.length);
          EXPECT_EQ((*loc)->raw_size, e.raw_size);
        }
        ++blobs;
      }
    }
    return blobs;
  }

  CatalogTotals Totals() {
    absl::StatusOr<CatalogTotals> totals = catalog_->Totals();
    EXPECT_TRUE(totals.ok()) << totals.status();
    return totals.ok() ? *totals : CatalogTotals();
  }

  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<FaultInjectionTier> tier_;
  int64_t tenant_ = 0;
  std::map<std::string, std::string> sent_;
};

TEST_F(PackIngestTest, ChunksAreVisibleOnlyAfterFinish) {
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kBigTarget);
  ASSERT_OK(AddChunks(ingest, 0, 20, 1000));
  EXPECT_EQ(MissingCount(0, 20), 20u);
  EXPECT_THAT(Listing(), IsEmpty());
  EXPECT_EQ(Totals().packs, 0u);

  ASSERT_OK(ingest.Finish());
  EXPECT_EQ(MissingCount(0, 20), 0u);
  EXPECT_THAT(Listing(), SizeIs(1));
  EXPECT_EQ(ingest.stats().chunks_stored, 20u);
  EXPECT_EQ(ingest.stats().packs, 1u);
  EXPECT_EQ(VerifyAllPacks(), 20u);
  // Finishing again has nothing left to do.
  ASSERT_OK(ingest.Finish());
  EXPECT_THAT(Listing(), SizeIs(1));
}

TEST_F(PackIngestTest, AnEmptyIngestWritesNoPack) {
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  ASSERT_OK(ingest.Finish());
  EXPECT_THAT(Listing(), IsEmpty());
  EXPECT_EQ(Totals().packs, 0u);
}

TEST_F(PackIngestTest, DuplicatesAreStoredOnce) {
  PackIngest first(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  ASSERT_OK(AddChunks(first, 0, 5, 100));
  ASSERT_OK(AddChunks(first, 2, 2, 100));  // again, within the open pack
  ASSERT_OK(first.Finish());
  EXPECT_EQ(first.stats().chunks_stored, 5u);
  EXPECT_EQ(first.stats().chunks_already_present, 2u);

  // A later stream re-sending stored chunks catalogues nothing new.
  PackIngest second(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  ASSERT_OK(AddChunks(second, 3, 4, 100));
  ASSERT_OK(second.Finish());
  EXPECT_EQ(second.stats().chunks_stored, 2u);
  EXPECT_EQ(second.stats().chunks_already_present, 2u);
  EXPECT_EQ(Totals().chunks, 7u);
}

TEST_F(PackIngestTest, RollsOverAtTheTargetAndEveryPackReadsBack) {
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  // 40 chunks of 100 KiB: a pack seals every 11 chunks (when it reaches 1 MiB).
  ASSERT_OK(AddChunks(ingest, 0, 11, 100 << 10));
  // The first pack reached its target: durable and catalogued before Finish.
  EXPECT_THAT(Listing(), SizeIs(1));
  EXPECT_EQ(MissingCount(0, 11), 0u);
  ASSERT_OK(AddChunks(ingest, 11, 29, 100 << 10));
  EXPECT_THAT(Listing(), SizeIs(3));
  EXPECT_EQ(MissingCount(0, 40), 7u);  // the open pack's chunks wait for Finish
  ASSERT_OK(ingest.Finish());
  EXPECT_THAT(Listing(), SizeIs(4));
  EXPECT_EQ(MissingCount(0, 40), 0u);
  EXPECT_EQ(ingest.stats().packs, 4u);
  EXPECT_EQ(VerifyAllPacks(), 40u);
  for (const std::string& pack : Listing()) {
    ASSERT_OK_AND_ASSIGN(uint64_t size, tier_->Size(pack));
    EXPECT_LT(size, kTarget + (100 << 10) + 4096) << pack;
  }
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems, catalog_->IntegrityCheck());
  EXPECT_THAT(problems, IsEmpty());
}

TEST_F(PackIngestTest, TinyChunksRollOverAtTheEntryLimit) {
  // A pack holds at most kMaxPackEntries blobs. A stream of tiny sealed chunks
  // (the server cannot tell them from real ones) must start a new pack there
  // rather than overrun the index long before the byte target.
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kBigTarget);
  const uint64_t count = kMaxPackEntries + 10;
  // Ascending ids keep the catalog's inserts cheap (appends to its B-tree);
  // hashed ids would make this test a slow benchmark of SQLite's page cache.
  std::string id(kChunkIdBytes, '\0');
  for (uint64_t n = 0; n < count; ++n) {
    for (int b = 0; b < 8; ++b) id[kChunkIdBytes - 1 - b] = static_cast<char>(n >> (8 * b));
    ASSERT_OK(ingest.Add(id, 1, std::string(1, static_cast<char>(n))));
  }
  ASSERT_OK(ingest.Finish());
  EXPECT_EQ(ingest.stats().chunks_stored, count);
  std::vector<std::string> packs = Listing();
  ASSERT_THAT(packs, SizeIs(2));
  size_t entries = 0;
  for (const std::string& pack : packs) {
    ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> index, ReadPackIndex(tier_.get(), pack));
    EXPECT_LE(index.size(), kMaxPackEntries);
    entries += index.size();
  }
  EXPECT_EQ(entries, count);
  EXPECT_EQ(Totals().chunks, count);
}

struct HostileAdd {
  const char* label;
  size_t id_size;
  uint32_t raw_size;
  size_t sealed_size;
};

class PackIngestHostileTest : public PackIngestTest,
                              public ::testing::WithParamInterface<HostileAdd> {};

TEST_P(PackIngestHostileTest, IsRefusedAndTheIngestStaysFailed) {
  const HostileAdd& bad = GetParam();
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  ASSERT_OK(AddChunks(ingest, 0, 3, 500));

  std::string id = TestChunkId(1000) + TestChunkId(1001);
  id.resize(bad.id_size);
  absl::Status status = ingest.Add(id, bad.raw_size, std::string(bad.sealed_size, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;

  // Nothing more is accepted, not even good chunks, and nothing is stored.
  absl::Status later = AddChunks(ingest, 10, 1, 500);
  EXPECT_EQ(later.code(), absl::StatusCode::kInvalidArgument) << later;
  absl::Status finish = ingest.Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kInvalidArgument) << finish;
  EXPECT_EQ(finish.message(), status.message());
  EXPECT_EQ(MissingCount(0, 3), 3u);
  EXPECT_EQ(Totals().packs, 0u);
  EXPECT_THAT(Listing(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Framing, PackIngestHostileTest,
    ::testing::Values(HostileAdd{"id31", 31, 100, 100}, HostileAdd{"id33", 33, 100, 100},
                      HostileAdd{"id0", 0, 100, 100},
                      HostileAdd{"raw_over_max", 32, kMaxChunkBytes + 1, 100},
                      HostileAdd{"raw_max_u32", 32, 0xffffffffu, 100},
                      HostileAdd{"sealed_empty", 32, 100, 0},
                      HostileAdd{"sealed_over_max", 32, 100, kMaxSealedChunkBytes + 1}),
    [](const ::testing::TestParamInfo<HostileAdd>& info) { return info.param.label; });

TEST_F(PackIngestTest, LargestLegalChunkIsAccepted) {
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  std::string sealed = TestSealed(7, kMaxSealedChunkBytes);
  ASSERT_OK(ingest.Add(TestChunkId(7), kMaxChunkBytes, sealed));
  sent_[TestChunkId(7)] = sealed;
  ASSERT_OK(ingest.Finish());
  EXPECT_EQ(VerifyAllPacks(), 1u);
}

TEST_F(PackIngestTest, DestroyedWithoutFinishLeavesNothing) {
  {
    PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kBigTarget);
    ASSERT_OK(AddChunks(ingest, 0, 30, 4000));
  }
  EXPECT_THAT(Listing(), IsEmpty());
  // Not even a temporary file stays behind in the tier's directory.
  EXPECT_THAT(RawDirListing(dir_ + "/packs"), IsEmpty());
  EXPECT_EQ(MissingCount(0, 30), 30u);
  CatalogTotals totals = Totals();
  EXPECT_EQ(totals.chunks, 0u);
  EXPECT_EQ(totals.packs, 0u);
}

TEST_F(PackIngestTest, FullDiskDuringAddFailsAndKeepsEarlierPacks) {
  {
    PackIngest earlier(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
    ASSERT_OK(AddChunks(earlier, 0, 10, 2000));
    ASSERT_OK(earlier.Finish());
  }
  const std::vector<std::string> before_listing = Listing();
  const CatalogTotals before = Totals();

  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  // Append 1 is the pack header, 2 and 3 the first chunks; the 4th hits ENOSPC.
  tier_->FailFromNth(TierOp::kAppend, 4);
  ASSERT_OK(AddChunks(ingest, 100, 2, 2000));
  absl::Status status = AddChunks(ingest, 102, 5, 2000);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  absl::Status finish = ingest.Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kResourceExhausted) << finish;

  tier_->ClearFaults();
  EXPECT_EQ(Listing(), before_listing);
  CatalogTotals after = Totals();
  EXPECT_EQ(after.chunks, before.chunks);
  EXPECT_EQ(after.packs, before.packs);
  EXPECT_EQ(MissingCount(100, 7), 7u);
  EXPECT_EQ(VerifyAllPacks(), 10u);
}

TEST_F(PackIngestTest, FullDiskWhileSealingFailsFinish) {
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kBigTarget);
  ASSERT_OK(AddChunks(ingest, 0, 5, 2000));
  tier_->FailFromNth(TierOp::kAppend, 1);  // the index and footer
  absl::Status finish = ingest.Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kResourceExhausted) << finish;
  tier_->ClearFaults();
  // The ingest stays failed even with space back.
  EXPECT_EQ(ingest.Finish().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(MissingCount(0, 5), 5u);
  EXPECT_EQ(Totals().packs, 0u);
  EXPECT_THAT(Listing(), IsEmpty());
}

TEST_F(PackIngestTest, FullDiskOnCommitFailsFinish) {
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kBigTarget);
  ASSERT_OK(AddChunks(ingest, 0, 5, 2000));
  tier_->FailNth(TierOp::kCommit, 1);
  absl::Status finish = ingest.Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kResourceExhausted) << finish;
  EXPECT_EQ(MissingCount(0, 5), 5u);
  EXPECT_EQ(Totals().packs, 0u);
  EXPECT_THAT(Listing(), IsEmpty());
}

TEST_F(PackIngestTest, FullDiskAtARolloverFailsTheAddThatSealed) {
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  tier_->FailNth(TierOp::kCommit, 1);
  absl::Status status = AddChunks(ingest, 0, 11, 100 << 10);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(MissingCount(0, 11), 11u);
  EXPECT_EQ(Totals().packs, 0u);
  EXPECT_THAT(Listing(), IsEmpty());
}

TEST_F(PackIngestTest, CrashWhileCommittingCataloguesNothing) {
  {
    PackIngest earlier(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
    ASSERT_OK(AddChunks(earlier, 0, 3, 2000));
    ASSERT_OK(earlier.Finish());
  }
  const std::vector<std::string> before_listing = Listing();
  PackIngest ingest(&catalog_->chunks(), tier_.get(), tenant_, kTarget);
  ASSERT_OK(AddChunks(ingest, 10, 5, 2000));
  tier_->CrashNthCommit(1);
  absl::Status finish = ingest.Finish();
  EXPECT_FALSE(finish.ok());
  EXPECT_THAT(finish.message(), HasSubstr("crash"));
  EXPECT_EQ(MissingCount(10, 5), 5u);
  EXPECT_EQ(Totals().packs, 1u);
  EXPECT_EQ(Listing(), before_listing);
  EXPECT_EQ(VerifyAllPacks(), 3u);
}

}  // namespace
}  // namespace cairn

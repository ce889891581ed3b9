// The pack format end to end on a real tier: write a pack through a TierWriter,
// then find and verify every blob with ranged Tier::Read calls only, as the
// server's restore and verify paths do.
#include <random>
#include <string>
#include <vector>

#include "common/pack_format.h"
#include "gtest/gtest.h"
#include "tests/server/tiers/fault_injection_tier.h"
#include "server/tiers/local_tier.h"
#include "tests/server/tiers/tier_test_dir.h"

namespace cairn {
namespace {

struct WrittenBlob {
  ChunkId id;
  std::string blob;
};

std::vector<WrittenBlob> WritePack(Tier& tier, const std::string& object, int count,
                                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<WrittenBlob> blobs;
  std::unique_ptr<TierWriter> writer = *tier.Create(object);
  PackBuilder builder;
  EXPECT_TRUE(writer->Append(PackBuilder::Header()).ok());
  for (int i = 0; i < count; ++i) {
    WrittenBlob b;
    for (uint8_t& byte : b.id) byte = static_cast<uint8_t>(rng());
    b.blob.resize(1 + rng() % 20000);
    for (char& c : b.blob) c = static_cast<char>(rng());
    EXPECT_TRUE(builder.Add(b.id, static_cast<uint32_t>(b.blob.size()), b.blob).ok());
    EXPECT_TRUE(writer->Append(b.blob).ok());
    EXPECT_EQ(writer->size(), builder.size());
    blobs.push_back(std::move(b));
  }
  EXPECT_TRUE(writer->Append(builder.Finish()).ok());
  EXPECT_TRUE(writer->Commit().ok());
  return blobs;
}

absl::StatusOr<std::vector<PackEntry>> ReadIndex(Tier& tier, const std::string& object) {
  absl::StatusOr<uint64_t> size = tier.Size(object);
  if (!size.ok()) return size.status();
  std::string header;
  if (absl::Status s = tier.Read(object, 0, kPackHeaderSize, &header); !s.ok()) return s;
  if (absl::Status s = VerifyPackHeader(header); !s.ok()) return s;
  std::string footer_bytes;
  if (absl::Status s = tier.Read(object, *size - kPackFooterSize, kPackFooterSize, &footer_bytes);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<PackFooter> footer = DecodePackFooter(footer_bytes, *size);
  if (!footer.ok()) return footer.status();
  std::string index;
  if (absl::Status s = tier.Read(object, footer->index_offset,
                                 *size - kPackFooterSize - footer->index_offset, &index);
      !s.ok()) {
    return s;
  }
  return DecodePackIndex(index, *footer, footer_bytes);
}

TEST(PackOnTierTest, HundredRandomBlobsRoundTrip) {
  const std::string dir = FreshTestDir("pack_on_tier");
  std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
  std::vector<WrittenBlob> written = WritePack(*tier, "pack-0001", 100, 42);

  absl::StatusOr<std::vector<PackEntry>> entries = ReadIndex(*tier, "pack-0001");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), written.size());
  for (size_t i = 0; i < entries->size(); ++i) {
    const PackEntry& e = (*entries)[i];
    EXPECT_EQ(e.id, written[i].id);
    std::string blob;
    ASSERT_TRUE(tier->Read("pack-0001", e.offset, e.length, &blob).ok());
    EXPECT_TRUE(VerifyBlob(e, blob).ok());
    EXPECT_EQ(blob, written[i].blob);
  }
}

TEST(PackOnTierTest, CorruptReadIsCaughtByVerifyBlob) {
  const std::string dir = FreshTestDir("pack_on_tier");
  std::unique_ptr<FaultInjectionTier> tier = WrapWithFaults(*OpenLocalTier("hot", dir));
  WritePack(*tier, "pack", 5, 7);
  absl::StatusOr<std::vector<PackEntry>> entries = ReadIndex(*tier, "pack");
  ASSERT_TRUE(entries.ok()) << entries.status();
  tier->CorruptNthRead(1);
  const PackEntry& e = (*entries)[3];
  std::string blob;
  ASSERT_TRUE(tier->Read("pack", e.offset, e.length, &blob).ok());
  EXPECT_TRUE(absl::IsDataLoss(VerifyBlob(e, blob)));
  // A flipped bit in the index read is caught by the index checksum.
  tier->CorruptNthRead(3);  // header, footer, then the index
  EXPECT_TRUE(absl::IsDataLoss(ReadIndex(*tier, "pack").status()));
}

TEST(PackOnTierTest, TruncatedPackOnDiskIsRefused) {
  const std::string dir = FreshTestDir("pack_on_tier");
  std::unique_ptr<Tier> tier = *OpenLocalTier("hot", dir);
  WritePack(*tier, "pack", 3, 9);
  std::string whole;
  ASSERT_TRUE(tier->Read("pack", 0, *tier->Size("pack"), &whole).ok());
  for (size_t len = 0; len < whole.size(); len += 7) {
    ASSERT_TRUE(tier->Put("cut", absl::string_view(whole).substr(0, len)).ok());
    absl::StatusOr<std::vector<PackEntry>> entries = ReadIndex(*tier, "cut");
    EXPECT_FALSE(entries.ok()) << "length " << len;
  }
}

}  // namespace
}  // namespace cairn

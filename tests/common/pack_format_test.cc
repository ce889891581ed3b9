#include "common/pack_format.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

ChunkId IdFor(int i) {
  ChunkId id{};
  id.fill(static_cast<uint8_t>(0xa0 + i));
  id[0] = static_cast<uint8_t>(i);
  return id;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

struct BuiltPack {
  std::string bytes;
  std::vector<PackEntry> entries;
  std::vector<std::string> blobs;
};

BuiltPack BuildPack(int blobs, uint64_t seed = 1,
                    PackChecksumKind kind = PackChecksumKind::kXxh3_128) {
  std::mt19937_64 rng(seed);
  BuiltPack pack;
  PackBuilder builder(kind);
  pack.bytes = PackBuilder::Header();
  for (int i = 0; i < blobs; ++i) {
    std::string blob = RandomBytes(rng, 1 + rng() % 300);
    PackEntry e = *builder.Add(IdFor(i), static_cast<uint32_t>(blob.size() + 5), blob);
    EXPECT_EQ(e.offset, pack.bytes.size());
    pack.bytes += blob;
    EXPECT_EQ(builder.size(), pack.bytes.size());
    pack.entries.push_back(e);
    pack.blobs.push_back(blob);
  }
  EXPECT_EQ(builder.entry_count(), static_cast<size_t>(blobs));
  pack.bytes += builder.Finish();
  return pack;
}

// Decodes a whole in-memory pack the way a reader of a file would.
absl::StatusOr<std::vector<PackEntry>> DecodeAll(absl::string_view file) {
  if (file.size() < kPackFooterSize) {
    // Too short to even hold a footer: pass what there is as "the last bytes".
    return DecodePackFooter(file, file.size()).status();
  }
  absl::string_view footer_bytes = file.substr(file.size() - kPackFooterSize);
  absl::StatusOr<PackFooter> footer = DecodePackFooter(footer_bytes, file.size());
  if (!footer.ok()) return footer.status();
  absl::string_view index =
      file.substr(footer->index_offset, file.size() - kPackFooterSize - footer->index_offset);
  return DecodePackIndex(index, *footer, footer_bytes);
}

// An independent encoder of the documented layout, used to craft packs whose
// index checksum is right but whose entries are hostile.
void PutLe(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

std::string CraftTail(const std::vector<PackEntry>& entries, uint64_t index_offset,
                      uint32_t entry_count) {
  std::string index;
  for (const PackEntry& e : entries) {
    index.append(reinterpret_cast<const char*>(e.id.data()), 32);
    PutLe(e.offset, 8, &index);
    PutLe(e.length, 4, &index);
    PutLe(e.raw_size, 4, &index);
    index.append(reinterpret_cast<const char*>(e.checksum.data()), 16);
  }
  PackChecksum sum = PackChecksumOf(PackChecksumKind::kXxh3_128, index);
  std::string tail = index;
  PutLe(index_offset, 8, &tail);
  PutLe(entry_count, 4, &tail);
  tail.append(reinterpret_cast<const char*>(sum.data()), 16);
  tail += "CAIRNPXE";
  return tail;
}

// A pack of `body` bytes of blob area with the given entries, consistently signed.
std::string CraftPack(const std::vector<PackEntry>& entries, size_t body) {
  std::string file = PackBuilder::Header() + std::string(body, 'x');
  file += CraftTail(entries, file.size(), static_cast<uint32_t>(entries.size()));
  return file;
}

PackEntry Entry(int i, uint64_t offset, uint32_t length) {
  return PackEntry{IdFor(i), offset, length, length, PackChecksum{}};
}

// The streaming checksum the pack writer computes in its one pass equals the
// checksum of the whole blob, for both kinds and any split into pieces.
TEST(PackFormatTest, AChecksumOfPiecesIsTheChecksumOfTheWhole) {
  std::string blob(300000, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 131 + (i >> 9));
  for (PackChecksumKind kind : {PackChecksumKind::kXxh3_128, PackChecksumKind::kBlake2b_128}) {
    const PackChecksum whole = PackChecksumOf(kind, blob);
    for (size_t step : {size_t{1} << 20, size_t{16384}, size_t{4093}, size_t{1}}) {
      if (step == 1 && kind == PackChecksumKind::kBlake2b_128) continue;  // slow, adds nothing
      PackChecksummer sum(kind);
      absl::string_view rest = blob;
      while (!rest.empty()) {
        sum.Update(rest.substr(0, step));
        rest.remove_prefix(std::min(step, rest.size()));
      }
      sum.Update("");
      EXPECT_EQ(sum.Finish(), whole) << static_cast<int>(kind) << " step " << step;
    }
    PackChecksummer other(kind);
    other.Update(blob.substr(1));
    EXPECT_NE(other.Finish(), whole);
  }
}

// Add in two steps records what Add records, and CanAdd refuses what Add
// refuses without recording anything.
TEST(PackFormatTest, CanAddThenAddCheckedIsAdd) {
  ChunkId id{};
  id[0] = 7;
  PackBuilder one, two;
  ASSERT_TRUE(one.Add(id, 10, "sealed bytes").ok());
  ASSERT_TRUE(two.CanAdd(id, 10, 12, std::nullopt).ok());
  two.AddChecked(id, 10, 12, PackChecksumOf(two.kind(), "sealed bytes"), std::nullopt);
  EXPECT_EQ(one.Finish(), two.Finish());
  EXPECT_FALSE(two.CanAdd(id, 10, 0, std::nullopt).ok());
  EXPECT_FALSE(two.CanAdd(id, 10, 12, ChunkId{}).ok());
  EXPECT_EQ(two.entry_count(), 1u);
}

TEST(PackFormatTest, LayoutIsAsDocumented) {
  EXPECT_EQ(kPackIndexEntrySize, 64u);
  EXPECT_EQ(kPackFooterSize, 36u);
  EXPECT_EQ(PackBuilder::Header(), "CAIRNPK1");
  BuiltPack pack = BuildPack(2);
  EXPECT_EQ(pack.bytes.substr(pack.bytes.size() - 8), "CAIRNPXE");
  EXPECT_EQ(pack.bytes.size(),
            pack.entries.back().offset + pack.blobs.back().size() + 2 * 64 + kPackFooterSize);
  // The crafted encoder agrees byte for byte with the builder.
  std::string head = pack.bytes.substr(0, pack.entries.back().offset + pack.blobs.back().size());
  EXPECT_EQ(head + CraftTail(pack.entries, head.size(), 2), pack.bytes);
}

TEST(PackFormatTest, RoundTrip) {
  BuiltPack pack = BuildPack(50);
  absl::StatusOr<std::vector<PackEntry>> entries = DecodeAll(pack.bytes);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 50u);
  EXPECT_TRUE(VerifyPackHeader(pack.bytes.substr(0, kPackHeaderSize)).ok());
  for (size_t i = 0; i < entries->size(); ++i) {
    const PackEntry& e = (*entries)[i];
    EXPECT_EQ(e.id, pack.entries[i].id);
    EXPECT_EQ(e.offset, pack.entries[i].offset);
    EXPECT_EQ(e.length, pack.entries[i].length);
    EXPECT_EQ(e.raw_size, pack.blobs[i].size() + 5);
    EXPECT_EQ(e.checksum, pack.entries[i].checksum);
    EXPECT_TRUE(VerifyBlob(e, pack.bytes.substr(e.offset, e.length)).ok());
  }
}

TEST(PackFormatTest, EmptyPackIsValid) {
  BuiltPack pack = BuildPack(0);
  EXPECT_EQ(pack.bytes.size(), kPackHeaderSize + kPackFooterSize);
  absl::StatusOr<std::vector<PackEntry>> entries = DecodeAll(pack.bytes);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
}

TEST(PackFormatTest, RefusesFileShorterThanHeaderAndFooter) {
  BuiltPack pack = BuildPack(0);
  std::string footer = pack.bytes.substr(kPackHeaderSize);
  absl::Status status = DecodePackFooter(footer, kPackHeaderSize + kPackFooterSize - 1).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("too short"));
  EXPECT_TRUE(absl::IsDataLoss(DecodePackFooter("", 0).status()));
}

TEST(PackFormatTest, RefusesWrongFooterBufferSize) {
  BuiltPack pack = BuildPack(1);
  EXPECT_TRUE(absl::IsInvalidArgument(
      DecodePackFooter(pack.bytes.substr(pack.bytes.size() - 35), pack.bytes.size()).status()));
}

TEST(PackFormatTest, RefusesBadMagic) {
  BuiltPack pack = BuildPack(3);
  pack.bytes.back() = 'X';
  absl::Status status = DecodeAll(pack.bytes).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("magic"));
  EXPECT_TRUE(absl::IsDataLoss(VerifyPackHeader("CAIRNPK2")));
  EXPECT_TRUE(absl::IsDataLoss(VerifyPackHeader("")));
}

TEST(PackFormatTest, RefusesIndexOffsetBeyondFile) {
  std::string file = PackBuilder::Header() + std::string(100, 'x');
  file += CraftTail({}, 1u << 30, 0);
  absl::Status status = DecodeAll(file).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("index offset"));
  file = PackBuilder::Header() + CraftTail({}, ~uint64_t{0}, 0);
  EXPECT_TRUE(absl::IsDataLoss(DecodeAll(file).status()));
}

TEST(PackFormatTest, RefusesIndexOffsetInsideHeader) {
  // One entry's worth of index bytes, but the footer says the index starts at 4.
  std::string file = PackBuilder::Header() + std::string(60, 'x');
  file += CraftTail({}, 4, 1);
  absl::Status status = DecodeAll(file).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
}

TEST(PackFormatTest, RefusesInflatedEntryCountBeforeAllocating) {
  std::string file = PackBuilder::Header() + CraftTail({}, kPackHeaderSize, 0xFFFFFFFFu);
  absl::Status status =
      DecodePackFooter(file.substr(file.size() - kPackFooterSize), file.size()).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("entries"));
  // A count within the limit but not matching the index length.
  file = PackBuilder::Header() + CraftTail({}, kPackHeaderSize, 1000);
  EXPECT_TRUE(absl::IsDataLoss(DecodeAll(file).status()));
  // Even a footer with absurd numbers and a huge claimed file size.
  EXPECT_TRUE(absl::IsDataLoss(
      DecodePackFooter(CraftTail({}, 8, kMaxPackEntries + 1), uint64_t{1} << 62).status()));
}

TEST(PackFormatTest, RefusesZeroLengthEntry) {
  absl::Status status = DecodeAll(CraftPack({Entry(1, 8, 0)}, 10)).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("length is 0"));
}

TEST(PackFormatTest, RefusesOversizedEntry) {
  EXPECT_TRUE(absl::IsDataLoss(DecodeAll(CraftPack({Entry(1, 8, kMaxBlobSize + 1)}, 10)).status()));
  PackEntry raw = Entry(1, 8, 10);
  raw.raw_size = kMaxBlobSize + 1;
  EXPECT_TRUE(absl::IsDataLoss(DecodeAll(CraftPack({raw}, 10)).status()));
}

TEST(PackFormatTest, RefusesEntryPastIndexOffset) {
  absl::Status status = DecodeAll(CraftPack({Entry(1, 8, 5), Entry(2, 13, 6)}, 10)).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("runs past the index"));
  // An offset so large that offset + length would wrap around.
  EXPECT_TRUE(absl::IsDataLoss(DecodeAll(CraftPack({Entry(1, ~uint64_t{0} - 2, 5)}, 10)).status()));
  // Exactly filling the blob area is fine.
  EXPECT_TRUE(DecodeAll(CraftPack({Entry(1, 8, 5), Entry(2, 13, 5)}, 10)).ok());
}

TEST(PackFormatTest, RefusesEntryInsideHeader) {
  absl::Status status = DecodeAll(CraftPack({Entry(1, 4, 5)}, 10)).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("header"));
}

TEST(PackFormatTest, RefusesOverlappingAndUnorderedEntries) {
  absl::Status status = DecodeAll(CraftPack({Entry(1, 8, 5), Entry(2, 12, 2)}, 10)).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("overlaps"));
  EXPECT_TRUE(
      absl::IsDataLoss(DecodeAll(CraftPack({Entry(1, 12, 2), Entry(2, 8, 2)}, 10)).status()));
  // Gaps between blobs are tolerated.
  EXPECT_TRUE(DecodeAll(CraftPack({Entry(1, 8, 2), Entry(2, 12, 2)}, 10)).ok());
}

TEST(PackFormatTest, DetectsEveryBitFlipInIndexAndFooter) {
  BuiltPack pack = BuildPack(3);
  const size_t tail_start = pack.bytes.size() - 3 * kPackIndexEntrySize - kPackFooterSize;
  for (size_t byte = tail_start; byte < pack.bytes.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = pack.bytes;
      flipped[byte] ^= static_cast<char>(1 << bit);
      absl::Status status = DecodeAll(flipped).status();
      EXPECT_TRUE(absl::IsDataLoss(status)) << "byte " << byte << " bit " << bit << ": " << status;
    }
  }
}

TEST(PackFormatTest, IndexChecksumMismatchIsNamed) {
  BuiltPack pack = BuildPack(3);
  pack.bytes[pack.bytes.size() - kPackFooterSize - 1] ^= 0x10;
  absl::Status status = DecodeAll(pack.bytes).status();
  EXPECT_THAT(status.message(), HasSubstr("checksum"));
}

TEST(PackFormatTest, VerifyBlobNamesTheChunk) {
  BuiltPack pack = BuildPack(5);
  const PackEntry& e = pack.entries[2];
  std::string blob = pack.blobs[2];
  blob[blob.size() / 2] ^= 0x04;
  absl::Status status = VerifyBlob(e, blob);
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  const std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(e.id.data()), e.id.size()));
  EXPECT_THAT(status.message(), HasSubstr(hex));
  EXPECT_TRUE(absl::IsDataLoss(VerifyBlob(e, pack.blobs[2].substr(1))));
  EXPECT_TRUE(absl::IsDataLoss(VerifyBlob(e, "")));
}

TEST(PackFormatTest, EveryTruncationIsRefused) {
  BuiltPack pack = BuildPack(4);
  for (size_t len = 0; len < pack.bytes.size(); ++len) {
    absl::Status status = DecodeAll(absl::string_view(pack.bytes).substr(0, len)).status();
    EXPECT_FALSE(status.ok()) << "truncated to " << len;
  }
}

TEST(PackFormatTest, GarbageIsRefused) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string garbage = RandomBytes(rng, rng() % 400);
    if (garbage.size() >= 8 && rng() % 2) {
      std::memcpy(garbage.data() + garbage.size() - 8, rng() % 2 ? "CAIRNPXE" : "CAIRNPKE", 8);
    }
    EXPECT_FALSE(DecodeAll(garbage).ok());
  }
}

TEST(PackFormatTest, MismatchedDecodeArgumentsAreCallerErrors) {
  BuiltPack pack = BuildPack(2);
  std::string footer_bytes = pack.bytes.substr(pack.bytes.size() - kPackFooterSize);
  absl::StatusOr<PackFooter> footer = DecodePackFooter(footer_bytes, pack.bytes.size());
  ASSERT_TRUE(footer.ok());
  std::string index = pack.bytes.substr(footer->index_offset, 2 * kPackIndexEntrySize);
  EXPECT_TRUE(DecodePackIndex(index, *footer, footer_bytes).ok());
  EXPECT_TRUE(
      absl::IsInvalidArgument(DecodePackIndex(index.substr(1), *footer, footer_bytes).status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(DecodePackIndex(index, *footer, footer_bytes.substr(1)).status()));
  PackFooter wrong = *footer;
  wrong.index_offset += 1;
  EXPECT_TRUE(absl::IsInvalidArgument(DecodePackIndex(index, wrong, footer_bytes).status()));
}

TEST(PackFormatTest, BuilderRefusesBlobsNoReaderWouldAccept) {
  PackBuilder builder;
  EXPECT_TRUE(absl::IsInvalidArgument(builder.Add(IdFor(1), 0, "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      builder.Add(IdFor(1), 1, std::string(kMaxBlobSize + 1, 'x')).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(builder.Add(IdFor(1), kMaxBlobSize + 1, "x").status()));
  EXPECT_EQ(builder.entry_count(), 0u);
  EXPECT_EQ(builder.size(), kPackHeaderSize);
  ASSERT_TRUE(builder.Add(IdFor(1), 1, "x").ok());
  EXPECT_EQ(builder.entry_count(), 1u);
}

// A pack holding checkpoint deltas records each blob's base in its index
// ("CAIRNPXD" footer, 96-byte entries); whole blobs in it have none. Packs
// without deltas keep the 64-byte entries every older reader knows.
TEST(PackFormatTest, BasesOfDeltasRoundTripInTheWiderIndex) {
  PackBuilder builder;
  std::string bytes = PackBuilder::Header();
  const std::string blobs[] = {"whole", "delta-of-0", "another whole"};
  const std::optional<ChunkId> bases[] = {std::nullopt, IdFor(0), std::nullopt};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(builder.Add(IdFor(i), 100, blobs[i], bases[i]).ok());
    bytes += blobs[i];
  }
  const std::string tail = builder.Finish();
  EXPECT_EQ(tail.substr(tail.size() - 8), "CAIRNPXD");
  EXPECT_EQ(tail.size(), 3 * kPackDeltaIndexEntrySize + kPackFooterSize);
  bytes += tail;
  absl::StatusOr<std::vector<PackEntry>> entries = DecodeAll(bytes);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*entries)[i].id, IdFor(i));
    EXPECT_EQ((*entries)[i].base, bases[i]) << i;
    EXPECT_TRUE(VerifyBlob((*entries)[i], blobs[i]).ok());
  }

  // The footer's magic is not covered by the index checksum; swapping it
  // makes the index the wrong size for its entries: refused.
  std::string swapped = bytes;
  swapped.replace(swapped.size() - 8, 8, "CAIRNPXE");
  EXPECT_EQ(DecodeAll(swapped).status().code(), absl::StatusCode::kDataLoss);
  BuiltPack plain = BuildPack(3);
  std::string widened = plain.bytes;
  widened.replace(widened.size() - 8, 8, "CAIRNPXD");
  EXPECT_EQ(DecodeAll(widened).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(plain.bytes.substr(plain.bytes.size() - 8), "CAIRNPXE");
  // An all-zero base id means "none" in the index, so it is never written.
  PackBuilder zero;
  EXPECT_EQ(zero.Add(IdFor(1), 1, "x", ChunkId{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Known answers, from the reference tools (`xxhsum -H2`, `b2sum -l 128`), so
// a checksum that changed by accident (a different seed, byte order or
// library) is caught: every pack on disk depends on these bytes.
TEST(PackFormatTest, ChecksumsMatchTheReferenceTools) {
  auto hex = [](const PackChecksum& sum) {
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(sum.data()), sum.size()));
  };
  EXPECT_EQ(hex(PackChecksumOf(PackChecksumKind::kXxh3_128, "")),
            "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(hex(PackChecksumOf(PackChecksumKind::kXxh3_128, "cairn\n")),
            "06705dff6f98b89d18d448c9afb0a15d");
  EXPECT_EQ(hex(PackChecksumOf(PackChecksumKind::kBlake2b_128, "")),
            "cae66941d9efbd404e4d88758ea67670");
  EXPECT_EQ(hex(PackChecksumOf(PackChecksumKind::kBlake2b_128, "cairn\n")),
            "56980469457eed0b346f42031fc2301f");
}

// Packs written before XXH3 (BLAKE2b-128, "CAIRNPKE"/"CAIRNPKD") are still
// read and verified; a footer that names the other checksum than the one its
// sums were made with is refused, never trusted.
TEST(PackFormatTest, OlderBlake2bPacksAreStillReadAndVerified) {
  BuiltPack old = BuildPack(20, 3, PackChecksumKind::kBlake2b_128);
  EXPECT_EQ(old.bytes.substr(old.bytes.size() - 8), "CAIRNPKE");
  absl::StatusOr<std::vector<PackEntry>> entries = DecodeAll(old.bytes);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 20u);
  for (size_t i = 0; i < entries->size(); ++i) {
    const PackEntry& e = (*entries)[i];
    EXPECT_EQ(e.checksum_kind, PackChecksumKind::kBlake2b_128);
    EXPECT_EQ(e.checksum, old.entries[i].checksum);
    EXPECT_TRUE(VerifyBlob(e, old.blobs[i]).ok());
    std::string flipped = old.blobs[i];
    flipped[flipped.size() / 2] ^= 0x01;
    EXPECT_TRUE(absl::IsDataLoss(VerifyBlob(e, flipped)));
  }
  // The same blobs under XXH3 have other sums: the kind is really used.
  BuiltPack now = BuildPack(20, 3);
  EXPECT_NE(now.entries[0].checksum, old.entries[0].checksum);

  std::string relabelled = old.bytes;
  relabelled.replace(relabelled.size() - 8, 8, "CAIRNPXE");
  EXPECT_EQ(DecodeAll(relabelled).status().code(), absl::StatusCode::kDataLoss);
  std::string backdated = now.bytes;
  backdated.replace(backdated.size() - 8, 8, "CAIRNPKE");
  EXPECT_EQ(DecodeAll(backdated).status().code(), absl::StatusCode::kDataLoss);
}

// A blob given in pieces (gRPC's slices) gets the checksum of the whole,
// under both kinds, wherever it is cut and with empty pieces among them.
TEST(PackFormatTest, ABlobInPiecesHasTheChecksumOfTheWhole) {
  std::mt19937_64 rng(11);
  for (PackChecksumKind kind : {PackChecksumKind::kXxh3_128, PackChecksumKind::kBlake2b_128}) {
    for (int i = 0; i < 50; ++i) {
      const std::string blob = RandomBytes(rng, 1 + rng() % 100000);
      std::vector<absl::string_view> pieces;
      absl::string_view rest = blob;
      while (!rest.empty()) {
        const size_t n = std::min<size_t>(rest.size(), rng() % 4 == 0 ? 0 : rng() % 9000);
        pieces.push_back(rest.substr(0, n));
        rest.remove_prefix(n);
      }
      EXPECT_EQ(PackChecksumOf(kind, pieces), PackChecksumOf(kind, blob));
      PackBuilder builder(kind);
      absl::StatusOr<PackEntry> e = builder.Add(IdFor(1), 10, pieces);
      ASSERT_TRUE(e.ok()) << e.status();
      EXPECT_EQ(e->length, blob.size());
      EXPECT_TRUE(VerifyBlob(*e, blob).ok());
    }
  }
  PackBuilder builder;
  EXPECT_TRUE(absl::IsInvalidArgument(
      builder.Add(IdFor(1), 1, absl::Span<const absl::string_view>()).status()));
  const std::string half(kMaxBlobSize / 2 + 1, 'x');
  const absl::string_view two[] = {half, half};
  EXPECT_TRUE(absl::IsInvalidArgument(builder.Add(IdFor(1), 1, two).status()));
  EXPECT_EQ(builder.entry_count(), 0u);
}

}  // namespace
}  // namespace cairn

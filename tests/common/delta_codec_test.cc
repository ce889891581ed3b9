// Checkpoint deltas (common/delta_codec.h): a training step's tensor stored
// against the previous step's decodes byte for byte and is smaller than the
// tensor stored whole; malformed frames, wrong bases and nested deltas are
// refused with clear errors, and Decompress never decodes a delta on its own.
#include "common/delta_codec.h"

#include <string>

#include "absl/strings/match.h"
#include "common/varint.h"
#include "gtest/gtest.h"
#include "tests/tensor_data.h"

namespace cairn {
namespace {

constexpr size_t kMax = 16 << 20;

ChunkId IdOf(uint8_t b) {
  ChunkId id;
  id.fill(b);
  return id;
}

const DataHint kBf16{DataHint::Class::kFloats, 2, 0};

TEST(DeltaCodecTest, ATrainingStepRoundTripsAndIsSmallerThanTheWholeTensor) {
  const std::string before = Bf16Normal(1 << 20, 1);  // 2 MiB
  const std::string after = Bf16Step(before, 2);
  ASSERT_NE(before, after);
  std::string delta, whole;
  ASSERT_TRUE(CompressDelta(CodecChoice{}, after, IdOf(7), before, &delta, kBf16));
  Compress(CodecChoice{}, after, &whole, kBf16);
  EXPECT_EQ(static_cast<uint8_t>(delta[0]), static_cast<uint8_t>(Codec::kDelta));
  // Signs, exponents and high mantissa bits rarely move in one step.
  EXPECT_LT(delta.size() * 10, whole.size() * 9)
      << "delta " << delta.size() << " vs whole " << whole.size();

  absl::StatusOr<std::optional<ChunkId>> base = DeltaBaseOf(delta);
  ASSERT_TRUE(base.ok()) << base.status();
  ASSERT_TRUE(base->has_value());
  EXPECT_EQ(**base, IdOf(7));
  std::string raw;
  ASSERT_TRUE(DecompressDelta(delta, before, kMax, &raw).ok());
  EXPECT_EQ(raw, after);
}

TEST(DeltaCodecTest, IdenticalBytesGiveAnAllZeroDeltaThatCompressesToAlmostNothing) {
  const std::string data = Bf16Normal(64 << 10, 3);
  std::string delta, raw;
  ASSERT_TRUE(CompressDelta(CodecChoice{}, data, IdOf(1), data, &delta, kBf16));
  EXPECT_LT(delta.size(), 1024u);
  ASSERT_TRUE(DecompressDelta(delta, data, kMax, &raw).ok());
  EXPECT_EQ(raw, data);
}

// Element-wise differences: FP32 and odd lengths (a trailing partial
// element), chunks that start mid-element (bytes, XOR), and values that wrap
// around (a sign flip) all round-trip.
TEST(DeltaCodecTest, EveryWidthAndAlignmentRoundTrips) {
  std::string before = Bf16Normal(40001, 8);  // 80002 bytes
  std::string after = Bf16Step(before, 9, 0.05f);
  after[0] = static_cast<char>(0xff);  // wraps
  after[1] = static_cast<char>(0xff);
  const DataHint hints[] = {
      {DataHint::Class::kFloats, 2, 0},   {DataHint::Class::kFloats, 4, 0},
      {DataHint::Class::kIntegers, 4, 8}, {DataHint::Class::kFloats, 4, 2},  // mid-element: bytes
      {DataHint::Class::kText, 0, 0},     {}};
  for (size_t cut : {size_t{80002}, size_t{80001}, size_t{3}, size_t{1}}) {
    for (const DataHint& hint : hints) {
      SCOPED_TRACE(testing::Message()
                   << cut << " bytes, width " << hint.width << " at " << hint.offset);
      const std::string b = before.substr(0, cut), a = after.substr(0, cut);
      std::string delta, raw;
      ASSERT_TRUE(CompressDelta(CodecChoice{}, a, IdOf(6), b, &delta, hint));
      ASSERT_TRUE(DecompressDelta(delta, b, kMax, &raw).ok());
      EXPECT_EQ(raw, a);
    }
  }
}

TEST(DeltaCodecTest, EveryFixedCodecWorksInside) {
  const std::string before = Bf16Normal(32 << 10, 4);
  const std::string after = Bf16Step(before, 5);
  for (const char* spec : {"none", "lz4", "zstd", "zstd:9", "auto"}) {
    SCOPED_TRACE(spec);
    absl::StatusOr<CodecChoice> choice = ParseCodec(spec);
    ASSERT_TRUE(choice.ok());
    std::string delta, raw;
    ASSERT_TRUE(CompressDelta(*choice, after, IdOf(2), before, &delta));
    ASSERT_TRUE(DecompressDelta(delta, before, kMax, &raw).ok());
    EXPECT_EQ(raw, after);
  }
}

TEST(DeltaCodecTest, OtherFramesNameNoBaseAndDecompressRefusesADelta) {
  std::string whole;
  Compress(CodecChoice{}, "plain bytes", &whole);
  absl::StatusOr<std::optional<ChunkId>> base = DeltaBaseOf(whole);
  ASSERT_TRUE(base.ok());
  EXPECT_FALSE(base->has_value());
  base = DeltaBaseOf("");
  ASSERT_TRUE(base.ok());
  EXPECT_FALSE(base->has_value());

  std::string delta, raw;
  ASSERT_TRUE(CompressDelta(CodecChoice{}, "0123456789", IdOf(3), "abcdefghij", &delta));
  // A base of another size gives no frame at all.
  std::string none;
  EXPECT_FALSE(CompressDelta(CodecChoice{}, "0123456789", IdOf(3), "abc", &none));
  EXPECT_TRUE(none.empty());
  absl::Status refused = Decompress(delta, kMax, &raw);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.message(), "base")) << refused;
  EXPECT_EQ(DecompressDelta(whole, "x", kMax, &raw).code(), absl::StatusCode::kInvalidArgument);
}

TEST(DeltaCodecTest, MalformedDeltaFramesAreRefused) {
  const std::string before(4096, 'a');
  const std::string after(4096, 'b');
  std::string delta, raw;
  ASSERT_TRUE(CompressDelta(CodecChoice{}, after, IdOf(4), before, &delta));

  // Cut anywhere: refused, nothing returned.
  for (size_t n = 1; n < delta.size(); n += std::max<size_t>(1, delta.size() / 40)) {
    SCOPED_TRACE(n);
    absl::Status s = DecompressDelta(delta.substr(0, n), before, kMax, &raw);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(raw.empty());
  }
  EXPECT_EQ(DeltaBaseOf(delta.substr(0, 10)).status().code(), absl::StatusCode::kDataLoss);
  // A base of another length than the frame declares.
  EXPECT_EQ(DecompressDelta(delta, before.substr(1), kMax, &raw).code(),
            absl::StatusCode::kDataLoss);
  // Over the caller's limit: refused before anything is decoded.
  EXPECT_EQ(DecompressDelta(delta, before, 100, &raw).code(), absl::StatusCode::kInvalidArgument);
  // Trailing bytes after the inner frame.
  EXPECT_FALSE(DecompressDelta(delta + "x", before, kMax, &raw).ok());
  // A delta inside a delta: chains link chunks, never frames.
  std::string nested;
  nested.push_back(static_cast<char>(Codec::kDelta));
  AppendVarint(after.size(), &nested);
  nested += std::string(ChunkIdBytes(IdOf(5)));
  nested.push_back('\1');
  nested += delta;
  absl::Status s = DecompressDelta(nested, before, kMax, &raw);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_TRUE(raw.empty());
  // A width byte other than 1, 2 or 4.
  std::string bad_width = delta;
  bad_width[1 + 2 + 32] = '\3';  // codec byte, 2-byte varint of 4096, base id
  absl::Status width = DecompressDelta(bad_width, before, kMax, &raw);
  EXPECT_EQ(width.code(), absl::StatusCode::kDataLoss) << width;
  EXPECT_TRUE(absl::StrContains(width.message(), "width")) << width;
  // The wrong base decodes to other bytes (the caller's id check catches it).
  ASSERT_TRUE(DecompressDelta(delta, std::string(4096, 'c'), kMax, &raw).ok());
  EXPECT_NE(raw, after);
}

}  // namespace
}  // namespace cairn

#include "common/plane_codec.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "common/codec.h"
#include "gtest/gtest.h"
#include "tests/tensor_data.h"

namespace cairn {
namespace {

std::string Bf16(size_t count, uint32_t seed) { return Bf16Normal(count, seed); }

std::string Fp32(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1e-4f);
  std::string out(4 * count, '\0');
  for (size_t i = 0; i < count; ++i) {
    float f = dist(rng);
    std::memcpy(&out[4 * i], &f, 4);
  }
  return out;
}

std::string Roundtrip(const std::string& raw, const PlaneLayout& layout) {
  std::string payload;
  EXPECT_TRUE(EncodePlanes(raw, layout, &payload));
  std::string back;
  absl::Status status = DecodePlanes(payload, raw.size(), &back);
  EXPECT_TRUE(status.ok()) << status;
  return back;
}

TEST(PlaneCodecTest, RoundTripsEveryWidthHeadAndTail) {
  const std::string bf16 = Bf16(50000, 1);
  const std::string fp32 = Fp32(25000, 2);
  for (int width : {2, 4}) {
    const std::string& data = width == 2 ? bf16 : fp32;
    for (int head = 0; head < width; ++head) {
      for (size_t trim : {0, 1, 3}) {
        for (bool floats : {false, true}) {
          std::string raw = data.substr(0, data.size() - trim);
          EXPECT_EQ(Roundtrip(raw, {.width = width, .head = head, .floats = floats}), raw)
              << "width " << width << " head " << head << " trim " << trim;
        }
      }
    }
  }
}

TEST(PlaneCodecTest, CompressesFloatsBeyondZstd) {
  const std::string raw = Bf16(1 << 20, 3);
  std::string planes;
  ASSERT_TRUE(EncodePlanes(raw, {.width = 2, .floats = true}, &planes));
  std::string zstd;
  Compress(CodecChoice{.automatic = false, .codec = Codec::kZstd, .level = 1}, raw, &zstd);
  EXPECT_LT(planes.size(), zstd.size());
  EXPECT_GT(static_cast<double>(raw.size()) / planes.size(), 1.4);
}

TEST(PlaneCodecTest, UsesZstdForRunsAndRawForNoise) {
  // u32 values below 256: three of four planes are all zero.
  std::string raw(4 * 100000, '\0');
  std::mt19937 rng(4);
  for (size_t i = 0; i < raw.size(); i += 4) raw[i] = static_cast<char>(rng());
  std::string payload;
  ASSERT_TRUE(EncodePlanes(raw, {.width = 4}, &payload));
  EXPECT_LT(payload.size(), raw.size() / 4 + 200);
  std::string back;
  ASSERT_TRUE(DecodePlanes(payload, raw.size(), &back).ok());
  EXPECT_EQ(back, raw);
  // Pure noise: planes save nothing, and say so.
  std::string noise(100000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  payload.clear();
  EXPECT_FALSE(EncodePlanes(noise, {.width = 2}, &payload));
  EXPECT_TRUE(payload.empty());
}

TEST(PlaneCodecTest, RefusesLayoutsAndInputsItCannotCode) {
  std::string out;
  const std::string raw = Bf16(1000, 5);
  EXPECT_FALSE(EncodePlanes(raw, {.width = 3}, &out));
  EXPECT_FALSE(EncodePlanes(raw, {.width = 2, .head = 2}, &out));
  EXPECT_FALSE(EncodePlanes(raw.substr(0, 20), {.width = 2}, &out));  // too few elements
  EXPECT_TRUE(out.empty());
}

TEST(PlaneCodecTest, EstimateSeesWidth) {
  const std::string fp32 = Fp32(50000, 6);
  EXPECT_LT(EstimatePlaneBits(fp32, {.width = 4, .floats = true}),
            EstimatePlaneBits(fp32, {.width = 2, .floats = true}));
  std::string noise(65536, '\0');
  std::mt19937 rng(7);
  for (char& c : noise) c = static_cast<char>(rng());
  EXPECT_EQ(EstimatePlaneBits(noise, {.width = 2}), 8.0);
}

// Hostile payloads: every truncation, every single-bit flip and lying fields
// give an error or (a flipped raw byte) the declared length, never a crash.
TEST(PlaneCodecTest, DecoderSurvivesTruncationAndBitFlips) {
  std::string raw = Bf16(3000, 8);
  raw += "xyz";
  std::string payload;
  ASSERT_TRUE(EncodePlanes(raw, {.width = 2, .head = 1, .floats = true}, &payload));
  std::string back;
  for (size_t n = 0; n < payload.size(); ++n) {
    EXPECT_FALSE(DecodePlanes(payload.substr(0, n), raw.size(), &back).ok()) << n;
    EXPECT_TRUE(back.empty());
  }
  for (size_t byte = 0; byte < payload.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = payload;
      bad[byte] ^= static_cast<char>(1 << bit);
      absl::Status status = DecodePlanes(bad, raw.size(), &back);
      if (status.ok()) {
        EXPECT_EQ(back.size(), raw.size());
      } else {
        EXPECT_TRUE(back.empty());
      }
    }
  }
  EXPECT_FALSE(DecodePlanes(payload + "!", raw.size(), &back).ok());
  EXPECT_FALSE(DecodePlanes(payload, raw.size() + 1, &back).ok());
  EXPECT_FALSE(DecodePlanes(payload, raw.size() - 2, &back).ok());
}

TEST(PlaneCodecTest, DecoderRejectsLyingHeaders) {
  std::string raw = Fp32(1000, 9);
  std::string payload;
  ASSERT_TRUE(EncodePlanes(raw, {.width = 4, .floats = true}, &payload));
  std::string back;
  for (char width : {0, 1, 3, 8, 255}) {
    std::string bad = payload;
    bad[0] = width;
    EXPECT_FALSE(DecodePlanes(bad, raw.size(), &back).ok());
  }
  std::string bad = payload;
  bad[1] = 2;  // unknown flag
  EXPECT_FALSE(DecodePlanes(bad, raw.size(), &back).ok());
  bad = payload;
  bad[2] = 4;  // head >= width
  EXPECT_FALSE(DecodePlanes(bad, raw.size(), &back).ok());
  bad = payload;
  bad[3] = 7;  // unknown plane coder
  EXPECT_FALSE(DecodePlanes(bad, raw.size(), &back).ok());
  // A raw plane whose size varint claims far more than is there.
  std::string lying = std::string("\x02\x00\x00", 3) + "\x00\xff\xff\xff\x0f";
  EXPECT_FALSE(DecodePlanes(lying, 1 << 20, &back).ok());
  EXPECT_FALSE(DecodePlanes("", 0, &back).ok());
  // rANS forms the encoder never writes (RLE, PACK, STRIPE, order 1, no
  // size) are refused before htscodecs sees them.
  std::string coded;
  ASSERT_TRUE(EncodePlanes(raw, {.width = 4, .floats = true}, &coded));
  size_t rans_plane = std::string::npos;
  for (size_t at = 3; at + 1 < coded.size();) {  // walk coder | varint size | bytes
    const char coder = coded[at];
    size_t pos = at + 1;
    uint64_t size = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = static_cast<uint8_t>(coded[pos++]);
      size |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    if (coder == static_cast<char>(PlaneCoder::kRans)) {
      rans_plane = pos;
      break;
    }
    at = pos + size;
  }
  ASSERT_NE(rans_plane, std::string::npos) << "FP32 has an exponent plane worth coding";
  for (uint8_t form : {0x01, 0x08, 0x10, 0x40, 0x80}) {
    std::string bad_form = coded;
    bad_form[rans_plane] = static_cast<char>(form);
    absl::Status status = DecodePlanes(bad_form, raw.size(), &back);
    EXPECT_FALSE(status.ok()) << static_cast<int>(form);
    EXPECT_TRUE(absl::StrContains(status.message(), "form")) << status;
  }
}

TEST(PlaneCodecTest, CodecFrameCarriesPlanesAndHintsPickThem) {
  const std::string raw = Bf16(1 << 19, 10);
  std::string framed;
  Compress(CodecChoice{}, raw, &framed, {.kind = DataHint::Class::kFloats, .width = 2});
  ASSERT_FALSE(framed.empty());
  EXPECT_EQ(static_cast<Codec>(framed[0]), Codec::kPlanes);
  std::string back;
  ASSERT_TRUE(Decompress(framed, 16 << 20, &back).ok());
  EXPECT_EQ(back, raw);
  // Metadata readers refuse plane frames outright.
  absl::Status refused = Decompress(framed, 16 << 20, &back, Frames::kNoPlanes);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_TRUE(back.empty());
  // Without a width the sample picks it.
  framed.clear();
  Compress(CodecChoice{}, raw, &framed, {.kind = DataHint::Class::kFloats});
  EXPECT_EQ(static_cast<Codec>(framed[0]), Codec::kPlanes);
  ASSERT_TRUE(Decompress(framed, 16 << 20, &back).ok());
  EXPECT_EQ(back, raw);
  // Data known to be compressed is stored without trying.
  framed.clear();
  Compress(CodecChoice{}, std::string(1 << 16, 'a'), &framed,
           {.kind = DataHint::Class::kCompressed});
  EXPECT_EQ(static_cast<Codec>(framed[0]), Codec::kNone);
  // A fixed codec ignores the hint.
  framed.clear();
  Compress(CodecChoice{.automatic = false, .codec = Codec::kZstd}, raw, &framed,
           {.kind = DataHint::Class::kFloats, .width = 2});
  EXPECT_EQ(static_cast<Codec>(framed[0]), Codec::kZstd);
}

TEST(PlaneCodecTest, IntegerHintPicksWhicheverWins) {
  // Small integers in u32: planes win by far over zstd.
  std::string ids(4 * 200000, '\0');
  std::mt19937 rng(11);
  std::geometric_distribution<uint32_t> zipfish(0.001);
  for (size_t i = 0; i < ids.size(); i += 4) {
    uint32_t v = zipfish(rng) % 128000;
    std::memcpy(&ids[i], &v, 4);
  }
  std::string framed;
  Compress(CodecChoice{}, ids, &framed, {.kind = DataHint::Class::kIntegers});
  EXPECT_EQ(static_cast<Codec>(framed[0]), Codec::kPlanes);
  std::string back;
  ASSERT_TRUE(Decompress(framed, 16 << 20, &back).ok());
  EXPECT_EQ(back, ids);
  // Repetitive text labelled as integers: zstd keeps the context planes lose.
  std::string text;
  while (text.size() < 300000) text += "step 100 loss 0.25 lr 3e-4\n";
  framed.clear();
  Compress(CodecChoice{}, text, &framed, {.kind = DataHint::Class::kIntegers});
  EXPECT_EQ(static_cast<Codec>(framed[0]), Codec::kZstd);
}

}  // namespace
}  // namespace cairn

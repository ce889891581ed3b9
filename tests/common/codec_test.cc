#include "common/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

constexpr size_t kMaxRaw = 16 << 20;

std::string RandomData(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t state = seed;
  for (size_t i = 0; i < size; i += 8) {
    uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    z ^= z >> 31;
    std::memcpy(&out[i], &z, std::min<size_t>(8, size - i));
  }
  return out;
}

// Compressible but not trivial: words from a small vocabulary.
std::string TextData(size_t size) {
  static const char* kWords[] = {"step ", "loss ", "0.1234 ", "lr ", "3e-4 ", "\n", "rank ", "7 "};
  std::string out;
  uint64_t x = 1;
  while (out.size() < size) {
    x = x * 6364136223846793005 + 1442695040888963407;
    out += kWords[x >> 61];
  }
  out.resize(size);
  return out;
}

CodecChoice Fixed(Codec codec, int level = 0) {
  return CodecChoice{.automatic = false, .codec = codec, .level = level};
}

std::string Frame(const CodecChoice& choice, const std::string& raw) {
  std::string framed;
  Compress(choice, raw, &framed);
  return framed;
}

std::string Header(Codec codec, uint64_t length) {
  std::string out(1, static_cast<char>(codec));
  while (length >= 0x80) {
    out.push_back(static_cast<char>((length & 0x7f) | 0x80));
    length >>= 7;
  }
  out.push_back(static_cast<char>(length));
  return out;
}

std::string Lz4Block(const std::string& raw) {
  std::string out(LZ4_compressBound(static_cast<int>(raw.size())), '\0');
  int n = LZ4_compress_default(raw.data(), out.data(), static_cast<int>(raw.size()),
                               static_cast<int>(out.size()));
  out.resize(n);
  return out;
}

std::string ZstdFrame(const std::string& raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 1);
  out.resize(n);
  return out;
}

void ExpectRejected(const std::string& framed, size_t max_raw, absl::StatusCode code,
                    const std::string& why) {
  std::string raw = "previous contents";
  absl::Status status = Decompress(framed, max_raw, &raw);
  EXPECT_EQ(status.code(), code) << why << ": " << status;
  EXPECT_TRUE(raw.empty()) << why;
  EXPECT_FALSE(status.message().empty());
}

TEST(ParseCodecTest, AcceptsTheDocumentedSpecs) {
  EXPECT_TRUE(ParseCodec("auto")->automatic);
  for (auto [spec, codec, level] :
       std::vector<std::tuple<std::string, Codec, int>>{{"none", Codec::kNone, 0},
                                                        {"lz4", Codec::kLz4, 0},
                                                        {"zstd", Codec::kZstd, 0},
                                                        {"zstd:1", Codec::kZstd, 1},
                                                        {"zstd:19", Codec::kZstd, 19}}) {
    absl::StatusOr<CodecChoice> c = ParseCodec(spec);
    ASSERT_TRUE(c.ok()) << spec << ": " << c.status();
    EXPECT_FALSE(c->automatic);
    EXPECT_EQ(c->codec, codec);
    EXPECT_EQ(c->level, level);
    EXPECT_EQ(CodecName(*c), spec);
  }
  EXPECT_EQ(CodecName(CodecChoice{}), "auto");
}

TEST(ParseCodecTest, RefusesOthersClearly) {
  for (const char* spec : {"", "LZ4", "gzip", "zstd:", "zstd:0", "zstd:20", "zstd:-1", "zstd:+3",
                           "zstd: 3", "zstd:3x", "zstd:99999999999", "lz4:1", "auto "}) {
    absl::StatusOr<CodecChoice> c = ParseCodec(spec);
    ASSERT_FALSE(c.ok()) << spec;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("zstd:N"), std::string::npos) << c.status();
  }
}

TEST(CodecTest, RoundTripsEveryCodec) {
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"empty", ""},
      {"one byte", "x"},
      {"random 1 MiB", RandomData(1 << 20, 1)},
      {"zeros 4 MiB", std::string(4 << 20, '\0')},
      {"text 300 KiB", TextData(300 << 10)},
  };
  const std::vector<CodecChoice> choices = {CodecChoice{},          Fixed(Codec::kNone),
                                            Fixed(Codec::kLz4),     Fixed(Codec::kZstd),
                                            Fixed(Codec::kZstd, 1), Fixed(Codec::kZstd, 19)};
  for (const auto& [name, input] : inputs) {
    for (const CodecChoice& choice : choices) {
      std::string framed = "prefix";
      Compress(choice, input, &framed);
      ASSERT_EQ(framed.substr(0, 6), "prefix");  // appends
      std::string raw;
      absl::Status status = Decompress(absl::string_view(framed).substr(6), input.size(), &raw);
      ASSERT_TRUE(status.ok()) << name << " " << CodecName(choice) << ": " << status;
      EXPECT_TRUE(raw == input) << name << " " << CodecName(choice);
    }
  }
}

TEST(CodecTest, CompressesWhatCompresses) {
  const std::string zeros(4 << 20, '\0');
  for (const CodecChoice& choice : {CodecChoice{}, Fixed(Codec::kLz4), Fixed(Codec::kZstd)}) {
    std::string framed = Frame(choice, zeros);
    EXPECT_LT(framed.size(), zeros.size() / 100) << CodecName(choice);
    EXPECT_NE(framed[0], static_cast<char>(Codec::kNone));
  }
  EXPECT_EQ(Frame(Fixed(Codec::kLz4), zeros)[0], static_cast<char>(Codec::kLz4));
  EXPECT_EQ(Frame(Fixed(Codec::kZstd), zeros)[0], static_cast<char>(Codec::kZstd));
}

TEST(CodecTest, IncompressibleDataIsStored) {
  for (size_t size : {size_t{100}, size_t{100 << 10}, size_t{1 << 20}}) {
    const std::string random = RandomData(size, 2);
    for (const CodecChoice& choice : {CodecChoice{}, Fixed(Codec::kLz4), Fixed(Codec::kZstd)}) {
      std::string framed = Frame(choice, random);
      EXPECT_EQ(framed[0], static_cast<char>(Codec::kNone)) << CodecName(choice) << " " << size;
      EXPECT_EQ(framed.size(), Header(Codec::kNone, size).size() + size);
    }
  }
  // Empty and one-byte inputs cannot shrink.
  EXPECT_EQ(Frame(Fixed(Codec::kZstd), ""), Header(Codec::kNone, 0));
  EXPECT_EQ(Frame(Fixed(Codec::kLz4), "x"), Header(Codec::kNone, 1) + "x");
}

TEST(CodecTest, AutomaticStoresMostlyRandomChunkRaw) {
  // A 4 MiB chunk that is random except for a compressible first 64 KiB: the
  // sample from the middle decides.
  std::string data = RandomData(4 << 20, 3);
  std::memset(data.data(), 0, 64 << 10);
  EXPECT_EQ(Frame(CodecChoice{}, data)[0], static_cast<char>(Codec::kNone));
}

// A text hint with a level (bundles of small files) compresses harder than
// zstd-1, round-trips, and leaves the thread's context as it was: the next
// plain frame is the same bytes as before.
TEST(CodecTest, ATextHintsLevelCompressesHarderAndRoundTrips) {
  const std::string text = TextData(1 << 20);
  const std::string plain_before = Frame(CodecChoice{}, text);
  std::string hinted;
  Compress(CodecChoice{}, text, &hinted, DataHint{.kind = DataHint::Class::kText, .level = 9});
  std::string one;
  Compress(CodecChoice{}, text, &one, DataHint{.kind = DataHint::Class::kText});
  EXPECT_EQ(hinted[0], static_cast<char>(Codec::kZstd));
  EXPECT_LT(hinted.size(), one.size());
  std::string raw;
  ASSERT_TRUE(Decompress(hinted, kMaxRaw, &raw).ok());
  EXPECT_EQ(raw, text);
  EXPECT_EQ(Frame(CodecChoice{}, text), plain_before);
  // Random bytes under the same hint are stored raw.
  std::string random;
  Compress(CodecChoice{}, RandomData(100 << 10, 5), &random,
           DataHint{.kind = DataHint::Class::kText, .level = 9});
  EXPECT_EQ(random[0], static_cast<char>(Codec::kNone));
}

TEST(CodecTest, FrameHeaderIsCodecThenVarint) {
  const std::string raw(300, 'a');
  std::string framed = Frame(Fixed(Codec::kNone), raw);
  EXPECT_EQ(framed, Header(Codec::kNone, 300) + raw);
  EXPECT_EQ(framed.substr(0, 3), std::string("\x00\xac\x02", 3));
}

TEST(DecompressTest, RejectsEmptyFrame) {
  ExpectRejected("", kMaxRaw, absl::StatusCode::kInvalidArgument, "empty");
}

TEST(DecompressTest, RejectsUnknownCodec) {
  for (int codec : {5, 7, 0x80, 0xff}) {
    std::string framed = Frame(Fixed(Codec::kNone), "hello");
    framed[0] = static_cast<char>(codec);
    ExpectRejected(framed, kMaxRaw, absl::StatusCode::kInvalidArgument, "codec byte");
    std::string raw;
    EXPECT_THAT(Decompress(framed, kMaxRaw, &raw).message(), HasSubstr("unknown codec byte"));
  }
  // Byte 4 is a checkpoint delta: refused here, naming where it decodes.
  std::string framed = Frame(Fixed(Codec::kNone), "hello");
  framed[0] = static_cast<char>(Codec::kDelta);
  ExpectRejected(framed, kMaxRaw, absl::StatusCode::kInvalidArgument, "delta");
  std::string raw;
  EXPECT_THAT(Decompress(framed, kMaxRaw, &raw).message(), HasSubstr("DecompressDelta"));
}

TEST(DecompressTest, RejectsBadVarints) {
  ExpectRejected(std::string("\x00", 1), kMaxRaw, absl::StatusCode::kDataLoss, "no varint");
  ExpectRejected(std::string("\x00\x80", 2), kMaxRaw, absl::StatusCode::kDataLoss, "truncated");
  ExpectRejected(std::string("\x00\xff\xff", 3), kMaxRaw, absl::StatusCode::kDataLoss, "truncated");
  // 11 bytes: ten with the continuation bit, then a terminator.
  ExpectRejected(std::string(1, '\0') + std::string(10, '\x80') + std::string(1, '\x01'), kMaxRaw,
                 absl::StatusCode::kDataLoss, "11-byte varint");
  // 10 bytes whose last carries bits beyond 64.
  ExpectRejected(std::string(1, '\0') + std::string(9, '\xff') + std::string(1, '\x02'), kMaxRaw,
                 absl::StatusCode::kDataLoss, "overflowing varint");
  // Non-canonical: 5 written as 0x85 0x00.
  ExpectRejected(std::string("\x00\x85\x00hello", 8), kMaxRaw, absl::StatusCode::kDataLoss,
                 "redundant zero byte");
}

TEST(DecompressTest, RefusesOverMaxBeforeAllocating) {
  // 2^63 declared bytes: allocating would abort the process, so the refusal
  // proves the check comes first.
  std::string framed = Header(Codec::kZstd, uint64_t{1} << 63) + "x";
  ExpectRejected(framed, kMaxRaw, absl::StatusCode::kInvalidArgument, "huge");
  ExpectRejected(Header(Codec::kNone, UINT64_MAX), SIZE_MAX - 1, absl::StatusCode::kInvalidArgument,
                 "max");
  // Just over the caller's limit, with a payload that would decode fine.
  const std::string raw(1000, 'z');
  for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
    std::string ok = Frame(Fixed(codec), raw);
    std::string out;
    EXPECT_TRUE(Decompress(ok, 1000, &out).ok());
    ExpectRejected(ok, 999, absl::StatusCode::kInvalidArgument, "over max_raw");
  }
}

TEST(DecompressTest, RejectsLz4OfTheWrongLength) {
  const std::string raw = TextData(10000);
  const std::string block = Lz4Block(raw);
  std::string out;
  ASSERT_TRUE(Decompress(Header(Codec::kLz4, raw.size()) + block, kMaxRaw, &out).ok());
  EXPECT_EQ(out, raw);
  ExpectRejected(Header(Codec::kLz4, raw.size() + 1) + block, kMaxRaw, absl::StatusCode::kDataLoss,
                 "decodes shorter");
  ExpectRejected(Header(Codec::kLz4, raw.size() - 1) + block, kMaxRaw, absl::StatusCode::kDataLoss,
                 "decodes longer");
  ExpectRejected(Header(Codec::kLz4, 0) + block, kMaxRaw, absl::StatusCode::kDataLoss,
                 "declared empty");
  ExpectRejected(Header(Codec::kLz4, raw.size()) + block + "garbage", kMaxRaw,
                 absl::StatusCode::kDataLoss, "trailing garbage");
}

TEST(DecompressTest, RejectsZstdBomb) {
  const std::string zeros(4 << 20, '\0');
  const std::string frame = ZstdFrame(zeros);
  ASSERT_LT(frame.size(), 1000u);
  ExpectRejected(Header(Codec::kZstd, 1000) + frame, kMaxRaw, absl::StatusCode::kDataLoss,
                 "declared small");
  ExpectRejected(Header(Codec::kZstd, zeros.size()) + frame, 1 << 20,
                 absl::StatusCode::kInvalidArgument, "max_raw small");
  // Without the content size in its header, zstd finds out while decoding.
  std::string no_size(ZSTD_compressBound(zeros.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  size_t n = ZSTD_compress2(cctx, no_size.data(), no_size.size(), zeros.data(), zeros.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  no_size.resize(n);
  ExpectRejected(Header(Codec::kZstd, 1000) + no_size, kMaxRaw, absl::StatusCode::kDataLoss,
                 "no content size");
  std::string out;
  EXPECT_TRUE(Decompress(Header(Codec::kZstd, zeros.size()) + no_size, kMaxRaw, &out).ok());
  EXPECT_TRUE(out == zeros);
}

TEST(DecompressTest, RejectsTrailingGarbage) {
  const std::string raw = TextData(50000);
  for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
    std::string framed = Frame(Fixed(codec), raw);
    ASSERT_EQ(framed[0], static_cast<char>(codec));
    ExpectRejected(framed + "X", kMaxRaw, absl::StatusCode::kDataLoss, "one byte after");
    ExpectRejected(framed + std::string(100, '\0'), kMaxRaw, absl::StatusCode::kDataLoss,
                   "zeros after");
  }
  // A second, valid but empty zstd frame after the first.
  std::string framed = Frame(Fixed(Codec::kZstd), raw) + ZstdFrame("");
  ExpectRejected(framed, kMaxRaw, absl::StatusCode::kDataLoss, "second zstd frame");
}

TEST(DecompressTest, RejectsEveryTruncation) {
  const std::string raw = TextData(3000);
  for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
    const std::string framed = Frame(Fixed(codec), raw);
    ASSERT_EQ(framed[0], static_cast<char>(codec));
    for (size_t n = 0; n < framed.size(); ++n) {
      std::string out;
      absl::Status status = Decompress(framed.substr(0, n), kMaxRaw, &out);
      EXPECT_FALSE(status.ok()) << CodecName(Fixed(codec)) << " truncated to " << n;
      EXPECT_TRUE(out.empty());
    }
  }
}

TEST(DecompressTest, BitFlipsNeverYieldWrongLength) {
  const std::string raw = TextData(3000);
  for (Codec codec : {Codec::kLz4, Codec::kZstd}) {
    const std::string framed = Frame(Fixed(codec), raw);
    const size_t header_size = Header(codec, raw.size()).size();
    for (size_t i = 0; i < framed.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string flipped = framed;
        flipped[i] ^= static_cast<char>(1 << bit);
        std::string out;
        // Codecs carry no checksum here (the AEAD does), so a flip in the
        // payload may decode to other bytes; it must never overrun or lie
        // about the length.
        if (Decompress(flipped, kMaxRaw, &out).ok()) {
          if (i >= header_size) {
            EXPECT_EQ(out.size(), raw.size()) << i;
          }
        } else {
          EXPECT_TRUE(out.empty());
        }
      }
    }
  }
}

TEST(DecompressTest, RandomPayloadsFailCleanly) {
  // Garbage behind each valid header: an error or exactly the declared length.
  uint64_t state = 99;
  for (int i = 0; i < 3000; ++i) {
    const size_t declared = state % 5000;
    const std::string payload = RandomData(1 + (state >> 20) % 300, state);
    state = state * 6364136223846793005 + 1442695040888963407;
    for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
      std::string out;
      if (Decompress(Header(codec, declared) + payload, kMaxRaw, &out).ok()) {
        EXPECT_EQ(out.size(), declared);
      } else {
        EXPECT_TRUE(out.empty());
      }
    }
  }
}

TEST(DecompressTest, ReplacesOutput) {
  std::string out = "old contents that must go";
  ASSERT_TRUE(Decompress(Frame(Fixed(Codec::kZstd), TextData(5000)), kMaxRaw, &out).ok());
  EXPECT_EQ(out, TextData(5000));
}

}  // namespace
}  // namespace cairn

#include "common/seal.h"

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 99;
  for (char& c : s) {
    x = x * 1664525 + 1013904223;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

ChunkId IdOf(uint8_t fill) {
  ChunkId id;
  id.fill(fill);
  return id;
}

class SealTest : public ::testing::TestWithParam<SealAlgorithm> {
 protected:
  SecretKey key_ = SecretKey::Random();
  Sealer sealer_{key_, GetParam()};
};

INSTANTIATE_TEST_SUITE_P(Algorithms, SealTest,
                         ::testing::Values(SealAlgorithm::kAes256Gcm,
                                           SealAlgorithm::kXChaCha20Poly1305),
                         [](const auto& info) {
                           return info.param == SealAlgorithm::kAes256Gcm ? "Aes256Gcm"
                                                                          : "XChaCha20Poly1305";
                         });

TEST_P(SealTest, RoundTripsAtSizes) {
  ChunkId id = IdOf(7);
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{4} << 20}) {
    std::string plaintext = Pattern(n);
    std::string sealed;
    ASSERT_TRUE(sealer_.Seal(id, plaintext, &sealed).ok());
    ASSERT_EQ(sealed.size(), n + Sealer::kOverhead);
    EXPECT_EQ(static_cast<uint8_t>(sealed[0]), static_cast<uint8_t>(GetParam()));
    if (n >= 64) {
      EXPECT_EQ(sealed.find(plaintext.substr(0, 64)), std::string::npos);
    }
    std::string opened = "stale contents that must be replaced";
    absl::Status s = sealer_.Open(id, sealed, &opened);
    ASSERT_TRUE(s.ok()) << n << ": " << s;
    EXPECT_TRUE(opened == plaintext) << n;
  }
}

TEST_P(SealTest, SealAppends) {
  std::string out = "prefix";
  ASSERT_TRUE(sealer_.Seal(IdOf(1), "hello", &out).ok());
  ASSERT_EQ(out.size(), 6 + 5 + Sealer::kOverhead);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  std::string opened;
  ASSERT_TRUE(sealer_.Open(IdOf(1), absl::string_view(out).substr(6), &opened).ok());
  EXPECT_EQ(opened, "hello");
}

TEST_P(SealTest, TwoSealsOfTheSameChunkDiffer) {
  std::string a, b;
  ASSERT_TRUE(sealer_.Seal(IdOf(2), "same data", &a).ok());
  ASSERT_TRUE(sealer_.Seal(IdOf(2), "same data", &b).ok());
  EXPECT_NE(a, b);
  // Salt and nonce both fresh.
  EXPECT_NE(a.substr(1, Sealer::kSaltSize), b.substr(1, Sealer::kSaltSize));
  EXPECT_NE(a.substr(1 + Sealer::kSaltSize, Sealer::kNonceSize),
            b.substr(1 + Sealer::kSaltSize, Sealer::kNonceSize));
}

TEST_P(SealTest, EveryBitFlipIsRejected) {
  ChunkId id = IdOf(3);
  std::string sealed;
  ASSERT_TRUE(sealer_.Seal(id, Pattern(64 - Sealer::kOverhead + 3), &sealed).ok());
  ASSERT_GE(sealed.size(), 64u);
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::string bad = sealed;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    std::string opened = "x";
    absl::Status s = sealer_.Open(id, bad, &opened);
    ASSERT_TRUE(absl::IsDataLoss(s)) << "bit " << bit << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(ChunkIdHex(id)));
    EXPECT_TRUE(opened.empty()) << "bit " << bit;
  }
}

TEST_P(SealTest, WrongChunkIdIsRejected) {
  std::string sealed;
  ASSERT_TRUE(sealer_.Seal(IdOf(4), "payload", &sealed).ok());
  ChunkId other = IdOf(4);
  other[31] ^= 1;
  std::string opened;
  absl::Status s = sealer_.Open(other, sealed, &opened);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr(ChunkIdHex(other)));
}

TEST_P(SealTest, WrongKeyIsRejected) {
  std::string sealed;
  ASSERT_TRUE(sealer_.Seal(IdOf(5), "payload", &sealed).ok());
  Sealer other(SecretKey::Random(), GetParam());
  std::string opened;
  EXPECT_TRUE(absl::IsDataLoss(other.Open(IdOf(5), sealed, &opened)));
}

TEST_P(SealTest, EveryTruncationIsRejected) {
  ChunkId id = IdOf(6);
  std::string sealed;
  ASSERT_TRUE(sealer_.Seal(id, Pattern(100), &sealed).ok());
  for (size_t len = 0; len < sealed.size(); ++len) {
    // A copy of exactly `len` bytes, so an over-read would show under ASan.
    std::string cut = sealed.substr(0, len);
    std::string opened;
    absl::Status s = sealer_.Open(id, cut, &opened);
    ASSERT_TRUE(absl::IsDataLoss(s)) << len << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(ChunkIdHex(id)));
  }
}

TEST_P(SealTest, ShortInputsBelowOverheadAreRejected) {
  ChunkId id = IdOf(8);
  for (size_t len = 0; len < Sealer::kOverhead; ++len) {
    std::string junk(len, static_cast<char>(GetParam()));
    std::string opened;
    absl::Status s = sealer_.Open(id, junk, &opened);
    ASSERT_TRUE(absl::IsDataLoss(s)) << len << ": " << s;
  }
}

TEST_P(SealTest, UnknownFormatByteIsRejected) {
  ChunkId id = IdOf(9);
  std::string sealed;
  ASSERT_TRUE(sealer_.Seal(id, "payload", &sealed).ok());
  for (int format : {0x00, 0x03, 0x11, 0x81, 0xff}) {
    std::string bad = sealed;
    bad[0] = static_cast<char>(format);
    std::string opened;
    absl::Status s = sealer_.Open(id, bad, &opened);
    ASSERT_TRUE(absl::IsDataLoss(s)) << format;
    EXPECT_THAT(s.message(), HasSubstr("unknown seal format"));
  }
}

TEST_P(SealTest, SwappedFormatByteIsRejected) {
  // Relabelling a chunk as the other algorithm must not open it.
  ChunkId id = IdOf(10);
  std::string sealed;
  ASSERT_TRUE(sealer_.Seal(id, Pattern(200), &sealed).ok());
  sealed[0] =
      static_cast<char>(GetParam() == SealAlgorithm::kAes256Gcm ? SealAlgorithm::kXChaCha20Poly1305
                                                                : SealAlgorithm::kAes256Gcm);
  std::string opened;
  EXPECT_TRUE(absl::IsDataLoss(sealer_.Open(id, sealed, &opened)));
}

TEST_P(SealTest, OpensWhatTheOtherAlgorithmSealed) {
  // A GCM sealer opens XChaCha chunks and the reverse: the format byte decides.
  SealAlgorithm other_alg = GetParam() == SealAlgorithm::kAes256Gcm
                                ? SealAlgorithm::kXChaCha20Poly1305
                                : SealAlgorithm::kAes256Gcm;
  Sealer other(key_, other_alg);
  std::string sealed;
  ASSERT_TRUE(other.Seal(IdOf(11), "cross", &sealed).ok());
  std::string opened;
  ASSERT_TRUE(sealer_.Open(IdOf(11), sealed, &opened).ok());
  EXPECT_EQ(opened, "cross");
}

TEST_P(SealTest, ConcurrentUse) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string plaintext = Pattern(10000 + t);
      for (int i = 0; i < 100; ++i) {
        std::string sealed, opened;
        ChunkId id = IdOf(static_cast<uint8_t>(t));
        ASSERT_TRUE(sealer_.Seal(id, plaintext, &sealed).ok());
        failures[t] += !sealer_.Open(id, sealed, &opened).ok() || opened != plaintext;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(SealerTest, DefaultUsesPreferredAlgorithm) {
  Sealer sealer(SecretKey::Random());
  EXPECT_EQ(sealer.algorithm(), Sealer::PreferredAlgorithm());
  std::string sealed;
  ASSERT_TRUE(sealer.Seal(IdOf(0), "x", &sealed).ok());
  EXPECT_EQ(static_cast<uint8_t>(sealed[0]), static_cast<uint8_t>(sealer.algorithm()));
}

TEST(SealerTest, SealerOutlivesItsKey) {
  std::optional<Sealer> sealer;
  std::string sealed;
  {
    SecretKey key = SecretKey::Random();
    sealer.emplace(key);
  }
  sealer->Seal(IdOf(1), "kept", &sealed);
  std::string opened;
  ASSERT_TRUE(sealer->Open(IdOf(1), sealed, &opened).ok());
  EXPECT_EQ(opened, "kept");
}

}  // namespace
}  // namespace cairn

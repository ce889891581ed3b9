#include "common/chunk_id.h"

#include <openssl/hmac.h>

#include <cctype>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cairn {
namespace {

SecretKey KeyOf(char fill) { return *SecretKey::FromBytes(std::string(SecretKey::kSize, fill)); }

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(ChunkIdTest, IsHmacSha256) {
  // Cross-check the precomputed-pad implementation against OpenSSL's one-shot HMAC.
  SecretKey key = SecretKey::Random();
  ChunkHasher hasher(key);
  for (size_t n : {size_t{0}, size_t{1}, size_t{55}, size_t{64}, size_t{65}, size_t{1} << 20}) {
    std::string data = Pattern(n);
    uint8_t expected[32];
    unsigned int len = 0;
    ASSERT_NE(HMAC(EVP_sha256(), key.data(), SecretKey::kSize,
                   reinterpret_cast<const uint8_t*>(data.data()), data.size(), expected, &len),
              nullptr);
    ASSERT_EQ(len, 32u);
    ChunkId id = hasher.Hash(data);
    EXPECT_EQ(ChunkIdBytes(id), absl::string_view(reinterpret_cast<char*>(expected), 32)) << n;
  }
}

TEST(ChunkIdTest, KnownAnswer) {
  // HMAC-SHA-256 with key 0x01 * 32 over "abc", computed independently
  // (python3 -c 'import hmac;print(hmac.new(b"\x01"*32,b"abc","sha256").hexdigest())').
  ChunkHasher hasher(KeyOf('\x01'));
  EXPECT_EQ(ChunkIdHex(hasher.Hash("abc")),
            "73860612aa6aadf68985b6e9c4233357cedd5f24a221eba740b2aa8350276cfc");
}

TEST(ChunkIdTest, DeterministicAcrossHashers) {
  SecretKey key = SecretKey::Random();
  std::string data = Pattern(100000);
  EXPECT_EQ(ChunkHasher(key).Hash(data), ChunkHasher(key).Hash(data));
  ChunkHasher hasher(key);
  EXPECT_EQ(hasher.Hash(data), hasher.Hash(data));
}

TEST(ChunkIdTest, DifferentKeyGivesDifferentId) {
  std::string data = Pattern(4096);
  EXPECT_NE(ChunkHasher(KeyOf('a')).Hash(data), ChunkHasher(KeyOf('b')).Hash(data));
}

TEST(ChunkIdTest, DifferentDataGivesDifferentId) {
  ChunkHasher hasher(SecretKey::Random());
  std::string data = Pattern(4096);
  std::string other = data;
  other[100] ^= 1;
  EXPECT_NE(hasher.Hash(data), hasher.Hash(other));
  EXPECT_NE(hasher.Hash(""), hasher.Hash(std::string(1, '\0')));
}

TEST(ChunkIdTest, HasherOutlivesItsKeyAndMoves) {
  std::string data = Pattern(1000);
  ChunkId expected;
  std::optional<ChunkHasher> hasher;
  {
    SecretKey key = KeyOf('z');
    expected = ChunkHasher(key).Hash(data);
    hasher.emplace(key);
  }
  ChunkHasher moved(std::move(*hasher));
  EXPECT_EQ(moved.Hash(data), expected);
}

TEST(ChunkIdTest, ConcurrentHashesAgree) {
  ChunkHasher hasher(SecretKey::Random());
  std::string data = Pattern(1 << 16);
  ChunkId expected = hasher.Hash(data);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) mismatches[t] += hasher.Hash(data) != expected;
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(ChunkIdTest, HexAndBytesRoundTrip) {
  ChunkId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i * 9 + 0xa0);
  std::string hex = ChunkIdHex(id);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.substr(0, 6), "a0a9b2");
  absl::StatusOr<ChunkId> from_hex = ChunkIdFromHex(hex);
  ASSERT_TRUE(from_hex.ok()) << from_hex.status();
  EXPECT_EQ(*from_hex, id);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(*ChunkIdFromHex(upper), id);

  absl::string_view bytes = ChunkIdBytes(id);
  EXPECT_EQ(bytes.size(), 32u);
  EXPECT_EQ(static_cast<void*>(const_cast<char*>(bytes.data())), static_cast<void*>(id.data()));
  absl::StatusOr<ChunkId> from_bytes = ChunkIdFromBytes(std::string(bytes));
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status();
  EXPECT_EQ(*from_bytes, id);
}

TEST(ChunkIdTest, FromBytesRejectsWrongLengths) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{31}, size_t{33}, size_t{64}, size_t{1} << 20}) {
    absl::StatusOr<ChunkId> id = ChunkIdFromBytes(std::string(n, 'x'));
    EXPECT_TRUE(absl::IsInvalidArgument(id.status())) << n << ": " << id.status();
  }
}

TEST(ChunkIdTest, FromHexRejectsBadInput) {
  std::string good(64, 'a');
  for (const std::string& bad :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(128, 'a'),
        good.substr(0, 62) + "g0", good.substr(0, 63) + " ", std::string(64, '\0'),
        std::string("0x") + good.substr(2)}) {
    absl::StatusOr<ChunkId> id = ChunkIdFromHex(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(id.status())) << bad.size() << ": " << id.status();
  }
}

}  // namespace
}  // namespace cairn

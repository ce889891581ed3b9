// The data channel's message tags: 16 bytes, a function of every field, the
// key, the message kind, the call and the place in the call; a payload given
// in pieces tags as it does whole; field boundaries count (no two field lists
// share a tag); and the construction is the one docs/security.md states,
// checked against libsodium's Poly1305.
#include "common/data_mac.h"

#include <sodium.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/sodium_init.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

DataKey KeyOf(char fill) {
  absl::StatusOr<DataKey> key = DataKey::FromBytes(std::string(DataKey::kSize, fill));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string Tag(const DataKey& key, uint64_t call, uint64_t seq, absl::string_view job,
                absl::string_view id, uint32_t size, absl::string_view base,
                absl::string_view sealed) {
  return UploadRequestMac(key, call, seq, job, id, size, base, {sealed});
}

TEST(DataMacTest, ATagIsSixteenBytesAndTheSameForTheSameMessage) {
  DataKey key = KeyOf('k');
  const std::string a = Tag(key, 1, 0, "job", "id", 9, "", "sealed bytes");
  EXPECT_EQ(a.size(), kDataMacBytes);
  EXPECT_EQ(a, Tag(key, 1, 0, "job", "id", 9, "", "sealed bytes"));
  EXPECT_TRUE(DataMacMatches(a, Tag(key, 1, 0, "job", "id", 9, "", "sealed bytes")));
}

TEST(DataMacTest, EveryFieldKeyCallAndPlaceChangeTheTag) {
  DataKey key = KeyOf('k');
  DataKey other = KeyOf('o');
  std::set<std::string> tags = {
      Tag(key, 1, 0, "job", "id", 9, "", "sealed"),
      Tag(other, 1, 0, "job", "id", 9, "", "sealed"),
      Tag(key, 2, 0, "job", "id", 9, "", "sealed"),
      Tag(key, 1, 1, "job", "id", 9, "", "sealed"),
      Tag(key, 1, 0, "jo", "id", 9, "", "sealed"),
      Tag(key, 1, 0, "job", "iD", 9, "", "sealed"),
      Tag(key, 1, 0, "job", "id", 10, "", "sealed"),
      Tag(key, 1, 0, "job", "id", 9, "b", "sealed"),
      Tag(key, 1, 0, "job", "id", 9, "", "sealeD"),
      // Boundaries: the same bytes split across fields otherwise.
      Tag(key, 1, 0, "jobi", "d", 9, "", "sealed"),
      Tag(key, 1, 0, "job", "id", 9, "sea", "led"),
      // The answer of a call, as the request's kind would not be.
      UploadResponseMac(key, 1, 0, 0, 0, 0),
      UploadResponseMac(key, 1, 1, 0, 0, 0),
      UploadResponseMac(key, 1, 0, 1, 0, 0),
      UploadResponseMac(key, 1, 0, 0, 1, 0),
      UploadResponseMac(key, 1, 0, 0, 0, 1),
  };
  EXPECT_EQ(tags.size(), 16u);
}

TEST(DataMacTest, APayloadInPiecesTagsAsItDoesWhole) {
  DataKey key = KeyOf('k');
  std::string payload(100000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 31 + 7);
  const std::string whole = UploadRequestMac(key, 7, 3, "", "id", 5, "", {payload});
  std::vector<absl::string_view> pieces;
  absl::string_view rest = payload;
  for (size_t n : {1, 15, 16, 17, 4096, 0, 50000}) {
    pieces.push_back(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  pieces.push_back(rest);
  EXPECT_EQ(UploadRequestMac(key, 7, 3, "", "id", 5, "", pieces), whole);
}

TEST(DataMacTest, MatchesRefusesWrongAndShortTags) {
  DataKey key = KeyOf('k');
  std::string tag = Tag(key, 1, 0, "", "id", 1, "", "x");
  std::string altered = tag;
  altered[5] ^= 1;
  EXPECT_FALSE(DataMacMatches(altered, tag));
  EXPECT_FALSE(DataMacMatches("", tag));
  EXPECT_FALSE(DataMacMatches(tag.substr(0, 15), tag.substr(0, 15)));
  EXPECT_FALSE(DataMacMatches("", ""));
}

// The construction, spelled out and computed with libsodium's own Poly1305
// (the code uses OpenSSL's): Poly1305 (RFC 8439) under the first 32 bytes of
// XChaCha20's keystream with nonce kind || 0^7 || call || seq, over fields
// each led by its length in 8 little-endian bytes.
TEST(DataMacTest, TheConstructionAsSpecified) {
  EnsureSodiumInitialized();
  DataKey key = KeyOf('\x01');
  const uint64_t call = 0x0102030405060708, seq = 9;
  uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = {};
  nonce[0] = 1;  // kUploadRequest
  for (int i = 0; i < 8; ++i) {
    nonce[8 + i] = static_cast<uint8_t>(call >> (8 * i));
    nonce[16 + i] = static_cast<uint8_t>(seq >> (8 * i));
  }
  uint8_t one_time[32];
  crypto_stream_xchacha20(one_time, sizeof(one_time), nonce, key.data());
  std::string message;
  auto field = [&message](absl::string_view bytes) {
    for (int i = 0; i < 8; ++i) message.push_back(static_cast<char>(bytes.size() >> (8 * i)));
    message.append(bytes.data(), bytes.size());
  };
  field("job");
  field("id");
  for (int i = 0; i < 8; ++i) message.push_back(static_cast<char>(uint64_t{300} >> (8 * i)));
  field("");
  field("sealed bytes");
  uint8_t want[crypto_onetimeauth_poly1305_BYTES];
  crypto_onetimeauth_poly1305(want, reinterpret_cast<const uint8_t*>(message.data()),
                              message.size(), one_time);
  EXPECT_EQ(absl::BytesToHexString(Tag(key, call, seq, "job", "id", 300, "", "sealed bytes")),
            absl::BytesToHexString(std::string(reinterpret_cast<const char*>(want), sizeof(want))));
}

}  // namespace
}  // namespace cairn

// Join tokens (common/join_token): new tokens are fresh and well-formed,
// format and parse round-trip, and every malformed token is refused without
// quoting its secret: a wrong prefix, a field of the wrong length, a non-hex
// or upper-case digit, a missing or extra field, and every truncation.
#include "common/join_token.h"

#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

const std::string kId = "0123456789ab";
const std::string kSecret = "00112233445566778899aabbccddeeff";
const std::string kFingerprintHex = std::string(32, 'a') + std::string(32, '7');
const std::string kToken = absl::StrCat("cairn1.", kId, ".", kSecret, ".", kFingerprintHex);

void ExpectRefused(absl::string_view text) {
  absl::StatusOr<JoinTokenParts> parsed = ParseJoinToken(text);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
      << "accepted \"" << absl::CHexEscape(text) << "\"";
  EXPECT_THAT(parsed.status().message(), Not(HasSubstr(kSecret)));
}

TEST(JoinTokenTest, NewTokensAreWellFormedAndFresh) {
  const std::string fp = absl::StrCat("sha256:", kFingerprintHex);
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 50; ++i) {
    JoinTokenParts t = NewJoinToken(fp);
    EXPECT_THAT(t.id, MatchesRegex("[0-9a-f]{12}"));
    EXPECT_THAT(t.secret, MatchesRegex("[0-9a-f]{32}"));
    EXPECT_EQ(t.ca_fingerprint, fp);
    ids.insert(t.id);
    secrets.insert(t.secret);
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(secrets.size(), 50u);
}

TEST(JoinTokenTest, FormatAndParseRoundTrip) {
  JoinTokenParts parts{kId, kSecret, absl::StrCat("sha256:", kFingerprintHex)};
  EXPECT_EQ(FormatJoinToken(parts), kToken);
  ASSERT_OK_AND_ASSIGN(JoinTokenParts parsed, ParseJoinToken(kToken));
  EXPECT_EQ(parsed.id, kId);
  EXPECT_EQ(parsed.secret, kSecret);
  EXPECT_EQ(parsed.ca_fingerprint, parts.ca_fingerprint);

  JoinTokenParts fresh = NewJoinToken(parts.ca_fingerprint);
  ASSERT_OK_AND_ASSIGN(JoinTokenParts again, ParseJoinToken(FormatJoinToken(fresh)));
  EXPECT_EQ(again.id, fresh.id);
  EXPECT_EQ(again.secret, fresh.secret);
  EXPECT_EQ(again.ca_fingerprint, fresh.ca_fingerprint);
}

TEST(JoinTokenTest, WrongPrefixIsRefused) {
  for (absl::string_view prefix : {"", "cairn", "cairn0", "cairn2", "Cairn1", "CAIRN1", "cairn1x",
                                   "xcairn1", "cairn1 ", "sha256:"}) {
    ExpectRefused(absl::StrCat(prefix, ".", kId, ".", kSecret, ".", kFingerprintHex));
  }
  ExpectRefused(absl::StrCat(kId, ".", kSecret, ".", kFingerprintHex));  // no prefix at all
}

TEST(JoinTokenTest, FieldsOfTheWrongLengthAreRefused) {
  for (int delta : {-1, 1}) {
    ExpectRefused(
        absl::StrCat("cairn1.", std::string(12 + delta, 'a'), ".", kSecret, ".", kFingerprintHex));
    ExpectRefused(
        absl::StrCat("cairn1.", kId, ".", std::string(32 + delta, 'b'), ".", kFingerprintHex));
    ExpectRefused(absl::StrCat("cairn1.", kId, ".", kSecret, ".", std::string(64 + delta, 'c')));
  }
  // The fields swapped: each is hex, but of another field's length.
  ExpectRefused(absl::StrCat("cairn1.", kSecret, ".", kId, ".", kFingerprintHex));
}

TEST(JoinTokenTest, MissingEmptyAndExtraFieldsAreRefused) {
  ExpectRefused("");
  ExpectRefused("cairn1");
  ExpectRefused("cairn1...");
  ExpectRefused(absl::StrCat("cairn1.", kId, ".", kSecret));
  ExpectRefused(absl::StrCat("cairn1.", kId, "..", kFingerprintHex));
  ExpectRefused(absl::StrCat(kToken, "."));
  ExpectRefused(absl::StrCat(".", kToken));
  ExpectRefused(absl::StrCat(kToken, ".", kId));
  ExpectRefused(absl::StrCat("cairn1.", kId, ".", kSecret, ".sha256:", kFingerprintHex));
  ExpectRefused(absl::StrCat(kToken, kToken));
}

TEST(JoinTokenTest, AnyCharacterOutsideLowerHexIsRefused) {
  // Every position after "cairn1." that is not a dot, replaced by each of
  // these: a token is printed in lower-case hex and its secret is hashed as
  // text, so "A" is not "a".
  const std::string not_hex[] = {"g",    "A",   "F", "x", " ", "-", ":", "+", std::string(1, '\0'),
                                 "\xc3", "\xff"};
  for (size_t i = 7; i < kToken.size(); ++i) {
    if (kToken[i] == '.') continue;
    for (const std::string& c : not_hex) {
      std::string token = kToken;
      token.replace(i, 1, c);
      ExpectRefused(token);
    }
  }
}

TEST(JoinTokenTest, EveryTruncationIsRefused) {
  for (size_t length = 0; length < kToken.size(); ++length) {
    ExpectRefused(absl::string_view(kToken).substr(0, length));
    ExpectRefused(absl::string_view(kToken).substr(kToken.size() - length));
  }
  ASSERT_OK(ParseJoinToken(kToken).status());
}

TEST(JoinTokenTest, RefusalNamesTheExpectedFormat) {
  absl::Status status = ParseJoinToken(absl::StrCat("cairn1.", kId, ".", kSecret, ".zz")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cairn1.<12 hex>.<32 hex>.<64 hex>"));
  EXPECT_THAT(status.message(), Not(HasSubstr(kSecret)));
}

TEST(JoinTokenTest, SecretHashIsSha256) {
  // FIPS 180-2's first example.
  EXPECT_EQ(absl::BytesToHexString(HashJoinSecret("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashJoinSecret(kSecret).size(), 32u);
  EXPECT_EQ(HashJoinSecret(kSecret), HashJoinSecret(kSecret));
  EXPECT_NE(HashJoinSecret(kSecret), HashJoinSecret(absl::StrCat(kSecret.substr(1), "0")));
}

}  // namespace
}  // namespace cairn

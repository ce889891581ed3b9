#include "common/join_token.h"

#include <openssl/sha.h>
#include <sodium.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "common/sodium_init.h"

namespace cairn {
namespace {

constexpr absl::string_view kPrefix = "cairn1";
constexpr absl::string_view kSha256 = "sha256:";

std::string RandomHex(size_t bytes) {
  EnsureSodiumInitialized();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return HexOf(raw);
}

bool IsLowerHex(absl::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace

JoinTokenParts NewJoinToken(absl::string_view ca_fingerprint) {
  return JoinTokenParts{RandomHex(6), RandomHex(16), std::string(ca_fingerprint)};
}

std::string FormatJoinToken(const JoinTokenParts& parts) {
  absl::string_view fp = parts.ca_fingerprint;
  absl::ConsumePrefix(&fp, kSha256);
  return absl::StrCat(kPrefix, ".", parts.id, ".", parts.secret, ".", fp);
}

absl::StatusOr<JoinTokenParts> ParseJoinToken(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4 || parts[0] != kPrefix || !IsLowerHex(parts[1], 12) ||
      !IsLowerHex(parts[2], 32) || !IsLowerHex(parts[3], 64)) {
    return absl::InvalidArgumentError(
        "not a cairn join token (expected cairn1.<12 hex>.<32 hex>.<64 hex>, as "
        "`cairnctl token create` prints)");
  }
  return JoinTokenParts{std::string(parts[1]), std::string(parts[2]),
                        absl::StrCat(kSha256, parts[3])};
}

std::string HashJoinSecret(absl::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace cairn

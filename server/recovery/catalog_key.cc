#include "server/recovery/catalog_key.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr absl::string_view kTag = "cairn-catalog-key-v1 ";

}  // namespace

absl::StatusOr<SecretKey> LoadCatalogKey(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat("no catalog key at ", path));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 4096));
  absl::string_view line = absl::StripAsciiWhitespace(text);
  std::string bytes;
  bool ok = absl::ConsumePrefix(&line, kTag) && line.size() == 2 * SecretKey::kSize &&
            std::all_of(line.begin(), line.end(), [](char c) { return absl::ascii_isxdigit(c); });
  if (ok) bytes = absl::HexStringToBytes(line);
  if (!ok) {
    sodium_memzero(text.data(), text.size());
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a catalog key (expected one line: cairn-catalog-key-v1 <64 hex digits>)"));
  }
  absl::StatusOr<SecretKey> key = SecretKey::FromBytes(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  sodium_memzero(text.data(), text.size());
  return key;
}

absl::StatusOr<SecretKey> LoadOrCreateCatalogKey(const std::string& path, bool* created) {
  absl::StatusOr<SecretKey> key = LoadCatalogKey(path);
  *created = false;
  if (!absl::IsNotFound(key.status())) return key;
  SecretKey fresh = SecretKey::Random();
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(fresh.data()), SecretKey::kSize));
  std::string text = absl::StrCat(kTag, hex, "\n");
  absl::Status written = WriteFileAtomically(path, text, 0600);
  sodium_memzero(hex.data(), hex.size());
  sodium_memzero(text.data(), text.size());
  RETURN_IF_ERROR(written);
  *created = true;
  return fresh;
}

}  // namespace cairn

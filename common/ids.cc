#include "common/ids.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"

namespace cairn {
namespace {

std::string RandomHexId(absl::string_view prefix) {
  static const int init = sodium_init();
  (void)init;
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof(bytes));
  return absl::StrCat(prefix, absl::BytesToHexString(absl::string_view(
                                  reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

}  // namespace

std::string NewJobId() { return RandomHexId("j-"); }
std::string NewSnapshotId() { return RandomHexId("s-"); }

std::string SnapshotIdForJob(absl::string_view job_id) {
  absl::string_view hex = job_id;
  if (absl::StartsWith(hex, "j-")) hex.remove_prefix(2);
  return absl::StrCat("s-", hex);
}

absl::Status ValidateAgentName(absl::string_view name, absl::string_view what) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be 1 to ", kMaxNameLength, " characters"));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " \"", absl::CHexEscape(name), "\" may hold only letters, digits, '.', '_', '-'"));
    }
  }
  return absl::OkStatus();
}

std::string HexOf(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

}  // namespace cairn

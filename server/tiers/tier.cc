#include "server/tiers/tier.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cairn {

absl::Status ValidateObjectName(absl::string_view object) {
  auto bad = [&](absl::string_view why) {
    absl::string_view shown = object.substr(0, 200);
    return absl::InvalidArgumentError(absl::StrCat("object name \"", absl::CHexEscape(shown),
                                                   shown.size() < object.size() ? "\"..." : "\"",
                                                   " ", why));
  };
  if (object.empty()) return bad("is empty");
  if (object.size() > kMaxObjectNameBytes) {
    return bad(
        absl::StrCat("is ", object.size(), " bytes, over the limit of ", kMaxObjectNameBytes));
  }
  if (object == "." || object == "..") return bad("is not allowed");
  for (char c : object) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return bad("may only contain A-Z a-z 0-9 . _ -");
  }
  return absl::OkStatus();
}

}  // namespace cairn

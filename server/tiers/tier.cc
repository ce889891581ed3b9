#include "server/tiers/tier.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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

absl::StatusOr<std::vector<std::string>> Tier::ListWithPrefix(absl::string_view prefix) {
  absl::StatusOr<std::vector<std::string>> all = List();
  if (!all.ok()) return all.status();
  std::vector<std::string> matching;
  for (std::string& name : *all) {
    if (absl::StartsWith(name, prefix)) matching.push_back(std::move(name));
  }
  return matching;
}

}  // namespace cairn

#include "common/path_rules.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

// Quotes at most a prefix of hostile input so an error message stays small.
std::string Quote(absl::string_view bytes) {
  constexpr size_t kMaxQuoted = 300;
  if (bytes.size() <= kMaxQuoted) return absl::StrCat("\"", absl::CHexEscape(bytes), "\"");
  return absl::StrCat("\"", absl::CHexEscape(bytes.substr(0, kMaxQuoted)), "\"... (", bytes.size(),
                      " bytes)");
}

absl::Status CheckName(absl::string_view name, absl::string_view path) {
  auto bad = [&](absl::string_view why) {
    if (path.empty()) return absl::InvalidArgumentError(absl::StrCat("name ", Quote(name), why));
    return absl::InvalidArgumentError(
        absl::StrCat("path ", Quote(path), ": component ", Quote(name), why));
  };
  if (name.empty()) return bad(" is empty");
  if (name == "." || name == "..") return bad(" is not allowed");
  if (name.size() > kMaxNameBytes) {
    return bad(absl::StrCat(" is ", name.size(), " bytes, over the limit of ", kMaxNameBytes));
  }
  if (name.find('/') != absl::string_view::npos) return bad(" contains '/'");
  if (name.find('\0') != absl::string_view::npos) return bad(" contains a NUL byte");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateName(absl::string_view name) { return CheckName(name, ""); }

absl::Status ValidateRelativePath(absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("path is empty");
  if (path.size() > kMaxPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat("path ", Quote(path), " is ", path.size(),
                                                   " bytes, over the limit of ", kMaxPathBytes));
  }
  if (path.front() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("path ", Quote(path), " is absolute"));
  }
  if (path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("path ", Quote(path), " ends with '/'"));
  }
  absl::string_view rest = path;
  while (true) {
    size_t slash = rest.find('/');
    absl::string_view name = rest.substr(0, slash);
    absl::Status status = CheckName(name, path);
    if (!status.ok()) return status;
    if (slash == absl::string_view::npos) return absl::OkStatus();
    rest.remove_prefix(slash + 1);
  }
}

absl::StatusOr<std::vector<std::string>> SplitRelativePath(absl::string_view path) {
  absl::Status status = ValidateRelativePath(path);
  if (!status.ok()) return status;
  std::vector<std::string> parts;
  absl::string_view rest = path;
  while (true) {
    size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (slash == absl::string_view::npos) return parts;
    rest.remove_prefix(slash + 1);
  }
}

std::string JoinPath(absl::string_view a, absl::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return absl::StrCat(a, "/", b);
}

}  // namespace cairn

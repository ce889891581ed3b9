// The rules for paths inside a snapshot: relative, '/'-separated, raw bytes
// (non-UTF-8 names are legal on Linux and must round-trip). Every path that
// crosses a trust boundary (manifests, restore requests) is checked here first.
//
//   RETURN_IF_ERROR(ValidateRelativePath(entry.path()));
//   ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitRelativePath(p));
#ifndef CAIRN_COMMON_PATH_RULES_H_
#define CAIRN_COMMON_PATH_RULES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// Linux's NAME_MAX and PATH_MAX; a snapshot path never needs more.
inline constexpr size_t kMaxNameBytes = 255;
inline constexpr size_t kMaxPathBytes = 4096;

// One path component: not empty, not "." or "..", no '/' and no NUL, at most
// kMaxNameBytes. Anything else (spaces, newlines, invalid UTF-8) is allowed.
// InvalidArgument quoting the name with non-printable bytes escaped.
absl::Status ValidateName(absl::string_view name);

// Components joined by single '/': no leading or trailing '/', no empty
// components, each a valid name, at most kMaxPathBytes in total.
// InvalidArgument otherwise.
absl::Status ValidateRelativePath(absl::string_view path);

// Validates, then splits into components.
absl::StatusOr<std::vector<std::string>> SplitRelativePath(absl::string_view path);

// "a/b"; just "b" when `a` is empty (and "a" when `b` is). Does not validate.
std::string JoinPath(absl::string_view a, absl::string_view b);

}  // namespace cairn

#endif  // CAIRN_COMMON_PATH_RULES_H_

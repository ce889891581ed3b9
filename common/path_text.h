// Paths as text, for people and JSON: Linux names are bytes, not necessarily
// UTF-8. PathToText keeps valid UTF-8 as it is and writes every other byte,
// and every control byte, as \xHH, and a backslash as \\; PathFromText undoes
// it exactly, so a path printed by cairnctl or cairn-agent can be given back.
//
//   std::string shown = PathToText(entry_path);   // "data/caf\xe9.txt"
//   ASSIGN_OR_RETURN(std::string raw, PathFromText(shown));
#ifndef CAIRN_COMMON_PATH_TEXT_H_
#define CAIRN_COMMON_PATH_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

std::string PathToText(absl::string_view raw);
// InvalidArgument for a backslash not followed by "\" or "xHH".
absl::StatusOr<std::string> PathFromText(absl::string_view text);
// Whether `raw` is valid UTF-8 with no control bytes (PathToText leaves it as is).
bool IsPlainText(absl::string_view raw);
// Whether `raw` is valid UTF-8 (control bytes allowed).
bool IsUtf8(absl::string_view raw);
// At most `max_bytes` of UTF-8 `text`, cut at a character boundary.
std::string TruncateUtf8(absl::string_view text, size_t max_bytes);

}  // namespace cairn

#endif  // CAIRN_COMMON_PATH_TEXT_H_

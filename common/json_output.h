// The one --json printer of cairnctl and cairn-agent: protobuf's JSON mapping
// (field names as in the proto, fields at their defaults printed too, 64-bit
// integers as strings, enums by name), one object per line, with one
// difference: bytes fields that hold paths or names (path, paths, prefix,
// roots, name, link_target, ...) are printed as text, by PathToText
// (common/path_text.h: UTF-8 as it is, other bytes as \xHH, a backslash as
// \\), and where that text is not the bytes themselves, the bytes follow in
// a field "<name>_raw" (base64). Other bytes fields (ids, MACs) are base64.
// An error (a string field that is not UTF-8) is returned, never swallowed.
//
//   RETURN_IF_ERROR(PrintJson(response, std::cout));
#ifndef CAIRN_COMMON_JSON_OUTPUT_H_
#define CAIRN_COMMON_JSON_OUTPUT_H_

#include <google/protobuf/message.h>

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);
// A JSON string literal (quotes included) of UTF-8 `text`.
std::string JsonQuote(absl::string_view text);
// ToJson and a newline to `out`.
absl::Status PrintJson(const google::protobuf::Message& message, std::ostream& out);

}  // namespace cairn

#endif  // CAIRN_COMMON_JSON_OUTPUT_H_

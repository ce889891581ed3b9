// The one --json printer of cairnctl and cairn-agent: protobuf JSON, field
// names as in the proto, fields at their defaults printed too, one object per
// line. An error (a string field that is not UTF-8) is returned, never
// swallowed.
//
//   RETURN_IF_ERROR(PrintJson(response, std::cout));
#ifndef CAIRN_COMMON_JSON_OUTPUT_H_
#define CAIRN_COMMON_JSON_OUTPUT_H_

#include <google/protobuf/message.h>

#include <ostream>
#include <string>

#include "absl/status/statusor.h"

namespace cairn {

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);
// ToJson and a newline to `out`.
absl::Status PrintJson(const google::protobuf::Message& message, std::ostream& out);

}  // namespace cairn

#endif  // CAIRN_COMMON_JSON_OUTPUT_H_

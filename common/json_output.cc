#include "common/json_output.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/path_text.h"

namespace cairn {
namespace {

using google::protobuf::FieldDescriptor;

// The first string field (by full name) holding bytes that are not UTF-8:
// protobuf's printer would mangle them without a word.
std::string FirstInvalidUtf8(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    bool repeated = f->is_repeated();
    int n = repeated ? reflection->FieldSize(message, f) : 1;
    for (int i = 0; i < n; ++i) {
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& value = repeated
                                       ? reflection->GetRepeatedStringReference(message, f, i,
                                                                                &scratch)
                                       : reflection->GetStringReference(message, f, &scratch);
        if (!IsUtf8(value)) return f->full_name();
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        std::string inner = FirstInvalidUtf8(repeated ? reflection->GetRepeatedMessage(message, f, i)
                                                      : reflection->GetMessage(message, f));
        if (!inner.empty()) return inner;
      }
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  std::string invalid = FirstInvalidUtf8(message);
  if (!invalid.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot print ", message.GetTypeName(), " as JSON: ", invalid, " is not UTF-8"));
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ", message.GetTypeName(),
                                            " as JSON: ", std::string(status.message())));
  }
  return json;
}

absl::Status PrintJson(const google::protobuf::Message& message, std::ostream& out) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return json.status();
  out << *json << "\n";
  return absl::OkStatus();
}

}  // namespace cairn

#include "common/json_output.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/path_text.h"

namespace cairn {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Bytes fields that hold paths or file names: printed as text.
bool IsPathField(const FieldDescriptor* f) {
  static constexpr absl::string_view kNames[] = {
      "path",        "paths",      "prefix",           "roots",      "name",
      "link_target", "first_name", "target_directory", "page_token", "next_page_token"};
  for (absl::string_view n : kNames) {
    if (f->name() == n) return true;
  }
  return false;
}

// The first string field (by full name) holding bytes that are not UTF-8:
// JSON cannot carry them.
std::string FirstInvalidUtf8(const Message& message) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    bool repeated = f->is_repeated();
    int n = repeated ? reflection->FieldSize(message, f) : 1;
    for (int i = 0; i < n; ++i) {
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& value =
            repeated ? reflection->GetRepeatedStringReference(message, f, i, &scratch)
                     : reflection->GetStringReference(message, f, &scratch);
        if (!IsUtf8(value)) return f->full_name();
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        std::string inner =
            FirstInvalidUtf8(repeated ? reflection->GetRepeatedMessage(message, f, i)
                                      : reflection->GetMessage(message, f));
        if (!inner.empty()) return inner;
      }
    }
  }
  return "";
}

// A JSON string literal of UTF-8 `s`.
void AppendQuoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// The shortest of %.15g and %.17g that reads back as `v`.
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  std::string s = absl::StrFormat("%.15g", v);
  if (std::strtod(s.c_str(), nullptr) != v) s = absl::StrFormat("%.17g", v);
  return s;
}

void AppendMessage(const Message& message, std::string* out);

// One value of field `f` (element `i` when repeated).
void AppendValue(const Message& m, const FieldDescriptor* f, int i, std::string* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out, rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f));
      break;
    // 64-bit integers as strings, as protobuf's JSON mapping has them.
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f), "\"");
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f), "\"");
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      *out += FormatDouble(rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      *out += FormatDouble(rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      *out += (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? "true" : "false";
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
      const google::protobuf::EnumValueDescriptor* v = f->enum_type()->FindValueByNumber(number);
      if (v != nullptr) {
        AppendQuoted(v->name(), out);
      } else {
        absl::StrAppend(out, number);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, i, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_STRING) {
        AppendQuoted(s, out);
      } else if (IsPathField(f)) {
        AppendQuoted(PathToText(s), out);
      } else {
        AppendQuoted(absl::Base64Escape(s), out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      AppendMessage(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), out);
      break;
  }
}

// Whether a path field's text differs from its bytes (then the bytes are
// printed too, as <name>_raw in base64).
bool NeedsRaw(const Message& m, const FieldDescriptor* f, int i) {
  const Reflection* r = m.GetReflection();
  std::string scratch;
  const std::string& s = f->is_repeated() ? r->GetRepeatedStringReference(m, f, i, &scratch)
                                          : r->GetStringReference(m, f, &scratch);
  return PathToText(s) != s;
}

void AppendMessage(const Message& m, std::string* out) {
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  auto key = [&](absl::string_view name) {
    if (!first) out->push_back(',');
    first = false;
    AppendQuoted(name, out);
    out->push_back(':');
  };
  for (int k = 0; k < d->field_count(); ++k) {
    const FieldDescriptor* f = d->field(k);
    // As protobuf prints with always_print_primitive_fields: every scalar
    // and list, but a message, a oneof member or an optional field only when set.
    if (!f->is_repeated() &&
        (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE || f->containing_oneof() != nullptr ||
         f->has_presence()) &&
        !r->HasField(m, f)) {
      continue;
    }
    const bool path = f->type() == FieldDescriptor::TYPE_BYTES && IsPathField(f);
    key(f->name());
    bool raw = false;
    if (f->is_repeated()) {
      out->push_back('[');
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (i > 0) out->push_back(',');
        AppendValue(m, f, i, out);
        raw = raw || (path && NeedsRaw(m, f, i));
      }
      out->push_back(']');
    } else {
      AppendValue(m, f, 0, out);
      raw = path && NeedsRaw(m, f, 0);
    }
    if (!raw) continue;
    key(absl::StrCat(f->name(), "_raw"));
    if (f->is_repeated()) {
      out->push_back('[');
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (i > 0) out->push_back(',');
        AppendQuoted(absl::Base64Escape(r->GetRepeatedString(m, f, i)), out);
      }
      out->push_back(']');
    } else {
      AppendQuoted(absl::Base64Escape(r->GetString(m, f)), out);
    }
  }
  out->push_back('}');
}

}  // namespace

std::string JsonQuote(absl::string_view text) {
  std::string out;
  AppendQuoted(text, &out);
  return out;
}

absl::StatusOr<std::string> ToJson(const Message& message) {
  std::string invalid = FirstInvalidUtf8(message);
  if (!invalid.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot print ", message.GetTypeName(),
                                                   " as JSON: ", invalid, " is not UTF-8"));
  }
  std::string json;
  AppendMessage(message, &json);
  return json;
}

absl::Status PrintJson(const Message& message, std::ostream& out) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return json.status();
  out << *json << "\n";
  return absl::OkStatus();
}

}  // namespace cairn

#include "common/text_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

// The key whose value sits at (line, column) of `text`: the last
// `identifier:` before the column on that line, or "" if there is none.
std::string KeyAt(absl::string_view text, int line, int column) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (line < 0 || static_cast<size_t>(line) >= lines.size()) return "";
  absl::string_view before = lines[line].substr(0, std::max(column, 0));
  std::string key;
  for (size_t i = 0; i < before.size();) {
    if (!absl::ascii_isalpha(before[i]) && before[i] != '_') {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < before.size() && (absl::ascii_isalnum(before[end]) || before[end] == '_')) ++end;
    size_t after = end;
    while (after < before.size() && before[after] == ' ') ++after;
    if (after < before.size() && before[after] == ':') key = std::string(before.substr(i, end - i));
    i = end;
  }
  return key;
}

class ErrorList final : public google::protobuf::io::ErrorCollector {
 public:
  ErrorList(absl::string_view source, absl::string_view text) : source_(source), text_(text) {}
  void AddError(int line, int column, const std::string& message) override {
    std::string key = KeyAt(text_, line, column);
    errors_.push_back(absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ",
                                   key.empty() ? "" : absl::StrCat("key ", key, ": "), message));
  }
  void AddWarning(int line, int column, const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  absl::string_view text_;
  std::vector<std::string> errors_;
};

}  // namespace

absl::Status ParseTextConfig(absl::string_view text, absl::string_view source,
                             google::protobuf::Message* config) {
  ErrorList errors(source, text);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), config) || !errors.errors().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad config: ", absl::StrJoin(errors.errors(), "; "),
        errors.errors().empty() ? "unparsable" : ""));
  }
  return absl::OkStatus();
}

absl::Status LoadTextConfig(const std::string& path, google::protobuf::Message* config) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, kMaxConfigBytes));
  return ParseTextConfig(text, path, config);
}

std::string PrintTextConfig(const google::protobuf::Message& config) {
  std::string out;
  google::protobuf::TextFormat::PrintToString(config, &out);
  return out;
}

}  // namespace cairn

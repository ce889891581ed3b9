#include "common/text_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

class ErrorList final : public google::protobuf::io::ErrorCollector {
 public:
  explicit ErrorList(absl::string_view source) : source_(source) {}
  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, int column, const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace

absl::Status ParseTextConfig(absl::string_view text, absl::string_view source,
                             google::protobuf::Message* config) {
  ErrorList errors(source);
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

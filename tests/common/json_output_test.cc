// The --json printer: protobuf JSON on one line with the proto's field names
// and default-valued fields included, which parses back to the same
// message; PrintJson adds one newline per object; a string field that is
// not UTF-8 is an error and nothing is printed.
#include "common/json_output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "cairn/v1/types.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Job SampleJob() {
  v1::Job job;
  job.set_id("j-0123456789abcdef");
  job.set_kind(v1::JOB_KIND_RESTORE);
  job.set_snapshot_id("s-1");
  job.set_created_unix_ms(1'700'000'000'000);
  job.add_file_errors()->set_path(std::string("caf\xe9", 4));  // bytes: any bytes
  job.mutable_file_errors(0)->set_error("permission denied");
  return job;
}

TEST(JsonOutputTest, OneLineWithProtoFieldNamesAndDefaults) {
  absl::StatusOr<std::string> json = ToJson(SampleJob());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->find('\n'), std::string::npos);
  EXPECT_THAT(*json, HasSubstr("\"snapshot_id\":\"s-1\""));
  EXPECT_THAT(*json, Not(HasSubstr("snapshotId")));
  EXPECT_THAT(*json, HasSubstr("\"kind\":\"JOB_KIND_RESTORE\""));
  // Fields at their defaults are printed too.
  EXPECT_THAT(*json, HasSubstr("\"error\":\"\""));
  EXPECT_THAT(*json, HasSubstr("\"state\":\"JOB_STATE_UNSPECIFIED\""));
  EXPECT_THAT(*json, HasSubstr("\"finished_unix_ms\""));
}

TEST(JsonOutputTest, TheJsonParsesBackToTheSameMessage) {
  const v1::Job job = SampleJob();
  absl::StatusOr<std::string> json = ToJson(job);
  ASSERT_TRUE(json.ok()) << json.status();
  v1::Job back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &back).ok());
  EXPECT_EQ(back.SerializeAsString(), job.SerializeAsString());
}

TEST(JsonOutputTest, PrintJsonWritesOneObjectPerLine) {
  std::ostringstream out;
  ASSERT_TRUE(PrintJson(SampleJob(), out).ok());
  v1::Snapshot empty;
  ASSERT_TRUE(PrintJson(empty, out).ok());
  const std::string text = out.str();
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_EQ(text.back(), '\n');
  const std::string second = text.substr(text.find('\n') + 1);
  EXPECT_THAT(second, HasSubstr("\"root_tree_id\":\"\""));
  absl::StatusOr<std::string> first = ToJson(SampleJob());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(text.substr(0, text.find('\n')), *first);
}

TEST(JsonOutputTest, AStringFieldThatIsNotUtf8IsAnErrorAndNothingIsPrinted) {
  v1::Job job = SampleJob();
  job.set_error(std::string("bad \xff\xfe bytes", 11));
  absl::StatusOr<std::string> json = ToJson(job);
  EXPECT_FALSE(json.ok()) << "printed: " << json.value_or("");
  EXPECT_THAT(json.status().message(), HasSubstr("cairn.v1.Job"));
  std::ostringstream out;
  out << "before|";
  absl::Status printed = PrintJson(job, out);
  EXPECT_FALSE(printed.ok());
  EXPECT_EQ(out.str(), "before|");
  // In a nested message as well.
  v1::Job nested = SampleJob();
  nested.mutable_file_errors(0)->set_error(std::string("\xc0\xaf", 2));
  EXPECT_FALSE(ToJson(nested).ok());
}

}  // namespace
}  // namespace cairn

// The --json printer: protobuf JSON on one line with the proto's field names
// and default-valued fields included, which parses back to the same message
// where it holds no paths; paths as text (PathToText) with the raw bytes
// beside them only where the text differs; PrintJson adds one newline per
// object; a string field that is not UTF-8 is an error and nothing is printed.
#include "common/json_output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "cairn/v1/types.pb.h"
#include "common/path_text.h"
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
  v1::Job job = SampleJob();
  job.clear_file_errors();  // paths are printed as text, not as protobuf's base64
  job.set_state(v1::JOB_STATE_RUNNING);
  job.mutable_progress()->set_bytes_done(1ull << 40);
  job.mutable_verify()->add_snapshot_ids("s-2");
  absl::StatusOr<std::string> json = ToJson(job);
  ASSERT_TRUE(json.ok()) << json.status();
  v1::Job back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &back).ok());
  EXPECT_EQ(back.SerializeAsString(), job.SerializeAsString());
}

TEST(JsonOutputTest, PathsAreTextWithTheRawBytesOnlyWhereTheTextDiffers) {
  absl::StatusOr<std::string> json = ToJson(SampleJob());
  ASSERT_TRUE(json.ok()) << json.status();
  // "caf\xe9" in JSON is the text caf\xe9 (PathToText), "Y2Fm6Q==" is caf\xe9's bytes.
  EXPECT_THAT(*json, HasSubstr(R"("path":"caf\\xe9","path_raw":"Y2Fm6Q==")"));
  absl::StatusOr<std::string> raw = PathFromText("caf\\xe9");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, std::string("caf\xe9", 4));

  v1::Snapshot snapshot;
  snapshot.add_roots("/data/données");
  snapshot.add_roots(std::string("/data/\xff", 7));
  snapshot.add_roots("/data/back\\slash");
  snapshot.set_root_tree_id(std::string(3, '\x01'));
  json = ToJson(snapshot);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr(R"("roots":["/data/données","/data/\\xff","/data/back\\\\slash"])"));
  EXPECT_THAT(
      *json,
      HasSubstr(
          R"("roots_raw":["L2RhdGEvZG9ubsOpZXM=","L2RhdGEv/w==","L2RhdGEvYmFja1xzbGFzaA=="])"));
  // Ids stay base64.
  EXPECT_THAT(*json, HasSubstr(R"("root_tree_id":"AQEB")"));

  v1::FileError plain;
  plain.set_path("dir/file.txt");
  json = ToJson(plain);
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr(R"("path":"dir/file.txt")"));
  EXPECT_THAT(*json, Not(HasSubstr("path_raw")));
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

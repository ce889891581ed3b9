// ParseTextConfig, LoadTextConfig and PrintTextConfig with the real config
// schemas: a file parses into its message and prints back to the same
// message; unknown keys, bad values and broken syntax are errors that name
// the file, the line and the key; a missing or oversized file is refused.
#include "common/text_config.h"

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/v1/config.pb.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/tiers/tier_test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

constexpr char kAgentConf[] = R"(# an agent
server: "backup.example:7420"
name: "gpu-1"
roots: "/data"
roots: "/ckpt"
chunker { min_bytes: 1024 avg_bytes: 4096 max_bytes: 16384 }
workers: 8
)";

TEST(TextConfigTest, ParsesIntoTheSchemaAndPrintsBack) {
  v1::AgentConfig config;
  ASSERT_OK(ParseTextConfig(kAgentConf, "agent.conf", &config));
  EXPECT_EQ(config.server(), "backup.example:7420");
  EXPECT_EQ(config.name(), "gpu-1");
  ASSERT_EQ(config.roots_size(), 2);
  EXPECT_EQ(config.roots(1), "/ckpt");
  EXPECT_EQ(config.chunker().avg_bytes(), 4096u);
  EXPECT_EQ(config.workers(), 8u);
  EXPECT_TRUE(config.tenant().empty()) << "absent keys stay empty for the defaults";

  v1::AgentConfig again;
  ASSERT_OK(ParseTextConfig(PrintTextConfig(config), "printed", &again));
  EXPECT_EQ(again.SerializeAsString(), config.SerializeAsString());
  // An empty file is an empty config.
  v1::ServerConfig empty;
  ASSERT_OK(ParseTextConfig("", "empty.conf", &empty));
  EXPECT_EQ(empty.ByteSizeLong(), 0u);
}

TEST(TextConfigTest, AnUnknownKeyNamesTheFileTheLineAndTheKey) {
  v1::ServerConfig config;
  absl::Status status = ParseTextConfig("listen: \"127.0.0.1:1\"\n\nstate_dri: \"/var/cairn\"\n",
                                        "server.conf", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("server.conf:3:"));
  EXPECT_THAT(status.message(), HasSubstr("state_dri"));
}

struct BadValue {
  const char* text;
  const char* line;
  const char* key;
};
const BadValue kBadValues[] = {{"name: \"a\"\nworkers: \"many\"\n", "agent.conf:2:", "workers"},
                               {"workers: -1\n", "agent.conf:1:", "workers"},
                               {"name: 5\n", "agent.conf:1:", "name"},
                               {"\n\nchunker { min_bytes: x }\n", "agent.conf:3:", "min_bytes"}};

TEST(TextConfigTest, ABadValueNamesTheFileAndTheLine) {
  for (const BadValue& c : kBadValues) {
    SCOPED_TRACE(c.text);
    v1::AgentConfig config;
    absl::Status status = ParseTextConfig(c.text, "agent.conf", &config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.line));
  }
}

// The header promises the key too (protobuf's own messages name only the
// position: "agent.conf:2:10: Expected integer, got: \"many\"").
TEST(TextConfigTest, ABadValueNamesTheKey) {
  for (const BadValue& c : kBadValues) {
    SCOPED_TRACE(c.text);
    v1::AgentConfig config;
    absl::Status status = ParseTextConfig(c.text, "agent.conf", &config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.key));
  }
}

TEST(TextConfigTest, BrokenSyntaxNamesTheFileAndTheLine) {
  for (const char* text : {"chunker { min_bytes: 1\n", "listen \"x\"\n", "}\n"}) {
    SCOPED_TRACE(text);
    v1::AgentConfig config;
    absl::Status status = ParseTextConfig(text, "agent.conf", &config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("agent.conf:"));
  }
}

TEST(TextConfigTest, LoadReadsTheFileAndRefusesWhatItCannotRead) {
  const std::string dir = FreshTestDir("text_config");
  ASSERT_OK(MakeDirectories(dir, 0750));
  const std::string path = dir + "/agent.conf";
  ASSERT_OK(WriteFileAtomically(path, kAgentConf));
  v1::AgentConfig config;
  ASSERT_OK(LoadTextConfig(path, &config));
  EXPECT_EQ(config.name(), "gpu-1");

  ASSERT_OK(WriteFileAtomically(path, "name: \"a\"\nbogus: 1\n"));
  absl::Status bad = LoadTextConfig(path, &config);
  EXPECT_THAT(bad.message(), HasSubstr(absl::StrCat(path, ":2:")));

  absl::Status missing = LoadTextConfig(dir + "/nope.conf", &config);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("nope.conf"));

  // Over a megabyte: not a config file.
  ASSERT_OK(WriteFileAtomically(path, std::string((1 << 20) + 1, '#')));
  EXPECT_FALSE(LoadTextConfig(path, &config).ok());
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cairn

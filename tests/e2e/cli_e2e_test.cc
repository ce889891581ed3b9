// The command lines as a user meets them: help, the messages of the common
// mistakes (no server, no key, a wrong snapshot id), and --json on every
// cairnctl command printing JSON a script can parse.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/tree_util.h"

namespace cairn::e2e {
namespace {

std::string Lower(const CommandResult& r) { return absl::AsciiStrToLower(r.out + r.err); }

TEST(CliE2eTest, HelpOfEachBinaryExitsZeroAndNamesItsCommands) {
  struct Binary {
    const char* path;
    std::vector<std::string> mentions;
  };
  const Binary binaries[] = {
      {CAIRN_SERVER_BIN, {"--config", "--listen", "--state-dir"}},
      {CAIRN_AGENT_BIN, {"init", "backup", "restore", "daemon", "--server", "--key-file"}},
      {CAIRNCTL_BIN,
       {"status", "agents", "jobs", "job", "snapshots", "ls", "diff", "stats", "restore", "backup",
        "verify", "--server", "--json"}},
  };
  for (const Binary& b : binaries) {
    for (const char* flag : {"--help", "-h"}) {
      CommandResult r = RunCommand({b.path, flag}, absl::Seconds(20));
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
      std::string text = r.out + r.err;
      for (const std::string& word : b.mentions) {
        EXPECT_TRUE(absl::StrContains(text, word))
            << b.path << " " << flag << " does not mention " << word << ":\n"
            << text;
      }
    }
  }
}

TEST(CliE2eTest, CtlWithoutAServerSaysCannotReach) {
  std::string dir = NewTestDir("cli_no_server");
  // A port that was just ours and now has no listener.
  auto server = ServerProcess::Start(dir + "/server");
  ASSERT_TRUE(server.ok()) << server.status();
  std::string address = (*server)->address();
  // An agent enrolled while the server was up.
  AgentIdentity agent = NewAgentIdentity(**server, dir, "lonely");
  ASSERT_TRUE(SetUpAgent(agent).ok());
  ASSERT_TRUE((*server)->Stop().ok());
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"status"}, {"snapshots", "--json"}, {"jobs"}, {"verify"}}) {
    CommandResult r = RunCommand(CtlArgs(**server, args), absl::Seconds(60));
    EXPECT_FALSE(r.timed_out) << r.Describe();
    EXPECT_NE(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(absl::StrContains(r.err, "cannot reach")) << r.Describe();
    EXPECT_TRUE(absl::StrContains(r.err, address)) << "name the address tried: " << r.Describe();
  }
  // The agent, too.
  std::string data = dir + "/data";
  ASSERT_TRUE(MakeDirectories(data).ok());
  CommandResult backup = RunCommand(AgentArgs(agent, "backup", {"--root", data}));
  EXPECT_NE(backup.exit_code, 0) << backup.Describe();
  EXPECT_TRUE(absl::StrContains(backup.err, "cannot reach")) << backup.Describe();
}

class CliWithServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir("cli");
    auto server = ServerProcess::Start(dir_ + "/server");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    agent_ = NewAgentIdentity(*server_, dir_, "alpha");
  }
  CommandResult Ctl(const std::vector<std::string>& args) {
    return RunCommand(CtlArgs(*server_, args));
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  AgentIdentity agent_;
};

TEST_F(CliWithServerE2eTest, AgentWithoutAKeySaysToRunInit) {
  std::string data = dir_ + "/data";
  ASSERT_TRUE(WriteRandomFile(dir_ + "/f", 10, 1).ok());
  ASSERT_TRUE(MakeDirectories(data).ok());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           AgentArgs(agent_, "backup", {"--root", data}),
           AgentArgs(agent_, "restore",
                     {"--snapshot", "s-0123456789abcdef", "--target", dir_ + "/r"}),
           AgentArgs(agent_, "daemon")}) {
    CommandResult r = RunCommand(args, absl::Seconds(20));
    EXPECT_NE(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(absl::StrContains(r.err, "cairn-agent init")) << r.Describe();
  }
  // And init (then enroll) makes it work.
  ASSERT_TRUE(SetUpAgent(agent_).ok());
  BackupOutcome backup = AgentBackup(agent_, data, "full");
  EXPECT_EQ(backup.command.exit_code, 0) << backup.command.Describe();
  // A second init does not overwrite the key (that would orphan every backup).
  CommandResult again = RunCommand(AgentArgs(agent_, "init"));
  EXPECT_NE(again.exit_code, 0) << again.Describe();
  EXPECT_TRUE(absl::StrContains(Lower(again), "exist")) << again.Describe();
}

TEST_F(CliWithServerE2eTest, RestoreOfAnUnknownSnapshotIsAClearError) {
  ASSERT_TRUE(SetUpAgent(agent_).ok());
  const std::string unknown = "s-0123456789abcdef";
  CommandResult ctl = Ctl({"restore", unknown, "--target", dir_ + "/r", "--to-agent", "alpha"});
  EXPECT_NE(ctl.exit_code, 0) << ctl.Describe();
  EXPECT_TRUE(absl::StrContains(ctl.err, unknown)) << ctl.Describe();
  EXPECT_TRUE(absl::StrContains(Lower(ctl), "no snapshot") ||
              absl::StrContains(Lower(ctl), "not found") ||
              absl::StrContains(Lower(ctl), "unknown"))
      << ctl.Describe();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"ls", unknown}, {"diff", unknown, unknown}, {"stats", "--snapshot", unknown}}) {
    CommandResult r = Ctl(args);
    EXPECT_NE(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(absl::StrContains(r.err, unknown)) << r.Describe();
  }
  CommandResult agent = AgentRestore(agent_, unknown, dir_ + "/r2");
  EXPECT_NE(agent.exit_code, 0) << agent.Describe();
  EXPECT_TRUE(absl::StrContains(agent.err, unknown)) << agent.Describe();
}

TEST_F(CliWithServerE2eTest, EveryCtlCommandPrintsParseableJson) {
  ASSERT_TRUE(SetUpAgent(agent_).ok());
  std::string data = dir_ + "/data";
  ASSERT_TRUE(BuildSampleTree(data, 5, 0).ok());
  BackupOutcome first = AgentBackup(agent_, data, "full");
  ASSERT_EQ(first.command.exit_code, 0) << first.command.Describe();
  ASSERT_TRUE(WriteRandomFile(data + "/new", 100, 2).ok());
  BackupOutcome second = AgentBackup(agent_, data, "incremental");
  ASSERT_EQ(second.command.exit_code, 0) << second.command.Describe();
  // The agent's own --json too.
  EXPECT_TRUE(IsValidJson(first.command.out)) << first.command.out;
  CommandResult restored = AgentRestore(agent_, first.snapshot, dir_ + "/restored");
  ASSERT_EQ(restored.exit_code, 0) << restored.Describe();
  EXPECT_TRUE(IsValidJson(restored.out)) << restored.out;

  CommandResult jobs = Ctl({"jobs", "--json"});
  std::vector<std::string> job_ids = JsonStrings(jobs.out, "id");
  ASSERT_FALSE(job_ids.empty()) << jobs.Describe();
  const std::string job = job_ids[0];
  // The agent is not online: ordered jobs wait in the queue, --detach returns.
  const std::vector<std::vector<std::string>> commands = {
      {"status"},
      {"agents"},
      {"jobs"},
      {"jobs", "--agent", "alpha", "--limit", "1"},
      {"job", job},
      {"snapshots"},
      {"snapshots", "--agent", "alpha"},
      {"ls", first.snapshot},
      {"ls", first.snapshot, "a", "--recursive"},
      {"diff", first.snapshot, second.snapshot},
      {"stats"},
      {"stats", "--by-kind", "--agent", "alpha"},
      {"stats", "--snapshot", first.snapshot},
      {"restore", first.snapshot, "--target", dir_ + "/r", "--detach"},
      {"backup", "--agent", "alpha", "--root", data, "--detach"},
      {"verify"},
      {"verify", "--read-data"},
      {"watch", job},
  };
  for (std::vector<std::string> args : commands) {
    args.push_back("--json");
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    std::string trimmed(absl::StripLeadingAsciiWhitespace(r.out));
    EXPECT_TRUE(!trimmed.empty() && (trimmed[0] == '{' || trimmed[0] == '['))
        << "not JSON: " << r.Describe();
    EXPECT_TRUE(IsValidJson(r.out)) << "does not parse: " << r.Describe();
  }
}

}  // namespace
}  // namespace cairn::e2e

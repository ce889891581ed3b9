// Two agents of one tenant: they share the tenant key, so the second copy of a
// dataset uploads almost nothing; and an admin restores one agent's snapshot
// onto the other agent through cairnctl and the agent's daemon.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/log/log.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/tree_util.h"

namespace cairn::e2e {
namespace {

// The same 50 MiB dataset wherever it is written.
absl::Status WriteDataset(const std::string& root) {
  RETURN_IF_ERROR(MakeDirectories(root + "/shards", 0755));
  for (int i = 0; i < 5; ++i) {
    RETURN_IF_ERROR(
        WriteRandomFile(absl::StrCat(root, "/shards/shard-", i, ".bin"), 10 << 20, 500 + i));
  }
  for (int i = 0; i < 20; ++i) {
    RETURN_IF_ERROR(WriteRandomFile(absl::StrCat(root, "/meta-", i, ".json"), 100 + 37 * i, 600 + i,
                                    0644,
                                    /*compressible=*/true));
  }
  return absl::OkStatus();
}

// `cairnctl agents --json`: is `name` listed, and online?
std::optional<bool> AgentOnline(const std::string& json, const std::string& name) {
  for (const std::string& agent : JsonArrayObjects(json, "agents")) {
    std::vector<std::string> names = JsonStrings(agent, "name");
    if (names.empty() || names[0] != name) continue;
    std::vector<bool> online = JsonBools(agent, "online");
    return !online.empty() && online[0];
  }
  return std::nullopt;
}

using LogFields = std::map<std::string, std::string>;

void ExpectOnlyLogLines(const std::string& log) {
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    absl::StatusOr<LogFields> fields = log::ParseLine(line);
    EXPECT_TRUE(fields.ok()) << "not a key=value log line: " << line;
  }
}

TEST(TwoAgentsE2eTest, SharedKeyDedupsAcrossAgentsAndRestoresOntoTheOther) {
  std::string dir = NewTestDir("two_agents");
  auto server = ServerProcess::Start(dir + "/server");
  ASSERT_TRUE(server.ok()) << server.status();
  AgentIdentity a = NewAgentIdentity(**server, dir, "node-a");
  ASSERT_TRUE(SetUpAgent(a).ok());
  // B gets a copy of A's key file: same tenant, same chunk ids.
  AgentIdentity b = NewAgentIdentity(**server, dir, "node-b");
  absl::StatusOr<std::string> key = ReadFileToString(a.key_file, 1 << 20);
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(MakeDirectories(b.state_dir, 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(b.key_file, *key, 0600).ok());
  ASSERT_TRUE(EnrollAgentCli(b).ok());

  std::string data_a = dir + "/host-a/data";
  std::string data_b = dir + "/host-b/data";
  ASSERT_TRUE(WriteDataset(data_a).ok());
  ASSERT_TRUE(WriteDataset(data_b).ok());
  absl::StatusOr<TreeManifest> tree_a = CaptureTree(data_a);
  ASSERT_TRUE(tree_a.ok()) << tree_a.status();
  const uint64_t total = TotalFileBytes(*tree_a);
  ASSERT_GE(total, 50u << 20);

  BackupOutcome backup_a = AgentBackup(a, data_a, "full");
  ASSERT_EQ(backup_a.command.exit_code, 0) << backup_a.command.Describe();
  ASSERT_FALSE(backup_a.snapshot.empty());
  EXPECT_GE(backup_a.bytes_uploaded, static_cast<int64_t>(total) * 9 / 10) << backup_a.command.out;

  BackupOutcome backup_b = AgentBackup(b, data_b, "full");
  ASSERT_EQ(backup_b.command.exit_code, 0) << backup_b.command.Describe();
  ASSERT_FALSE(backup_b.snapshot.empty());
  ASSERT_GE(backup_b.bytes_uploaded, 0) << backup_b.command.out;
  EXPECT_LT(backup_b.bytes_uploaded, backup_a.bytes_uploaded / 100)
      << "agent B re-uploaded data agent A already stored: " << backup_b.command.out;

  // Restore A's snapshot onto B, ordered by an admin, carried out by B's daemon.
  auto daemon = AgentDaemonProcess::Start(b);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  bool online = WaitFor(
      [&] {
        CommandResult r = RunCommand(CtlArgs(**server, {"agents", "--json"}));
        return AgentOnline(r.out, b.name).value_or(false);
      },
      absl::Seconds(20), absl::Milliseconds(100));
  ASSERT_TRUE(online) << "node-b never came online; daemon log:\n" << (*daemon)->Log();

  // Below B's default restore target (STATE_DIR/restores).
  std::string target = b.state_dir + "/restores/from-a";
  CommandResult restore = RunCommand(
      CtlArgs(**server, {"restore", backup_a.snapshot, "--to-agent", b.name, "--target", target}));
  ASSERT_EQ(restore.exit_code, 0) << restore.Describe() << "\ndaemon log:\n" << (*daemon)->Log();
  absl::StatusOr<TreeManifest> restored = CaptureTree(target);
  ASSERT_TRUE(restored.ok()) << restored.status();
  std::vector<std::string> diffs = CompareTrees(*tree_a, *restored);
  EXPECT_TRUE(diffs.empty()) << FormatDifferences(diffs);

  // The job is on record as B's, and succeeded.
  CommandResult jobs = RunCommand(CtlArgs(**server, {"jobs", "--json"}));
  ASSERT_EQ(jobs.exit_code, 0) << jobs.Describe();
  bool found_restore = false;
  for (const std::string& job : JsonArrayObjects(jobs.out, "jobs")) {
    if (JsonStrings(job, "kind") != std::vector<std::string>{"JOB_KIND_RESTORE"}) continue;
    found_restore = true;
    EXPECT_EQ(JsonStrings(job, "agent"), std::vector<std::string>{b.name}) << job;
    EXPECT_EQ(JsonStrings(job, "state"), std::vector<std::string>{"JOB_STATE_SUCCEEDED"}) << job;
  }
  EXPECT_TRUE(found_restore) << jobs.out;

  // Status shows both agents, B online (its daemon runs), A not.
  CommandResult status = RunCommand(CtlArgs(**server, {"status", "--json"}));
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  EXPECT_TRUE(IsValidJson(status.out)) << status.out;
  EXPECT_EQ(AgentOnline(status.out, b.name), std::optional<bool>(true)) << status.out;
  EXPECT_EQ(AgentOnline(status.out, a.name), std::optional<bool>(false)) << status.out;

  absl::Status stopped = (*daemon)->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped;

  // Both daemons log one key=value line per event (docs/operations.md).
  ExpectOnlyLogLines((*server)->Log());
  ExpectOnlyLogLines((*daemon)->Log());
  // Enrollment asks for the server's name, not its address: gRPC has no TLS
  // handshake to complain of (it logged one error per enrollment before).
  for (LogFields& grpc : LogEvents((*server)->Log(), "grpc.log")) {
    EXPECT_NE(grpc["level"], "error") << grpc["message"];
  }
  std::vector<LogFields> connected = LogEvents((*server)->Log(), "agent.connected");
  ASSERT_FALSE(connected.empty()) << (*server)->Log();
  EXPECT_EQ(connected.back()["agent"], b.name);
  EXPECT_EQ(connected.back()["level"], "info");
  bool restore_logged = false;
  for (LogFields& job : LogEvents((*server)->Log(), "job.finished")) {
    if (job["kind"] != "restore") continue;
    restore_logged = true;
    EXPECT_EQ(job["result"], "succeeded");
    EXPECT_EQ(job["agent"], b.name);
    EXPECT_EQ(job["files"], "25");  // WriteDataset's 5 shards and 20 meta files
  }
  EXPECT_TRUE(restore_logged) << (*server)->Log();
  // The server notices the stream end a moment after the daemon exits.
  EXPECT_TRUE(WaitFor([&] { return !LogEvents((*server)->Log(), "agent.disconnected").empty(); },
                      absl::Seconds(10), absl::Milliseconds(50)))
      << (*server)->Log();
  std::vector<LogFields> finished = LogEvents((*daemon)->Log(), "restore.finished");
  ASSERT_EQ(finished.size(), 1u) << (*daemon)->Log();
  EXPECT_EQ(finished[0]["failed"], "0");
  EXPECT_EQ(finished[0]["bytes"], absl::StrCat(total));
  EXPECT_EQ(LogEvents((*daemon)->Log(), "agent.started").size(), 1u) << (*daemon)->Log();
  EXPECT_EQ(LogEvents((*daemon)->Log(), "agent.stopped").size(), 1u) << (*daemon)->Log();
}

}  // namespace
}  // namespace cairn::e2e

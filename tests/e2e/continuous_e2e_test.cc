// Continuous protection end to end: cairnctl applies a continuous policy, the
// server pushes it to a running `cairn-agent daemon`, a change reaches a
// committed snapshot within seconds, status shows the agent's policies and
// last change, and a change that was only journaled survives a kill -9 of
// the daemon. A policy with a bad cron is refused, naming the field.
#include <signal.h>

#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/tree_util.h"

namespace cairn::e2e {
namespace {

constexpr char kAgent[] = "node-c";

class ContinuousE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir("continuous");
    auto server = ServerProcess::Start(dir_ + "/server");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    agent_ = NewAgentIdentity(*server_, dir_, kAgent);
    ASSERT_TRUE(SetUpAgent(agent_).ok());
    root_ = dir_ + "/data";
    ASSERT_TRUE(MakeDirectories(root_ + "/sub", 0755).ok());
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(WriteRandomFile(absl::StrCat(root_, "/sub/file-", i), 2000 + 100 * i, i).ok());
    }
    // The daemon's config names the root, so ordered backups cover it too.
    config_ = dir_ + "/agent.conf";
    ASSERT_TRUE(WriteFileAtomically(config_, absl::StrCat("roots: \"", root_, "\"\n"), 0644).ok());
  }

  CommandResult Ctl(const std::vector<std::string>& args) {
    return RunCommand(CtlArgs(*server_, args));
  }

  // Applies the continuous policy "live" on the root.
  void ApplyPolicy(int interval_seconds) {
    std::string file = absl::StrCat(dir_, "/policy-", interval_seconds, ".txt");
    ASSERT_TRUE(WriteFileAtomically(file,
                                    absl::StrCat("policy {\n  name: \"live\"\n  agents: \"", kAgent,
                                                 "\"\n  roots: \"", root_,
                                                 "\"\n  continuous: true\n  interval_seconds: ",
                                                 interval_seconds, "\n  quiet_seconds: 1\n}\n"),
                                    0644)
                    .ok());
    CommandResult applied = Ctl({"policy", "apply", file});
    ASSERT_EQ(applied.exit_code, 0) << applied.Describe();
    EXPECT_TRUE(absl::StrContains(applied.out, "live")) << applied.Describe();
  }

  void StartDaemon() {
    std::string log = absl::StrCat(dir_, "/daemon-", daemons_++, ".log");
    auto child =
        ChildProcess::Spawn(AgentArgs(agent_, "daemon", {"--config", config_}), log + ".out", log);
    ASSERT_TRUE(child.ok()) << child.status();
    daemon_ = *std::move(child);
  }

  // Snapshot ids of the agent, newest first.
  std::vector<std::string> Snapshots() {
    CommandResult r = Ctl({"snapshots", "--agent", kAgent, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    std::vector<std::string> ids;
    for (const std::string& s : JsonArrayObjects(r.out, "snapshots")) {
      std::vector<std::string> id = JsonStrings(s, "id");
      if (!id.empty()) ids.push_back(id[0]);
    }
    return ids;
  }

  // The size `cairnctl ls` shows for the file at `path` in `snapshot`.
  std::optional<uint64_t> SizeIn(const std::string& snapshot, const std::string& path) {
    CommandResult r = Ctl({"ls", snapshot, path});
    if (r.exit_code != 0) return std::nullopt;
    for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
      std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      uint64_t size = 0;
      if (fields.size() >= 5 && absl::EndsWith(line, path) && absl::SimpleAtoi(fields[3], &size)) {
        return size;
      }
    }
    return std::nullopt;
  }

  // Waits for a snapshot not in `seen` that holds `path` with `size` bytes.
  std::optional<std::string> WaitForSnapshotWith(std::set<std::string>* seen,
                                                 const std::string& path, uint64_t size,
                                                 absl::Duration timeout) {
    std::optional<std::string> found;
    WaitFor(
        [&] {
          for (const std::string& id : Snapshots()) {
            if (!seen->insert(id).second) continue;
            if (SizeIn(id, path) == size) found = id;
          }
          return found.has_value();
        },
        timeout, absl::Milliseconds(50));
    return found;
  }

  void ExpectRestoresToRoot(const std::string& snapshot, const std::string& label) {
    std::string target = absl::StrCat(dir_, "/restore-", label);
    // With the daemon's config: a Hello without it would forget the roots.
    CommandResult r = RunCommand(AgentArgs(
        agent_, "restore", {"--snapshot", snapshot, "--target", target, "--config", config_}));
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    std::vector<std::string> diff = CompareDirectories(root_, target);
    EXPECT_TRUE(diff.empty()) << snapshot << " (" << label << "):\n" << FormatDifferences(diff);
  }

  std::string dir_;
  std::string root_;
  std::string config_;
  std::unique_ptr<ServerProcess> server_;
  AgentIdentity agent_;
  std::unique_ptr<ChildProcess> daemon_;
  int daemons_ = 0;
};

TEST_F(ContinuousE2eTest, PolicyDrivenContinuousSnapshotsAndAJournalThatSurvivesKill9) {
  ApplyPolicy(/*interval_seconds=*/1);
  if (HasFatalFailure()) return;
  StartDaemon();
  if (HasFatalFailure()) return;
  // The start-up reconcile commits the first snapshot on its own.
  ASSERT_TRUE(
      WaitFor([&] { return !Snapshots().empty(); }, absl::Seconds(30), absl::Milliseconds(100)))
      << "no start-up snapshot; daemon log:\n"
      << daemon_->Stderr();
  std::vector<std::string> initial = Snapshots();
  std::set<std::string> seen(initial.begin(), initial.end());

  // A change is in a committed snapshot within seconds.
  const std::string changed = "sub/file-3";
  ASSERT_TRUE(WriteRandomFile(root_ + "/" + changed, 12345, 77).ok());
  const absl::Time written = absl::Now();
  std::optional<std::string> with_change =
      WaitForSnapshotWith(&seen, changed, 12345, absl::Seconds(30));
  const absl::Duration latency = absl::Now() - written;
  ASSERT_TRUE(with_change.has_value()) << "daemon log:\n" << daemon_->Stderr();
  std::cout << "[ latency  ] write -> snapshot listed by cairnctl: "
            << absl::ToInt64Milliseconds(latency) << " ms\n";
  RecordProperty("latency_ms", static_cast<int>(absl::ToInt64Milliseconds(latency)));
  // The daemon logged the snapshot as a continuous backup (it may log it a
  // moment after cairnctl lists it).
  EXPECT_TRUE(WaitFor(
      [&] {
        for (auto& fields : LogEvents(daemon_->Stderr(), "backup.committed")) {
          if (fields["snapshot"] == *with_change) return fields["trigger"] == "continuous";
        }
        return false;
      },
      absl::Seconds(10), absl::Milliseconds(50)))
      << daemon_->Stderr();
  // Recorded above, not asserted: timings belong to make bench; the 30 s wait bounds it.
  ExpectRestoresToRoot(*with_change, "continuous");

  // Status: the agent's policies and the last change its watcher saw
  // (heartbeats come every 5 s).
  const int64_t written_ms = absl::ToUnixMillis(written);
  std::string agent_status;
  bool reported = WaitFor(
      [&] {
        CommandResult r = Ctl({"status", "--json"});
        for (const std::string& a : JsonArrayObjects(r.out, "agents")) {
          std::vector<std::string> name = JsonStrings(a, "name");
          if (name.empty() || name[0] != kAgent) continue;
          agent_status = a;
          std::vector<int64_t> change = JsonInts(a, "last_change_unix_ms");
          return !change.empty() && change[0] >= written_ms - 1000;
        }
        return false;
      },
      absl::Seconds(20), absl::Milliseconds(250));
  EXPECT_TRUE(reported) << agent_status;
  EXPECT_TRUE(absl::StrContains(agent_status, "\"policies\":[\"live\"]")) << agent_status;

  // With an hour between snapshots, a change stays in the journal only; the
  // daemon dies with it there and the next ordered backup still takes it.
  daemon_->Kill();
  ApplyPolicy(/*interval_seconds=*/3600);
  if (HasFatalFailure()) return;
  size_t before_restart = Snapshots().size();
  StartDaemon();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitFor([&] { return Snapshots().size() > before_restart; }, absl::Seconds(30),
                      absl::Milliseconds(100)))
      << "no start-up snapshot after the restart; daemon log:\n"
      << daemon_->Stderr();
  size_t before_change = Snapshots().size();
  ASSERT_TRUE(WriteRandomFile(root_ + "/sub/file-5", 23456, 78).ok());
  ASSERT_TRUE(WriteRandomFile(root_ + "/late-arrival", 999, 79).ok());
  absl::SleepFor(absl::Seconds(1));  // watched, journaled and fsynced
  EXPECT_EQ(Snapshots().size(), before_change) << "the hour-long interval was not applied";
  daemon_->Kill();

  StartDaemon();
  if (HasFatalFailure()) return;
  CommandResult backup = Ctl({"backup", "--agent", kAgent, "--json"});
  ASSERT_EQ(backup.exit_code, 0) << backup.Describe() << "\ndaemon log:\n" << daemon_->Stderr();
  std::string ordered = FirstSnapshotId(backup.out);
  ASSERT_FALSE(ordered.empty()) << backup.Describe();
  EXPECT_EQ(SizeIn(ordered, "sub/file-5"), 23456u);
  ExpectRestoresToRoot(ordered, "after-kill");

  daemon_->Signal(SIGTERM);
  ASSERT_TRUE(daemon_->Wait(absl::Seconds(15))) << daemon_->Stderr();
  EXPECT_EQ(daemon_->exit_code(), 0) << daemon_->Stderr();
}

TEST_F(ContinuousE2eTest, PolicyWithABadCronIsRefusedNamingTheField) {
  std::string file = dir_ + "/bad-policy.txt";
  ASSERT_TRUE(WriteFileAtomically(file,
                                  "policy {\n  name: \"nightly\"\n  agents: \"*\"\n"
                                  "  schedules { cron: \"0 3 * *\" level: BACKUP_LEVEL_FULL }\n}\n",
                                  0644)
                  .ok());
  CommandResult applied = Ctl({"policy", "apply", file});
  EXPECT_NE(applied.exit_code, 0) << applied.Describe();
  EXPECT_TRUE(absl::StrContains(applied.err, "schedules.cron")) << applied.Describe();
  CommandResult list = Ctl({"policy", "list", "--json"});
  EXPECT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_FALSE(absl::StrContains(list.out, "nightly")) << "a refused policy was stored";
}

}  // namespace
}  // namespace cairn::e2e

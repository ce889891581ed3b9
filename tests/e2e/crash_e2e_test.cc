// Crashes: the server is killed -9 at many points of a backup and restarted;
// every backup it acknowledged must restore exactly, the catalog must stay
// consistent and point only at packs that exist. And an agent killed -9
// mid-upload re-sends only what had not become durable.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/server_state_util.h"
#include "tests/e2e/tree_util.h"

namespace cairn::e2e {
namespace {

struct Acknowledged {
  std::string snapshot;
  TreeManifest tree;
  int round;
};

// Writes a server config file with the given pack size into `dir`.
std::string WriteServerConfig(const std::string& dir, uint64_t pack_target_bytes) {
  std::string path = dir + "/server.conf";
  absl::Status written =
      WriteFileAtomically(path, absl::StrCat("pack_target_bytes: ", pack_target_bytes, "\n"), 0644);
  EXPECT_TRUE(written.ok()) << written;
  return path;
}

std::string VerifyProblems(const ServerProcess& server) {
  CommandResult verify =
      RunCommand(CtlArgs(server, {"verify", "--read-data", "--json"}), absl::Minutes(2));
  if (verify.exit_code != 0 || !absl::StrContains(verify.out, "\"problems\":[]")) {
    return verify.Describe();
  }
  return "";
}

TEST(CrashE2eTest, ServerKilledDuringBackupsLosesNothingAcknowledged) {
  std::string dir = NewTestDir("crash_server");
  std::string config = WriteServerConfig(dir, 2 << 20);
  auto started = ServerProcess::Start(dir + "/server", config);
  ASSERT_TRUE(started.ok()) << started.status();
  ServerProcess& server = **started;
  AgentIdentity agent = NewAgentIdentity(server, dir, "crashy");
  ASSERT_TRUE(SetUpAgent(agent).ok());

  std::string data = dir + "/data";
  auto at = [&data](absl::string_view rel) { return absl::StrCat(data, "/", rel); };
  ASSERT_TRUE(BuildSampleTree(data, 3, 6 << 20).ok());

  // A first backup, not interrupted; it also times one backup here.
  std::vector<Acknowledged> acked;
  absl::Duration one_backup;
  {
    absl::StatusOr<TreeManifest> tree = CaptureTree(data);
    ASSERT_TRUE(tree.ok());
    absl::Time start = absl::Now();
    BackupOutcome first = AgentBackup(agent, data, "full");
    one_backup = absl::Now() - start;
    ASSERT_EQ(first.command.exit_code, 0) << first.command.Describe();
    acked.push_back({first.snapshot, *std::move(tree), 0});
  }

  // Kill points as fractions of the last uninterrupted backup's time, so
  // kills land before the job starts, during the upload, around the tree put
  // and commit, and after the acknowledgement, however fast this machine is.
  const double kKillAt[] = {0.5, 0.1, 0.9, 0.7, 2.0, 0.3, 0.95, 0.8, 1.2, 0.6, 0.85, 0.2};
  const char* kLevels[] = {"incremental", "differential", "full"};
  int killed_mid_backup = 0, done_before_kill = 0, failed = 0;
  for (int round = 1; round <= static_cast<int>(std::size(kKillAt)); ++round) {
    // Change the data: new incompressible data to upload, edits, a delete.
    ASSERT_TRUE(WriteRandomFile(at(absl::StrCat("round-", round, ".bin")),
                                (3 + 2 * (round % 3)) << 20, 1000 + round)
                    .ok());
    ASSERT_TRUE(OverwriteRange(at("b4096"), round * 100, 64, 2000 + round).ok());
    ASSERT_TRUE(
        WriteRandomFile(at(absl::StrFormat("many/f%03d", round)), 3000 + round, 3000 + round).ok());
    ASSERT_TRUE(OverwriteRange(at("large.bin"), (round % 5) << 20, 256 << 10, 4000 + round).ok());
    if (round >= 3 && round % 2 == 1) {
      ASSERT_EQ(::unlink(at(absl::StrCat("round-", round - 2, ".bin")).c_str()), 0);
    }
    absl::StatusOr<TreeManifest> tree = CaptureTree(data);
    ASSERT_TRUE(tree.ok()) << tree.status();

    std::string level = kLevels[round % 3];
    std::string out = absl::StrCat(dir, "/backup-", round);
    auto child = ChildProcess::Spawn(
        AgentArgs(agent, "backup", {"--root", data, "--level", level, "--json"}), out + ".out",
        out + ".err");
    ASSERT_TRUE(child.ok()) << child.status();
    absl::Time spawned = absl::Now();
    absl::Duration kill_after = std::max(absl::Milliseconds(10), one_backup * kKillAt[round - 1]);
    while (absl::Now() < spawned + kill_after && (*child)->Running()) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    bool finished_first = !(*child)->Running();
    if (finished_first) one_backup = absl::Now() - spawned;
    server.Kill();
    // Back on the same port at once, so an agent that retries finds it.
    absl::Status restarted = server.Restart();
    ASSERT_TRUE(restarted.ok()) << restarted;
    ASSERT_TRUE((*child)->Wait(absl::Seconds(60))) << "agent hung after the server crash";
    std::string snapshot = FirstSnapshotId((*child)->Stdout());
    std::cerr << "round " << round << " (" << level << "): server killed after " << kill_after
              << (finished_first ? ", agent already done" : "") << "; agent took "
              << absl::Now() - spawned << ", exit " << (*child)->exit_code() << " "
              << (snapshot.empty() ? (*child)->Stderr() : snapshot + "\n");
    if ((*child)->exit_code() == 0 && !snapshot.empty()) {
      acked.push_back({snapshot, *std::move(tree), round});
    } else {
      ++failed;
      // A refused backup says why.
      EXPECT_FALSE((*child)->Stderr().empty()) << "round " << round << " failed silently";
    }
    (finished_first ? done_before_kill : killed_mid_backup)++;
  }
  std::cerr << "kill loop: " << killed_mid_backup << " kills during a backup, " << done_before_kill
            << " after; " << acked.size() << " acknowledged, " << failed << " failed\n";
  EXPECT_GT(killed_mid_backup, 0) << "no kill landed during a backup: the data is too small";

  // The server still works after all that.
  BackupOutcome after = AgentBackup(agent, data, "incremental");
  ASSERT_EQ(after.command.exit_code, 0) << after.command.Describe();
  absl::StatusOr<TreeManifest> final_tree = CaptureTree(data);
  ASSERT_TRUE(final_tree.ok());
  acked.push_back({after.snapshot, *std::move(final_tree), -1});

  for (const Acknowledged& a : acked) {
    std::string target = absl::StrCat(dir, "/restore-", a.round);
    CommandResult r = AgentRestore(agent, a.snapshot, target);
    ASSERT_EQ(r.exit_code, 0) << "acknowledged snapshot " << a.snapshot << " of round " << a.round
                              << " does not restore: " << r.Describe();
    absl::StatusOr<TreeManifest> got = CaptureTree(target);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<std::string> diffs = CompareTrees(a.tree, *got);
    EXPECT_TRUE(diffs.empty()) << "acknowledged snapshot " << a.snapshot << " of round " << a.round
                               << ": " << FormatDifferences(diffs);
  }
  EXPECT_EQ(VerifyProblems(server), "");

  absl::Status stopped = server.Stop();
  ASSERT_TRUE(stopped.ok()) << stopped;
  std::vector<std::string> problems =
      CatalogProblems(server.state_dir() + "/catalog.db", server.state_dir() + "/packs");
  EXPECT_TRUE(problems.empty()) << FormatDifferences(problems);
}

TEST(CrashE2eTest, AgentKilledMidUploadResendsOnlyWhatWasNotDurable) {
  std::string dir = NewTestDir("crash_agent");
  std::string config = WriteServerConfig(dir, 1 << 20);
  auto started = ServerProcess::Start(dir + "/server", config);
  ASSERT_TRUE(started.ok()) << started.status();
  ServerProcess& server = **started;
  const std::string pack_dir = server.state_dir() + "/packs";
  AgentIdentity agent = NewAgentIdentity(server, dir, "victim");
  ASSERT_TRUE(SetUpAgent(agent).ok());

  std::string data = dir + "/data";
  ASSERT_TRUE(MakeDirectories(data, 0755).ok());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(WriteRandomFile(absl::StrCat(data, "/part-", i), 6 << 20, 70 + i).ok());
  }
  absl::StatusOr<TreeManifest> tree = CaptureTree(data);
  ASSERT_TRUE(tree.ok());
  const uint64_t total = TotalFileBytes(*tree);

  auto child =
      ChildProcess::Spawn(AgentArgs(agent, "backup", {"--root", data, "--level", "full", "--json"}),
                          dir + "/first.out", dir + "/first.err");
  ASSERT_TRUE(child.ok()) << child.status();
  // Kill once a few packs are sealed, well before the upload ends.
  bool caught = WaitFor([&] { return ListPackFiles(pack_dir).size() >= 3 || !(*child)->Running(); },
                        absl::Seconds(60), absl::Milliseconds(2));
  ASSERT_TRUE(caught);
  ASSERT_TRUE((*child)->Running())
      << "the backup ended before 3 packs were sealed; could not kill it mid-upload: "
      << (*child)->Stdout() << (*child)->Stderr();
  (*child)->Kill();
  // The server may still seal what it had received; let it settle.
  std::map<std::string, uint64_t> packs = ListPackFiles(pack_dir);
  WaitFor(
      [&] {
        absl::SleepFor(absl::Milliseconds(300));
        std::map<std::string, uint64_t> now = ListPackFiles(pack_dir);
        bool stable = now == packs;
        packs = std::move(now);
        return stable;
      },
      absl::Seconds(10), absl::Milliseconds(1));
  uint64_t durable_bytes = 0;
  for (const auto& [name, size] : packs) durable_bytes += size;
  ASSERT_GE(packs.size(), 3u);
  ASSERT_LT(durable_bytes, total) << "the first run finished its upload before the kill";

  BackupOutcome second = AgentBackup(agent, data, "full");
  ASSERT_EQ(second.command.exit_code, 0) << second.command.Describe();
  ASSERT_GE(second.bytes_uploaded, 0);
  EXPECT_LT(static_cast<uint64_t>(second.bytes_uploaded), total) << second.command.out;
  // Chunks of the sealed packs are not sent again: what the rerun uploads
  // plus what was durable is about the whole (sealing adds ~0.1%, each pack
  // a header and an index).
  EXPECT_LE(static_cast<uint64_t>(second.bytes_uploaded) + durable_bytes,
            total + total / 500 + packs.size() * (64 << 10))
      << "rerun uploaded " << second.bytes_uploaded << " bytes; " << durable_bytes
      << " bytes were durable in " << packs.size() << " packs of " << total;

  std::string target = dir + "/restored";
  CommandResult r = AgentRestore(agent, second.snapshot, target);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<TreeManifest> got = CaptureTree(target);
  ASSERT_TRUE(got.ok());
  std::vector<std::string> diffs = CompareTrees(*tree, *got);
  EXPECT_TRUE(diffs.empty()) << FormatDifferences(diffs);
  EXPECT_EQ(VerifyProblems(server), "");

  ASSERT_TRUE(server.Stop().ok());
  std::vector<std::string> problems = CatalogProblems(server.state_dir() + "/catalog.db", pack_dir);
  EXPECT_TRUE(problems.empty()) << FormatDifferences(problems);
}

}  // namespace
}  // namespace cairn::e2e

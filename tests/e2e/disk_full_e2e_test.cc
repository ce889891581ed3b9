// A full disk under the server's packs: the backup that does not fit fails
// loudly (agent exit code, failed job, no snapshot), and nothing already
// stored is harmed; once the failed backup is gone, backups work again.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

absl::Status WriteData(const std::string& root, int files, uint64_t each, uint64_t seed) {
  absl::Status made = MakeDirectories(root, 0755);
  if (!made.ok()) return made;
  for (int i = 0; i < files; ++i) {
    absl::Status written = WriteRandomFile(absl::StrCat(root, "/f", i), each, seed + i);
    if (!written.ok()) return written;
  }
  return absl::OkStatus();
}

TEST(DiskFullE2eTest, BackupThatDoesNotFitFailsAndHarmsNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  std::string dir = NewTestDir("disk_full");
  std::string hot = dir + "/hot";
  ASSERT_TRUE(MakeDirectories(hot, 0755).ok());
  if (::mount("tmpfs", hot.c_str(), "tmpfs", 0, "size=40m") != 0) {
    GTEST_SKIP() << "cannot mount a 40 MiB tmpfs on " << hot << ": " << std::strerror(errno);
  }
  // Declared before the server so the server is gone when it runs.
  absl::Cleanup unmount = [&hot] {
    if (::umount2(hot.c_str(), 0) != 0) {
      ADD_FAILURE() << "umount " << hot << ": " << std::strerror(errno);
      ::umount2(hot.c_str(), MNT_DETACH);
    }
  };
  std::string config = dir + "/server.conf";
  ASSERT_TRUE(
      WriteFileAtomically(
          config, absl::StrCat("tiers { name: \"hot\" local { path: \"", hot, "\" } }\n"), 0644)
          .ok());
  auto server = ServerProcess::Start(dir + "/server", config);
  ASSERT_TRUE(server.ok()) << server.status();
  AgentIdentity agent = NewAgentIdentity(**server, dir, "filler");
  ASSERT_TRUE(SetUpAgent(agent).ok());
  auto ctl = [&](const std::vector<std::string>& args) {
    return RunCommand(CtlArgs(**server, args));
  };

  // 10 MiB fits.
  std::string small = dir + "/small";
  ASSERT_TRUE(WriteData(small, 5, 2 << 20, 10).ok());
  absl::StatusOr<TreeManifest> small_tree = CaptureTree(small);
  ASSERT_TRUE(small_tree.ok());
  BackupOutcome fits = AgentBackup(agent, small, "full");
  ASSERT_EQ(fits.command.exit_code, 0) << fits.command.Describe();
  ASSERT_FALSE(fits.snapshot.empty());

  // 100 MiB does not.
  std::string big = dir + "/big";
  ASSERT_TRUE(WriteData(big, 5, 20 << 20, 20).ok());
  BackupOutcome too_big = AgentBackup(agent, big, "full", absl::Seconds(120));
  EXPECT_FALSE(too_big.command.timed_out) << too_big.command.Describe();
  EXPECT_NE(too_big.command.exit_code, 0) << too_big.command.Describe();
  EXPECT_EQ(too_big.snapshot, "");
  EXPECT_FALSE(too_big.command.err.empty()) << "a failed backup must say so on stderr";
  // Loud is not enough: the message should say why.
  const bool says_why = absl::StrContains(absl::AsciiStrToLower(too_big.command.err), "space");

  // No snapshot was committed for it; its job failed and says why.
  CommandResult snapshots = ctl({"snapshots", "--json"});
  ASSERT_EQ(snapshots.exit_code, 0) << snapshots.Describe();
  std::vector<std::string> listed = JsonArrayObjects(snapshots.out, "snapshots");
  ASSERT_EQ(listed.size(), 1u) << snapshots.out;
  EXPECT_TRUE(absl::StrContains(listed[0], fits.snapshot));
  CommandResult jobs = ctl({"jobs", "--json"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.Describe();
  std::vector<std::string> job_list = JsonArrayObjects(jobs.out, "jobs");
  ASSERT_EQ(job_list.size(), 2u) << jobs.out;
  // Newest first.
  EXPECT_EQ(JsonStrings(job_list[0], "state"), std::vector<std::string>{"JOB_STATE_FAILED"})
      << job_list[0];
  std::vector<std::string> error = JsonStrings(job_list[0], "error");
  EXPECT_TRUE(!error.empty() && !error[0].empty()) << job_list[0];
  EXPECT_EQ(JsonStrings(job_list[1], "state"), std::vector<std::string>{"JOB_STATE_SUCCEEDED"})
      << job_list[1];

  // What was stored before is intact.
  std::string target = dir + "/restored";
  CommandResult restore = AgentRestore(agent, fits.snapshot, target);
  ASSERT_EQ(restore.exit_code, 0) << restore.Describe();
  absl::StatusOr<TreeManifest> restored = CaptureTree(target);
  ASSERT_TRUE(restored.ok());
  std::vector<std::string> diffs = CompareTrees(*small_tree, *restored);
  EXPECT_TRUE(diffs.empty()) << FormatDifferences(diffs);
  CommandResult verify = ctl({"verify", "--read-data", "--json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_TRUE(absl::StrContains(verify.out, "\"problems\":[]")) << verify.out;

  // The failed backup left no half-written pack taking the space: another
  // small backup fits.
  std::string later = dir + "/later";
  ASSERT_TRUE(WriteData(later, 2, 3 << 20, 30).ok());
  absl::StatusOr<TreeManifest> later_tree = CaptureTree(later);
  ASSERT_TRUE(later_tree.ok());
  BackupOutcome again = AgentBackup(agent, later, "full");
  ASSERT_EQ(again.command.exit_code, 0)
      << "space was not given back after the failed backup: " << again.command.Describe();
  std::string target2 = dir + "/restored_later";
  CommandResult restore2 = AgentRestore(agent, again.snapshot, target2);
  ASSERT_EQ(restore2.exit_code, 0) << restore2.Describe();
  absl::StatusOr<TreeManifest> restored2 = CaptureTree(target2);
  ASSERT_TRUE(restored2.ok());
  diffs = CompareTrees(*later_tree, *restored2);
  EXPECT_TRUE(diffs.empty()) << FormatDifferences(diffs);

  absl::Status stopped = (*server)->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped;
  std::vector<std::string> problems = CatalogProblems((*server)->state_dir() + "/catalog.db", hot);
  EXPECT_TRUE(problems.empty()) << FormatDifferences(problems);

  EXPECT_TRUE(says_why) << "the agent should pass on the server's out-of-space error, got: "
                        << too_big.command.err;
}

}  // namespace
}  // namespace cairn::e2e

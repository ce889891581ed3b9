// RootProtector's journal outlives a kill -9: a child process (this binary
// re-executed) protects the root, changes it and dies; a new protector
// backs up what the child journaled, and the start-up reconcile catches
// what changed while nothing watched.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/agent_identity.h"
#include "agent/agent_config.h"
#include "agent/root_protector.h"
#include "agent/server_connection.h"
#include "common/file_util.h"
#include "common/path_rules.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/continuous_util.h"
#include "tests/agent/root_protector_test_util.h"

extern char** environ;

namespace cairn {
namespace {

// 4. The journal outlives a kill -9. The child half runs in its own process
// (the parent re-executes this binary): it protects the root, changes it,
// waits until the journal has it on disk and dies with code 9.
constexpr char kChildRootEnv[] = "CAIRN_PROTECTOR_CHILD_ROOT";
constexpr char kChildStateEnv[] = "CAIRN_PROTECTOR_CHILD_STATE";
constexpr char kChildKeyEnv[] = "CAIRN_PROTECTOR_CHILD_KEY";
constexpr char kChildServerEnv[] = "CAIRN_PROTECTOR_CHILD_SERVER";

TEST(RootProtectorCrashChild, DISABLED_ChangeAndDie) {
  const char* root = getenv(kChildRootEnv);
  if (root == nullptr) GTEST_SKIP() << "runs only as JournalSurvivesAKill's child";
  v1::AgentConfig raw;
  raw.set_server(getenv(kChildServerEnv));
  raw.set_name(AgentTestEnv::kAgentName);
  raw.set_tenant(AgentTestEnv::kTenant);
  raw.set_state_dir(getenv(kChildStateEnv));
  raw.set_key_file(getenv(kChildKeyEnv));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::AgentConfig config, ResolveAgentConfig(raw));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> crypto, LoadAgentCrypto(config));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::ClientCredentials credentials, LoadAgentCredentials(config));
  ServerConnection connection(config.server(), credentials);
  ProtectionSettings settings;
  settings.root = root;
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<RootProtector> protector,
                             RootProtector::Start(settings, config, *crypto, &connection));
  const std::string r = root;
  CAIRN_ASSERT_OK(WriteFile(JoinPath(r, "d-001/f-001"), RandomBytes(7001, 71)));
  CAIRN_ASSERT_OK(WriteFile(JoinPath(r, "d-002/new"), RandomBytes(7002, 72)));
  ASSERT_EQ(unlink(JoinPath(r, "d-003/f-003").c_str()), 0);
  ASSERT_EQ(rename(JoinPath(r, "d-004/f-004").c_str(), JoinPath(r, "d-004/f-004r").c_str()), 0);
  CAIRN_ASSERT_OK(WaitCaughtUp(*protector, r));
  // The 5 paths (and the sentinel, which WaitCaughtUp writes only when the
  // watcher had not yet read the changes when it was called).
  ASSERT_GE(protector->state().pending_paths, 5u);
  absl::SleepFor(absl::Milliseconds(400));  // the loop syncs every 200 ms
  std::cout.flush();
  _exit(9);
}

TEST_F(RootProtectorTest, JournalSurvivesAKillAndStartUpReconcileCatchesTheRest) {
  for (int d = 0; d < 6; ++d) {
    CAIRN_ASSERT_OK(MakeDirectories(Src(DirName(d))));
    for (int f = 0; f < 6; ++f) {
      CAIRN_ASSERT_OK(WriteFile(Src(JoinPath(DirName(d), FileName(f))),
                                RandomBytes(500 + d * 10 + f, d * 6 + f)));
    }
  }
  Start(Settings());
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult first,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  protector_.reset();  // releases the journal for the child

  // Everything exec needs is prepared before fork: the child may only call
  // async-signal-safe functions until it execs.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(absl::StrCat(kChildRootEnv, "=", root_));
  env_strings.push_back(absl::StrCat(kChildStateEnv, "=", env_->agent().config.state_dir()));
  env_strings.push_back(absl::StrCat(kChildKeyEnv, "=", env_->agent().config.key_file()));
  env_strings.push_back(absl::StrCat(kChildServerEnv, "=", env_->agent().config.server()));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = {
      "root_protector_child", "--gtest_filter=RootProtectorCrashChild.DISABLED_ChangeAndDie",
      "--gtest_also_run_disabled_tests"};
  std::vector<char*> argv;
  for (std::string& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log = env_->base() + "/child.log";
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(log_fd, 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve("/proc/self/exe", argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  int wait_status = 0;
  bool exited = WaitUntil([&] { return waitpid(pid, &wait_status, WNOHANG) == pid; });
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &wait_status, 0);
  }
  absl::StatusOr<std::string> child_log = ReadFile(log);
  ASSERT_TRUE(exited) << "the child did not finish; its log:\n" << child_log.value_or("");
  ASSERT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 9)
      << "the child did not die as planned (status " << wait_status << "); its log:\n"
      << child_log.value_or("");

  // A new protector finds the dead one's journal.
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest after_child, CaptureTree(root_));
  Start(Settings());
  if (HasFatalFailure()) return;
  EXPECT_GE(protector_->state().pending_paths, 5u) << "the child's journal was lost";
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult second,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  EXPECT_EQ(second.snapshot.parent_id(), first.snapshot.id());
  EXPECT_EQ(protector_->state().pending_paths, 0u);
  ExpectRestoresTo(second.snapshot.id(), after_child, "after-kill");

  // Changed while nothing watched: same size, mtime put back, so only the
  // ctime tells; the start-up reconcile still takes it.
  protector_.reset();
  const std::string sneaky = Src(JoinPath(DirName(5), FileName(2)));
  struct stat st;
  ASSERT_EQ(lstat(sneaky.c_str(), &st), 0);
  CAIRN_ASSERT_OK(WriteFile(sneaky, RandomBytes(static_cast<size_t>(st.st_size), 999)));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, sneaky.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  CAIRN_ASSERT_OK(WriteFile(Src("d-000/added-offline"), "offline\n"));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest offline, CaptureTree(root_));
  Start(Settings());
  if (HasFatalFailure()) return;
  EXPECT_EQ(protector_->state().pending_paths, 0u) << "nothing was watching";
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult third,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  EXPECT_EQ(third.snapshot.stats().bytes_read(), static_cast<uint64_t>(st.st_size) + 8u);
  ExpectRestoresTo(third.snapshot.id(), offline, "offline");
}

}  // namespace
}  // namespace cairn

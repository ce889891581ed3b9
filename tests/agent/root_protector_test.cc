// RootProtector: journal-driven incrementals, continuous mode, consistency
// groups under a slow writer, a journal that outlives a kill -9, and the
// watcher's hard cases (the root replaced, a storm of renames), all against
// an in-process server and real directories.
#include "agent/root_protector.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/path_rules.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/continuous_util.h"

extern char** environ;

namespace cairn {
namespace {

class RootProtectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("protector"));
    root_ = env_->base() + "/root";
    CAIRN_ASSERT_OK(MakeDirectories(root_));
  }
  void TearDown() override {
    protector_.reset();
    std::string base = env_ != nullptr ? env_->base() : "";
    env_.reset();
    if (!HasFailure() && !base.empty()) RemoveTree(base);
  }

  std::string Src(const std::string& rel) const { return JoinPath(root_, rel); }
  std::string NewTarget(const std::string& label) {
    return absl::StrCat(env_->base(), "/restore-", label, "-", targets_++);
  }
  ProtectionSettings Settings() const {
    ProtectionSettings s;
    s.root = root_;
    return s;
  }
  void Start(ProtectionSettings settings) {
    CAIRN_ASSERT_OK_AND_ASSIGN(protector_, StartProtector(*env_, std::move(settings)));
  }
  // Waits until the journal holds at least `n` pending paths.
  void WaitPending(uint64_t n) {
    ASSERT_TRUE(WaitUntil([&] { return protector_->state().pending_paths >= n; }))
        << "pending paths: " << protector_->state().pending_paths << ", want >= " << n;
  }
  // Restores `snapshot` and compares it with `want` (the sentinel left out).
  void ExpectRestoresTo(const std::string& snapshot, const TreeManifest& want,
                        const std::string& label) {
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got,
                               RestoreManifest(*env_, snapshot, NewTarget(label)));
    EXPECT_EQ(DiffManifests(WithoutSentinel(want), WithoutSentinel(got)), "")
        << "snapshot " << snapshot << " (" << label << ")";
  }

  std::unique_ptr<AgentTestEnv> env_;
  std::string root_;
  std::unique_ptr<RootProtector> protector_;
  int targets_ = 0;
};

std::string DirName(int d) { return absl::StrFormat("d-%03d", d); }
std::string FileName(int f) { return absl::StrFormat("f-%03d", f); }

// 1. An incremental after 10 changed files in a 20,000-file tree lists only
// the root and the 10 directories holding them; the other 190 are taken
// from the parent snapshot whole.
TEST_F(RootProtectorTest, JournalDrivenIncrementalListsOnlyTheChangedDirectories) {
  constexpr int kDirs = 200;
  constexpr int kFilesPerDir = 100;
  uint64_t total = 0;
  for (int d = 0; d < kDirs; ++d) {
    CAIRN_ASSERT_OK(MakeDirectories(Src(DirName(d))));
    for (int f = 0; f < kFilesPerDir; ++f) {
      std::string data = absl::StrCat(DirName(d), "/", FileName(f), " ",
                                      std::string(static_cast<size_t>((d * 31 + f * 7) % 97), 'x'));
      total += data.size();
      CAIRN_ASSERT_OK(WriteFile(Src(JoinPath(DirName(d), FileName(f))), data));
    }
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest before, CaptureTree(root_));
  Start(Settings());
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult first,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  EXPECT_TRUE(first.errors.empty()) << DescribeErrors(first.errors);
  EXPECT_EQ(first.snapshot.stats().bytes_read(), total) << "the start-up backup reads everything";
  EXPECT_EQ(first.snapshot.stats().directories(), kDirs + 1u);
  EXPECT_EQ(protector_->state().pending_paths, 0u);

  // One file in each of 10 directories, with new sizes.
  std::set<std::string> touched;
  uint64_t changed_bytes = 0;
  for (int k = 0; k < 10; ++k) {
    std::string dir = DirName(k * 20 + 3);
    std::string data = RandomBytes(1000 + 111 * static_cast<size_t>(k), 900 + k);
    changed_bytes += data.size();
    CAIRN_ASSERT_OK(WriteFile(Src(JoinPath(dir, FileName(k * 7))), data));
    touched.insert(dir);
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest after, CaptureTree(root_));
  WaitPending(10);
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult second,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  EXPECT_TRUE(second.errors.empty()) << DescribeErrors(second.errors);
  EXPECT_EQ(second.snapshot.parent_id(), first.snapshot.id());
  EXPECT_EQ(second.snapshot.stats().bytes_read(), changed_bytes) << "only the 10 files are read";
  EXPECT_EQ(second.snapshot.stats().directories(), 11u)
      << "the root and the 10 directories with a change are listed, nothing else";
  EXPECT_EQ(protector_->state().pending_paths, 0u) << "the commit empties the journal";

  // The untouched directories are the very same subtrees.
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<v1::TreeEntry> top1,
                             SnapshotDirectory(*env_, first.snapshot, ""));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<v1::TreeEntry> top2,
                             SnapshotDirectory(*env_, second.snapshot, ""));
  ASSERT_EQ(top1.size(), static_cast<size_t>(kDirs));
  ASSERT_EQ(top2.size(), static_cast<size_t>(kDirs));
  int same = 0;
  for (int d = 0; d < kDirs; ++d) {
    ASSERT_EQ(top1[d].name(), DirName(d));
    ASSERT_EQ(top2[d].name(), DirName(d));
    if (touched.contains(DirName(d))) {
      EXPECT_NE(top1[d].subtree_id(), top2[d].subtree_id()) << DirName(d);
    } else {
      EXPECT_EQ(top1[d].subtree_id(), top2[d].subtree_id()) << DirName(d);
      same += top1[d].subtree_id() == top2[d].subtree_id() ? 1 : 0;
    }
  }
  EXPECT_EQ(same, kDirs - 10);

  // Content, from a sample (restores fsync every file, so all 20,000 would
  // take most of the test's time): the 10 changed files, a neighbour of
  // each, and a file from each of 10 untouched directories.
  std::vector<std::string> sample;
  for (int k = 0; k < 10; ++k) {
    sample.push_back(JoinPath(DirName(k * 20 + 3), FileName(k * 7)));
    sample.push_back(JoinPath(DirName(k * 20 + 3), FileName(k * 7 + 1)));
    sample.push_back(JoinPath(DirName(k * 20 + 11), FileName(k)));
  }
  auto files_only = [](const TreeManifest& m, const std::vector<std::string>& paths) {
    TreeManifest out;
    for (const std::string& p : paths) {
      auto it = m.find(p);
      if (it != m.end()) out.insert(*it);
    }
    return out;
  };
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got_first, RestoreManifest(*env_, first.snapshot.id(),
                                                                     NewTarget("first"), sample));
  EXPECT_EQ(DiffManifests(files_only(before, sample), files_only(got_first, sample)), "")
      << "snapshot 1";
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got_second, RestoreManifest(*env_, second.snapshot.id(),
                                                                      NewTarget("second"), sample));
  EXPECT_EQ(DiffManifests(files_only(after, sample), files_only(got_second, sample)), "")
      << "snapshot 2";
  EXPECT_EQ(files_only(got_second, sample).size(), sample.size());
  EXPECT_NE(DiffManifests(files_only(before, sample), files_only(got_second, sample)), "");
}

// 2. Continuous mode: a write is in a committed snapshot about quiet +
// one poll + one backup after it.
TEST_F(RootProtectorTest, ContinuousModeCommitsSoonAfterTheWritesPause) {
  for (int i = 0; i < 20; ++i) {
    CAIRN_ASSERT_OK(WriteFile(Src(absl::StrCat("base-", i)), RandomBytes(3000, i)));
  }
  ProtectionSettings settings = Settings();
  settings.continuous = true;
  settings.interval = absl::Seconds(1);
  settings.quiet = absl::Seconds(1);
  Start(settings);
  if (HasFatalFailure()) return;
  // The start-up reconcile commits at once.
  ASSERT_TRUE(WaitUntil([&] { return protector_->state().last_snapshot != absl::InfinitePast(); }));

  std::vector<double> latencies;
  for (int round = 0; round < 3; ++round) {
    const std::string name = absl::StrCat("new-", round);
    const size_t size = 5000 + static_cast<size_t>(round);
    CAIRN_ASSERT_OK(WriteFile(Src(name), RandomBytes(size, 50 + round)));
    const absl::Time written = absl::Now();
    bool found = WaitUntil([&] {
      absl::StatusOr<std::vector<v1::Snapshot>> all = AgentSnapshots(*env_);
      if (!all.ok() || all->empty()) return false;
      absl::StatusOr<std::optional<v1::TreeEntry>> e = SnapshotEntry(*env_, all->front(), name);
      return e.ok() && e->has_value() && (*e)->size() == size;
    });
    ASSERT_TRUE(found) << name << " never reached a snapshot";
    const double seconds = absl::ToDoubleSeconds(absl::Now() - written);
    latencies.push_back(seconds);
    RecordProperty(absl::StrCat("latency_ms_", round), static_cast<int>(seconds * 1000));
    std::cout << "[ latency  ] write -> committed snapshot: " << static_cast<int>(seconds * 1000)
              << " ms\n";
    // quiet (1 s) + a watcher poll (250 ms) + the backup itself.
    // Recorded, not asserted: timings are the benchmark's job (make bench),
    // and a loaded CI machine must not fail the suite. The wait above bounds it.
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, AgentSnapshots(*env_));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(root_));
  ExpectRestoresTo(all.front().id(), want, "latest");
}

// 3. A checkpoint written slowly while backups keep running is in no
// snapshot half-written: absent, or whole with its final sizes.
class ConsistencyGroupTest : public RootProtectorTest {
 protected:
  static constexpr int kShards = 5;
  static constexpr int kRounds = 10;
  static constexpr size_t kPiece = 4096;

  void Run(bool markers) {
    CAIRN_ASSERT_OK(WriteFile(Src("notes.txt"), "start\n"));
    ProtectionSettings settings = Settings();
    settings.continuous = true;
    // Short, so continuous backups also run between the writer's rounds.
    settings.interval = absl::Milliseconds(500);
    settings.quiet = absl::Milliseconds(100);
    v1::ConsistencyGroup group;
    group.set_path("ckpt-*");
    group.set_settle_seconds(2);
    if (markers) group.add_markers(".metadata");
    settings.groups.push_back(group);
    Start(settings);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(
        WaitUntil([&] { return protector_->state().last_snapshot != absl::InfinitePast(); }));

    std::atomic<bool> writing{true};
    absl::Status writer_status;
    absl::Time last_write;
    std::thread writer([&] {
      absl::Status status = MakeDirectories(Src("ckpt-1"));
      for (int r = 0; r < kRounds && status.ok(); ++r) {
        if (r > 0) absl::SleepFor(absl::Milliseconds(300));
        for (int s = 0; s < kShards && status.ok(); ++s) {
          std::string shard = Src(absl::StrCat("ckpt-1/shard-", s));
          std::string piece = RandomBytes(kPiece, static_cast<uint64_t>(1000 + r * kShards + s));
          status = r == 0 ? WriteFile(shard, piece) : AppendFile(shard, piece);
        }
        if (status.ok()) status = AppendFile(Src("notes.txt"), absl::StrCat("round ", r, "\n"));
      }
      if (markers && status.ok()) status = WriteFile(Src("ckpt-1/.metadata"), "complete\n");
      last_write = absl::Now();
      writer_status = status;
      writing = false;
    });
    // Ordered backups meanwhile, besides the continuous ones.
    int ordered = 0;
    while (writing) {
      absl::StatusOr<BackupResult> b =
          protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr);
      EXPECT_TRUE(b.ok()) << b.status();
      ++ordered;
      absl::SleepFor(absl::Milliseconds(20));
    }
    writer.join();
    CAIRN_ASSERT_OK(writer_status);
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest now, CaptureTree(root_));
    const TreeManifest want = SubManifest(now, "ckpt-1");
    ASSERT_EQ(want.size(), kShards + 1u + (markers ? 1u : 0u));

    // Once settled (marker written, or 2 s without writes), a snapshot has it.
    absl::Time seen_at;
    ASSERT_TRUE(WaitUntil([&] {
      absl::StatusOr<std::vector<v1::Snapshot>> all = AgentSnapshots(*env_);
      if (!all.ok() || all->empty()) return false;
      absl::StatusOr<std::optional<v1::TreeEntry>> e = SnapshotEntry(*env_, all->front(), "ckpt-1");
      seen_at = absl::Now();
      return e.ok() && e->has_value();
    })) << "the settled checkpoint never reached a snapshot";
    std::cout << "[ group    ] " << ordered << " ordered backups during the writes; whole "
              << "checkpoint committed " << absl::FormatDuration(seen_at - last_write)
              << " after the last write\n";
    if (!markers) {
      // The writer's clock reading trails its last shard write by microseconds.
      EXPECT_GE(seen_at - last_write, absl::Seconds(2) - absl::Milliseconds(100))
          << "taken before it settled";
    }

    // Every snapshot: no ckpt-1, or all of it as it is now.
    CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, AgentSnapshots(*env_));
    int with = 0, without = 0;
    for (const v1::Snapshot& snapshot : all) {
      CAIRN_ASSERT_OK_AND_ASSIGN(std::optional<v1::TreeEntry> entry,
                                 SnapshotEntry(*env_, snapshot, "ckpt-1"));
      if (!entry.has_value()) {
        ++without;
        continue;
      }
      ++with;
      CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<v1::TreeEntry> shards,
                                 SnapshotDirectory(*env_, snapshot, "ckpt-1"));
      std::string listing;
      for (const v1::TreeEntry& e : shards) absl::StrAppend(&listing, e.name(), ":", e.size(), " ");
      EXPECT_EQ(shards.size(), want.size() - 1) << snapshot.id() << ": " << listing;
      CAIRN_ASSERT_OK_AND_ASSIGN(
          TreeManifest got, RestoreManifest(*env_, snapshot.id(), NewTarget("group"), {"ckpt-1"}));
      EXPECT_EQ(DiffManifests(want, got), "")
          << "snapshot " << snapshot.id() << " holds a partial checkpoint: " << listing;
    }
    std::cout << "[ group    ] " << all.size() << " snapshots: " << without
              << " without the checkpoint, " << with << " with all of it\n";
    EXPECT_GT(without, 1) << "backups ran while the checkpoint was being written";
  }
};

TEST_F(ConsistencyGroupTest, SlowWriterNeverYieldsAPartialCheckpointWithSettle) { Run(false); }

TEST_F(ConsistencyGroupTest, SlowWriterNeverYieldsAPartialCheckpointWithMarker) { Run(true); }

// A half-written checkpoint that is already there when the protector starts
// (the daemon restarted mid-write) has no recorded activity: its own change
// times must keep it out until it settles.
TEST_F(ConsistencyGroupTest, GroupWrittenBeforeStartWaitsForItsSettleTime) {
  CAIRN_ASSERT_OK(MakeDirectories(Src("ckpt-7")));
  for (int s = 0; s < kShards; ++s) {
    CAIRN_ASSERT_OK(WriteFile(Src(absl::StrCat("ckpt-7/shard-", s)), RandomBytes(kPiece, s)));
  }
  const absl::Time written = absl::Now();
  ProtectionSettings settings = Settings();
  v1::ConsistencyGroup group;
  group.set_path("ckpt-*");
  group.set_settle_seconds(3);
  settings.groups.push_back(group);
  Start(settings);
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult early,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  if (absl::Now() - written < absl::Seconds(3)) {
    CAIRN_ASSERT_OK_AND_ASSIGN(std::optional<v1::TreeEntry> entry,
                               SnapshotEntry(*env_, early.snapshot, "ckpt-7"));
    EXPECT_FALSE(entry.has_value()) << "a checkpoint written just now was taken unsettled";
  }
  absl::SleepFor(written + absl::Seconds(3) + absl::Milliseconds(50) - absl::Now());
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult late,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(root_));
  ExpectRestoresTo(late.snapshot.id(), want, "settled");
}

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
  ServerConnection connection(config.server());
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
  // 5 paths and the sentinel.
  ASSERT_GE(protector->state().pending_paths, 6u);
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
  EXPECT_GE(protector_->state().pending_paths, 6u) << "the child's journal was lost";
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

// 5a. The root deleted and made again: the watcher notices both, and the
// next backup takes the new content, even where names repeat.
TEST_F(RootProtectorTest, RootDeletedAndRecreatedIsRescanned) {
  auto build = [&](uint64_t seed) -> absl::Status {
    for (int d = 0; d < 5; ++d) {
      RETURN_IF_ERROR(MakeDirectories(Src(DirName(d))));
      for (int f = 0; f < 4; ++f) {
        RETURN_IF_ERROR(
            WriteFile(Src(JoinPath(DirName(d), FileName(f))),
                      RandomBytes(300 + seed * 17 + d * 4 + f, seed * 100 + d * 4 + f)));
      }
    }
    return absl::OkStatus();
  };
  CAIRN_ASSERT_OK(build(1));
  Start(Settings());
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult first,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));

  RemoveTree(root_);
  ASSERT_TRUE(WaitUntil([&] { return absl::StrContains(protector_->state().problem, root_); }))
      << "problem: " << protector_->state().problem;
  EXPECT_FALSE(protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr).ok())
      << "a backup of a missing root must fail, not commit an empty snapshot";

  CAIRN_ASSERT_OK(MakeDirectories(root_));
  CAIRN_ASSERT_OK(build(2));
  ASSERT_TRUE(WaitUntil([&] {
    return absl::StrContains(protector_->state().problem, "came back");
  })) << "problem: "
      << protector_->state().problem;
  CAIRN_ASSERT_OK(WaitCaughtUp(*protector_, root_));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest fresh, CaptureTree(root_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult second,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  ExpectRestoresTo(second.snapshot.id(), fresh, "recreated");

  // The new root's subdirectories are watched again.
  CAIRN_ASSERT_OK(WriteFile(Src("d-003/f-001"), RandomBytes(4444, 4)));
  CAIRN_ASSERT_OK(WaitCaughtUp(*protector_, root_));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest changed, CaptureTree(root_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult third,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  EXPECT_EQ(third.snapshot.stats().directories(), 2u) << "the root and d-003";
  ExpectRestoresTo(third.snapshot.id(), changed, "after-recreate");
}

// 5c. A rescan the watcher asks for while an ordered backup runs (here: the
// root moved away and back, which may hide any change) is not cleared by
// that backup's commit: continuous mode still takes another snapshot.
TEST_F(RootProtectorTest, RescanRequestedDuringAnOrderedBackupIsNotDropped) {
  for (int i = 0; i < 8; ++i) {
    CAIRN_ASSERT_OK(WriteFile(Src(absl::StrCat("part-", i)), RandomBytes(64u << 10, 5 + i)));
  }
  ProtectionSettings settings = Settings();
  // In the middle of the walk, the root moves away and comes back: the
  // watcher must ask for a rescan while the backup is certainly running.
  bool moved = false;
  settings.on_entry = [&](const std::string& path) {
    if (path != "part-3" || moved) return;
    moved = true;
    const std::string away = root_ + ".away";
    ASSERT_EQ(rename(root_.c_str(), away.c_str()), 0);
    EXPECT_TRUE(
        WaitUntil([&] { return absl::StrContains(protector_->state().problem, root_); }));
    ASSERT_EQ(rename(away.c_str(), root_.c_str()), 0);
    EXPECT_TRUE(
        WaitUntil([&] { return absl::StrContains(protector_->state().problem, "came back"); }));
  };
  Start(settings);
  if (HasFatalFailure()) return;
  absl::StatusOr<BackupResult> ordered =
      protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr);
  ASSERT_TRUE(moved);
  ASSERT_TRUE(ordered.ok()) << ordered.status();

  settings.on_entry = nullptr;
  settings.continuous = true;
  settings.interval = absl::Milliseconds(100);
  settings.quiet = absl::Milliseconds(100);
  protector_->Update(settings);
  EXPECT_TRUE(WaitUntil(
      [&] {
        absl::StatusOr<std::vector<v1::Snapshot>> all = AgentSnapshots(*env_);
        return all.ok() && all->size() >= 2;
      },
      absl::Seconds(10)))
      << "the rescan asked for during the backup was forgotten";
}

// 5b. 500 renames (across directories, swaps through a temporary name,
// directory renames and renames inside renamed directories): the next
// journal-driven incremental matches the final tree exactly.
TEST_F(RootProtectorTest, RenameStormThenBackupMatchesTheFinalTree) {
  constexpr int kDirs = 20;
  constexpr int kFiles = 25;
  for (int d = 0; d < kDirs; ++d) {
    CAIRN_ASSERT_OK(MakeDirectories(Src(DirName(d))));
    for (int f = 0; f < kFiles; ++f) {
      CAIRN_ASSERT_OK(
          WriteFile(Src(JoinPath(DirName(d), FileName(f))),
                    RandomBytes(200 + static_cast<size_t>(d * kFiles + f), d * kFiles + f)));
    }
  }
  Start(Settings());
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult first,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));

  int renames = 0;
  auto mv = [&](const std::string& from, const std::string& to) {
    ASSERT_EQ(rename(Src(from).c_str(), Src(to).c_str()), 0) << from << " -> " << to;
    ++renames;
  };
  // 300 moves across directories: f-i of d-k goes to d-(k+7) as m-k-i.
  for (int d = 0; d < kDirs; ++d) {
    for (int f = 0; f < 15; ++f) {
      mv(JoinPath(DirName(d), FileName(f)),
         JoinPath(DirName((d + 7) % kDirs), absl::StrFormat("m-%03d-%03d", d, f)));
    }
  }
  // 50 swaps of two names through a temporary one: 150 renames.
  for (int i = 0; i < 50; ++i) {
    std::string a = JoinPath(DirName(i % kDirs), FileName(15 + i / kDirs * 2));
    std::string b = JoinPath(DirName((i + 1) % kDirs), FileName(16 + i / kDirs * 2));
    mv(a, "swap.tmp");
    mv(b, a);
    mv("swap.tmp", b);
  }
  // 10 directories renamed, then 40 renames inside the renamed ones.
  for (int d = 10; d < 20; ++d) mv(DirName(d), absl::StrFormat("r-%03d", d));
  for (int i = 0; i < 40; ++i) {
    std::string dir = absl::StrFormat("r-%03d", 10 + i % 10);
    std::string name = i < 10 ? FileName(23) : absl::StrFormat("x-%03d", i - 10);
    mv(JoinPath(dir, name), JoinPath(dir, absl::StrFormat("x-%03d", i)));
  }
  if (HasFatalFailure()) return;
  ASSERT_EQ(renames, 500);

  CAIRN_ASSERT_OK(WaitCaughtUp(*protector_, root_));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(root_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult second,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  EXPECT_TRUE(second.errors.empty()) << DescribeErrors(second.errors);
  EXPECT_EQ(second.snapshot.parent_id(), first.snapshot.id());
  // A renamed file is read again under its new name (ctime moved too), but
  // its chunks are known: only the sentinel's content is new.
  EXPECT_LE(second.snapshot.stats().chunks_new(), 1u) << "renames change no content";
  ExpectRestoresTo(second.snapshot.id(), want, "storm");
}

}  // namespace
}  // namespace cairn

// Backup then restore through a real in-process server: every snapshot level
// restores byte-identical (content, holes, modes, times, links), only changed
// files are read, and files that cannot be read or that change while being
// read are reported, never silently dropped.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "common/file_util.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("backup_restore"));
    src_ = env_->base() + "/src";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  }

  void TearDown() override {
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  std::string Src(const std::string& rel) const { return src_ + "/" + rel; }

  std::string NewTarget(const std::string& label) {
    return absl::StrCat(env_->base(), "/restore-", label, "-", targets_++);
  }

  // Restores `snapshot` into a fresh target and compares it with `want`.
  void ExpectRestoresTo(const std::string& snapshot, const TreeManifest& want,
                        const std::string& label) {
    std::string target = NewTarget(label);
    CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(snapshot, target));
    EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
    EXPECT_EQ(result.failed, 0u);
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(target));
    EXPECT_EQ(DiffManifests(want, got), "") << "snapshot " << snapshot << " (" << label << ")";
  }

  // The rich tree of the round-trip test.
  void BuildRichTree() {
    CAIRN_ASSERT_OK(WriteFile(Src("empty"), "", 0644));
    CAIRN_ASSERT_OK(WriteFile(Src("one-byte"), "x", 0600));
    CAIRN_ASSERT_OK(WriteFile(Src("random-20MiB"), RandomBytes(20u << 20, 1), 0444));
    CAIRN_ASSERT_OK(WriteFile(Src("run.sh"), "#!/bin/sh\necho hi\n", 0755));
    CAIRN_ASSERT_OK(WriteFile(Src("name with spaces"), "spaces", 0644));
    CAIRN_ASSERT_OK(WriteFile(Src("new\nline"), "newline", 0644));
    CAIRN_ASSERT_OK(WriteFile(Src("\xff\xfe"), "not utf-8", 0600));
    ASSERT_EQ(mkdir(Src("dir").c_str(), 0750), 0);
    ASSERT_EQ(mkdir(Src("dir/sub").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(Src("dir/sub/deep").c_str(), 0700), 0);
    CAIRN_ASSERT_OK(WriteFile(Src("dir/sub/deep/file.txt"), "deep inside\n", 0640));
    ASSERT_EQ(mkdir(Src("dir \xff\n").c_str(), 0755), 0);
    CAIRN_ASSERT_OK(WriteFile(Src("dir \xff\n/inner"), RandomBytes(70000, 2), 0644));
    ASSERT_EQ(mkdir(Src("e1").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(Src("e1/e2").c_str(), 0711), 0);
    ASSERT_EQ(mkdir(Src("e1/e2/e3").c_str(), 0755), 0);
    ASSERT_EQ(symlink("dir/sub/deep/file.txt", Src("link-relative").c_str()), 0);
    ASSERT_EQ(symlink(Src("one-byte").c_str(), Src("link-absolute").c_str()), 0);
    ASSERT_EQ(symlink("no/such/target", Src("link-dangling").c_str()), 0);
    ASSERT_EQ(symlink("../..", Src("dir/sub/link-up").c_str()), 0);
    // Hard links: the first name met (sorted walk) is "dir/hard-1".
    CAIRN_ASSERT_OK(WriteFile(Src("dir/hard-1"), RandomBytes(5000, 3), 0644));
    ASSERT_EQ(link(Src("dir/hard-1").c_str(), Src("hard-2").c_str()), 0);
    ASSERT_EQ(link(Src("dir/hard-1").c_str(), Src("e1/hard-3").c_str()), 0);
    // Distinct, nanosecond-precise times on a few entries.
    CAIRN_ASSERT_OK(SetMtime(Src("one-byte"), 1000000000));
    CAIRN_ASSERT_OK(SetMtime(Src("link-dangling"), 1100000000));
    CAIRN_ASSERT_OK(SetMtime(Src("dir/sub/deep"), 1200000000));
    CAIRN_ASSERT_OK(SetMtime(Src("e1/e2/e3"), 1300000000));
  }

  std::unique_ptr<AgentTestEnv> env_;
  std::string src_;
  int targets_ = 0;
};

TEST_F(BackupRestoreTest, FullRoundTripIsIdentical) {
  BuildRichTree();
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult backup, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
  EXPECT_TRUE(backup.errors.empty()) << DescribeErrors(backup.errors);
  EXPECT_EQ(backup.snapshot.level(), v1::BACKUP_LEVEL_FULL);
  EXPECT_TRUE(backup.snapshot.parent_id().empty());
  EXPECT_EQ(backup.snapshot.stats().files_failed(), 0u);
  ExpectRestoresTo(backup.snapshot.id(), want, "full");

  // The restored hard links really share one inode.
  std::string target = NewTarget("links");
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(backup.snapshot.id(), target));
  struct stat a, b, c;
  ASSERT_EQ(lstat((target + "/dir/hard-1").c_str(), &a), 0);
  ASSERT_EQ(lstat((target + "/hard-2").c_str(), &b), 0);
  ASSERT_EQ(lstat((target + "/e1/hard-3").c_str(), &c), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_ino, c.st_ino);
  EXPECT_EQ(a.st_nlink, 3u);
}

TEST_F(BackupRestoreTest, SparseFileOver4GiBKeepsItsHoles) {
  const std::string path = Src("sparse");
  {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, static_cast<off_t>(5 * kGiB)), 0);
    const std::vector<uint64_t> offsets = {1u << 20, 4 * kGiB - 2048, 5 * kGiB - 3000};
    for (size_t i = 0; i < offsets.size(); ++i) {
      std::string data = RandomBytes(3000, 10 + i);
      ASSERT_EQ(pwrite(fd, data.data(), data.size(), static_cast<off_t>(offsets[i])),
                static_cast<ssize_t>(data.size()));
    }
    close(fd);
  }
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  if (static_cast<uint64_t>(st.st_blocks) * 512 > (64u << 20)) {
    GTEST_SKIP() << "the temp filesystem does not keep holes";
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult backup, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
  EXPECT_TRUE(backup.errors.empty()) << DescribeErrors(backup.errors);
  EXPECT_EQ(backup.snapshot.stats().bytes_scanned(), 5 * kGiB);
  // Only the data extents are read: a few blocks, not 5 GiB.
  EXPECT_LT(backup.snapshot.stats().bytes_read(), 1u << 20);

  std::string target = NewTarget("sparse");
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(backup.snapshot.id(), target));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(target));
  EXPECT_EQ(DiffManifests(want, got), "");
  struct stat restored;
  ASSERT_EQ(stat((target + "/sparse").c_str(), &restored), 0);
  EXPECT_EQ(static_cast<uint64_t>(restored.st_size), 5 * kGiB);
  EXPECT_LT(static_cast<uint64_t>(restored.st_blocks) * 512, 1u << 20)
      << "the restored file lost its holes";
}

TEST_F(BackupRestoreTest, LevelsReadOnlyWhatChangedAndEverySnapshotStandsAlone) {
  const std::vector<std::string> names = {"a", "b", "c", "d", "dir/e"};
  ASSERT_EQ(mkdir(Src("dir").c_str(), 0755), 0);
  uint64_t total = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string data = RandomBytes(100000 + 1000 * i, 100 + i);
    total += data.size();
    CAIRN_ASSERT_OK(WriteFile(Src(names[i]), data));
    CAIRN_ASSERT_OK(SetMtime(Src(names[i]), 1500000000 + static_cast<int64_t>(i)));
  }
  // Each change also changes the size and sets a distinct time, so the
  // metadata comparison sees it whatever the clock's granularity.
  auto change = [&](const std::string& name, size_t size, uint64_t seed) {
    EXPECT_OK(WriteFile(Src(name), RandomBytes(size, seed)));
    EXPECT_OK(SetMtime(Src(name), 1600000000 + static_cast<int64_t>(seed)));
  };

  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest at_full, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult full, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
  EXPECT_EQ(full.snapshot.stats().bytes_read(), total);

  change("a", 120001, 201);
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest at_inc1, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult inc1, env_->Backup(src_, v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(inc1.snapshot.parent_id(), full.snapshot.id());
  EXPECT_EQ(inc1.snapshot.stats().bytes_read(), 120001u) << "only the touched file is read";
  EXPECT_EQ(inc1.snapshot.stats().bytes_scanned(), total - 100000 + 120001);

  change("dir/e", 130002, 202);
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest at_inc2, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult inc2, env_->Backup(src_, v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(inc2.snapshot.parent_id(), inc1.snapshot.id());
  EXPECT_EQ(inc2.snapshot.stats().bytes_read(), 130002u);

  change("c", 140003, 203);
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest at_diff, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult diff, env_->Backup(src_, v1::BACKUP_LEVEL_DIFFERENTIAL));
  EXPECT_EQ(diff.snapshot.parent_id(), full.snapshot.id());
  EXPECT_EQ(diff.snapshot.stats().bytes_read(), 120001u + 130002u + 140003u)
      << "a differential reads everything changed since the full";
  // "a" and "dir/e" were uploaded before: only "c" is new data.
  EXPECT_GT(diff.snapshot.stats().chunks_new(), 0u);

  // A touch without a content change re-reads the file but uploads nothing.
  CAIRN_ASSERT_OK(SetMtime(Src("d"), 1700000000));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest at_touch, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult touch, env_->Backup(src_, v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(touch.snapshot.stats().bytes_read(), 103000u);
  EXPECT_EQ(touch.snapshot.stats().chunks_new(), 0u);

  ExpectRestoresTo(full.snapshot.id(), at_full, "full");
  ExpectRestoresTo(inc1.snapshot.id(), at_inc1, "inc1");
  ExpectRestoresTo(inc2.snapshot.id(), at_inc2, "inc2");
  ExpectRestoresTo(diff.snapshot.id(), at_diff, "diff");
  ExpectRestoresTo(touch.snapshot.id(), at_touch, "touch");
}

TEST_F(BackupRestoreTest, RestoresSelectedPaths) {
  BuildRichTree();
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult backup, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));

  for (const std::string& path :
       {std::string("dir/sub/deep/file.txt"), std::string("dir/sub"), std::string("dir \xff\n")}) {
    SCOPED_TRACE(path);
    RestoreOptions options;
    options.snapshot_id = backup.snapshot.id();
    options.target = NewTarget("selected");
    options.paths = {path};
    CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(options));
    EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(options.target));
    EXPECT_EQ(DiffManifests(SubManifest(want, path), SubManifest(got, path)), "");
    // Nothing but the path and its parent directories was written.
    for (const auto& [restored, info] : got) {
      bool inside = SubManifest(got, path).count(restored) > 0;
      bool parent = path.compare(0, restored.size() + 1, restored + "/") == 0;
      EXPECT_TRUE(inside || parent) << "unexpected \"" << restored << "\"";
    }
  }

  // A path the snapshot lacks is reported, not fatal.
  RestoreOptions options;
  options.snapshot_id = backup.snapshot.id();
  options.target = NewTarget("missing");
  options.paths = {"dir/no-such-file"};
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(options));
  EXPECT_TRUE(HasErrorFor(result.errors, "dir/no-such-file")) << DescribeErrors(result.errors);
}

TEST_F(BackupRestoreTest, AnotherAgentOfTheTenantRestoresTheSameBytes) {
  BuildRichTree();
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult backup, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
  CAIRN_ASSERT_OK_AND_ASSIGN(AgentIdentity other, env_->AddAgent("agent-b"));

  RestoreOptions options;
  options.snapshot_id = backup.snapshot.id();
  options.target = NewTarget("agent-b");
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result,
                             RunRestore(other.connection.get(), *other.crypto, options));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(options.target));
  EXPECT_EQ(DiffManifests(want, got), "");
}

// Drops the capabilities that let root read any file, for this thread only
// (capset is per thread), so a chmod 000 file is unreadable even as root.
class ScopedNoDacOverride final {
 public:
  ScopedNoDacOverride() {
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    if (syscall(SYS_capget, &header_, saved_) != 0) return;
    __user_cap_data_struct dropped[2] = {saved_[0], saved_[1]};
    dropped[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    ok_ = syscall(SYS_capset, &header_, dropped) == 0;
  }
  ~ScopedNoDacOverride() {
    if (ok_) syscall(SYS_capset, &header_, saved_);
  }
  ScopedNoDacOverride(const ScopedNoDacOverride&) = delete;
  ScopedNoDacOverride& operator=(const ScopedNoDacOverride&) = delete;
  bool ok() const { return ok_; }

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool ok_ = false;
};

TEST_F(BackupRestoreTest, UnreadableFileIsReportedNotSkipped) {
  CAIRN_ASSERT_OK(WriteFile(Src("readable"), "fine", 0644));
  ASSERT_EQ(mkdir(Src("dir").c_str(), 0755), 0);
  CAIRN_ASSERT_OK(WriteFile(Src("dir/secret"), "top secret", 0000));
  CAIRN_ASSERT_OK(WriteFile(Src("dir/z-after"), "after the secret", 0644));

  std::unique_ptr<ScopedNoDacOverride> no_override;
  if (geteuid() == 0) no_override = std::make_unique<ScopedNoDacOverride>();
  int probe = open(Src("dir/secret").c_str(), O_RDONLY | O_CLOEXEC);
  if (probe >= 0) {
    close(probe);
    GTEST_SKIP() << "cannot make a file unreadable here (root without capset?)";
  }
  absl::StatusOr<BackupResult> backup = env_->Backup(src_, v1::BACKUP_LEVEL_FULL);
  no_override.reset();
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_TRUE(HasErrorFor(backup->errors, "dir/secret")) << DescribeErrors(backup->errors);
  EXPECT_EQ(backup->snapshot.stats().files_failed(), 1u);

  std::string target = NewTarget("unreadable");
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(backup->snapshot.id(), target));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
  EXPECT_EQ(ListDir(target + "/dir"), std::vector<std::string>{"z-after"});
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string after, ReadFile(target + "/dir/z-after"));
  EXPECT_EQ(after, "after the secret");
}

TEST_F(BackupRestoreTest, FileDeletedBetweenListingAndReadingIsTolerated) {
  ASSERT_EQ(mkdir(Src("dir").c_str(), 0755), 0);
  CAIRN_ASSERT_OK(WriteFile(Src("dir/a-before"), "read first"));
  CAIRN_ASSERT_OK(WriteFile(Src("dir/b-victim"), "soon gone"));
  CAIRN_ASSERT_OK(WriteFile(Src("dir/c-after"), "still here"));
  // "dir" is listed with b-victim in it; b-victim goes just before the walk
  // looks at it.
  BackupOptions options;
  options.root = src_;
  options.level = v1::BACKUP_LEVEL_FULL;
  bool deleted = false;
  options.on_entry = [&](const std::string& path) {
    if (path == "dir/b-victim") deleted = unlink(Src("dir/b-victim").c_str()) == 0;
  };
  absl::StatusOr<BackupResult> backup = RunBackup(env_->connection(), *env_->agent().crypto,
                                                  env_->agent().config, options);
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_TRUE(deleted);
  // Gone before it was looked at: nothing to protect, nothing to report.
  EXPECT_TRUE(backup->errors.empty()) << DescribeErrors(backup->errors);

  std::string target = NewTarget("deleted");
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(backup->snapshot.id(), target));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
  EXPECT_EQ(ListDir(target + "/dir"), (std::vector<std::string>{"a-before", "c-after"}));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string after, ReadFile(target + "/dir/c-after"));
  EXPECT_EQ(after, "still here");
}

// An agent whose server dies mid-backup stops walking at once (it used to
// treat the unreachable parent snapshot as "no parent" and wait out the
// retry budget in every directory: minutes for a few dozen directories).
TEST_F(BackupRestoreTest, ServerGoneMidBackupEndsTheWalkAtOnce) {
  for (int d = 0; d < 20; ++d) {
    CAIRN_ASSERT_OK(MakeDirectories(Src(absl::StrCat("d", d / 10, d % 10))));
    CAIRN_ASSERT_OK(WriteFile(Src(absl::StrCat("d", d / 10, d % 10, "/f")), RandomBytes(100, d)));
  }
  CAIRN_ASSERT_OK(env_->Backup(src_, v1::BACKUP_LEVEL_FULL).status());
  // The incremental reads its parent's trees; the server dies at d03.
  BackupOptions options;
  options.root = src_;
  options.level = v1::BACKUP_LEVEL_INCREMENTAL;
  bool killed = false;
  int looked_at_after = 0;
  options.on_entry = [&](const std::string& path) {
    if (killed) ++looked_at_after;
    if (path == "d03" && !killed) {
      env_->KillServer();
      killed = true;
    }
  };
  absl::StatusOr<BackupResult> backup = RunBackup(env_->connection(), *env_->agent().crypto,
                                                  env_->agent().config, options);
  ASSERT_TRUE(killed);
  ASSERT_FALSE(backup.ok()) << "a backup whose server died committed";
  EXPECT_TRUE(absl::IsUnavailable(backup.status())) << backup.status();
  // d03 is entered (its parent tree cannot be read: the walk ends there);
  // nothing after it is looked at.
  EXPECT_EQ(looked_at_after, 0) << "the walk went on without its server";
}

TEST_F(BackupRestoreTest, FileGrowingDuringTheBackupIsConsistentOrReported) {
  const std::string path = Src("growing.log");
  const std::string initial = RandomBytes(8u << 20, 7);
  CAIRN_ASSERT_OK(WriteFile(path, initial));
  CAIRN_ASSERT_OK(SetMtime(path, 1500000000));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult first, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));

  // The writer appends numbered, non-zero records until told to stop.
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::thread writer([&] {
    int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return;
    for (int i = 0; !stop; ++i) {
      std::string record(4096, static_cast<char>('A' + i % 26));
      if (write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size())) break;
      appended.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    close(fd);
  });
  while (appended.load() == 0) std::this_thread::yield();
  absl::StatusOr<BackupResult> second = env_->Backup(src_, v1::BACKUP_LEVEL_INCREMENTAL);
  stop = true;
  writer.join();
  ASSERT_TRUE(second.ok()) << second.status();
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string final_content, ReadFile(path));

  std::string target = NewTarget("growing");
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(second->snapshot.id(), target));
  EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string restored, ReadFile(target + "/growing.log"));
  if (HasErrorFor(second->errors, "growing.log")) {
    // Reported: the previous version is kept, whole.
    EXPECT_EQ(restored.size(), initial.size());
    EXPECT_TRUE(restored == initial) << "the kept version is not the previous one";
  } else {
    // Read consistently: some state the file passed through, never a mix.
    EXPECT_GT(restored.size(), initial.size());
    ASSERT_LE(restored.size(), final_content.size());
    EXPECT_TRUE(restored == final_content.substr(0, restored.size()))
        << "the snapshot holds bytes the file never had";
  }
}

}  // namespace
}  // namespace cairn

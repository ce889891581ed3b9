// RootProtector against an in-process server and real directories:
// journal-driven incrementals that list only changed directories, continuous
// mode, and the watcher's hard cases (the root replaced, a rescan asked for
// during a backup, a storm of renames).
#include "agent/root_protector.h"

#include <cstdio>
#include <iostream>
#include <optional>
#include <set>
#include <string>
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
#include "tests/agent/root_protector_test_util.h"

namespace cairn {
namespace {

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
    EXPECT_TRUE(WaitUntil([&] { return absl::StrContains(protector_->state().problem, root_); }));
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
  // A renamed file is read again under its new name (ctime moved too). Its
  // content is known, but small files are stored a directory's at a time
  // (agent/file_bundles.h): the files renamed into each directory share one
  // new bundle, and the sentinel is new.
  EXPECT_LE(second.snapshot.stats().chunks_new(), kDirs + 1u) << "one bundle per directory";
  ExpectRestoresTo(second.snapshot.id(), want, "storm");
}

}  // namespace
}  // namespace cairn

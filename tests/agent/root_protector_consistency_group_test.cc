// RootProtector's consistency groups: a checkpoint written slowly while
// backups keep running is in no snapshot half-written (settle time or marker
// file), and one already half-written at start-up waits for its settle time.
#include <atomic>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/root_protector.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/continuous_util.h"
#include "tests/agent/root_protector_test_util.h"

namespace cairn {
namespace {

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

// A marker the writer has created but not yet written (still empty) must
// not make its group look complete; once it has stood unchanged for half a
// second it does.
TEST_F(ConsistencyGroupTest, AMarkerJustCreatedDoesNotCountYet) {
  CAIRN_ASSERT_OK(MakeDirectories(Src("ckpt-3")));
  for (int s = 0; s < kShards; ++s) {
    CAIRN_ASSERT_OK(WriteFile(Src(absl::StrCat("ckpt-3/shard-", s)), RandomBytes(kPiece, s)));
  }
  ProtectionSettings settings = Settings();
  v1::ConsistencyGroup group;
  group.set_path("ckpt-*");
  group.set_settle_seconds(3600);
  group.add_markers(".metadata");
  settings.groups.push_back(group);
  Start(settings);
  if (HasFatalFailure()) return;
  CAIRN_ASSERT_OK(WriteFile(Src("ckpt-3/.metadata"), ""));
  const absl::Time created = absl::Now();
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult early,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  if (absl::Now() - created < absl::Milliseconds(450)) {
    CAIRN_ASSERT_OK_AND_ASSIGN(std::optional<v1::TreeEntry> entry,
                               SnapshotEntry(*env_, early.snapshot, "ckpt-3"));
    EXPECT_FALSE(entry.has_value()) << "a marker created just now made the group complete";
  }
  CAIRN_ASSERT_OK(WriteFile(Src("ckpt-3/.metadata"), "complete\n"));
  absl::SleepFor(absl::Milliseconds(600));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult late,
                             protector_->Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(root_));
  ExpectRestoresTo(late.snapshot.id(), want, "marked");
}

}  // namespace
}  // namespace cairn

// ChangeJournal on real files: pending paths kept across reopen, the newest
// time winning, commits that keep what changed after their snapshot, the
// "everything" mark, path checks, one user at a time, a kill -9 mid-append,
// and compaction keeping the same state while bounding the file.
#include "agent/change_journal.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/path_rules.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/change_journal_test_util.h"

namespace cairn {
namespace {

TEST_F(ChangeJournalTest, AddSyncReopenKeepsPendingPaths) {
  {
    auto journal = OpenOrDie(path_);
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->recovery_note(), "");
    CAIRN_ASSERT_OK(journal->Add("b/c", T(2)));
    CAIRN_ASSERT_OK(journal->Add("a", T(1)));
    CAIRN_ASSERT_OK(journal->Add("name with spaces\n\xff", T(3)));
    CAIRN_ASSERT_OK(journal->Sync());
    EXPECT_EQ(journal->size(), 3u);
  }
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->recovery_note(), "");
  ChangeJournal::Pending pending = journal->Snapshot();
  EXPECT_FALSE(pending.everything);
  EXPECT_EQ(pending.paths, (Paths{{"a", T(1)}, {"b/c", T(2)}, {"name with spaces\n\xff", T(3)}}));
  EXPECT_EQ(journal->size(), 3u);
}

TEST_F(ChangeJournalTest, NewestTimeWins) {
  {
    auto journal = OpenOrDie(path_);
    ASSERT_NE(journal, nullptr);
    CAIRN_ASSERT_OK(journal->Add("f", T(10)));
    CAIRN_ASSERT_OK(journal->Add("f", T(5)));  // an older report changes nothing
    CAIRN_ASSERT_OK(journal->Add("f", T(20)));
    CAIRN_ASSERT_OK(journal->Add("g", T(30)));
    // Within the granularity: kept in memory, the record not rewritten.
    CAIRN_ASSERT_OK(journal->Add("g", T(30) + absl::Milliseconds(400)));
    EXPECT_EQ(journal->Snapshot().paths,
              (Paths{{"f", T(20)}, {"g", T(30) + absl::Milliseconds(400)}}));
    CAIRN_ASSERT_OK(journal->Sync());
  }
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  Paths paths = journal->Snapshot().paths;
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], (std::pair<std::string, absl::Time>("f", T(20))));
  EXPECT_EQ(paths[1].first, "g");
  EXPECT_GE(paths[1].second, T(30));
  EXPECT_LE(paths[1].second, T(30) + absl::Milliseconds(400));
}

TEST_F(ChangeJournalTest, CommitKeepsChangesAfterTheSnapshot) {
  uint64_t first_sequence;
  {
    auto journal = OpenOrDie(path_);
    ASSERT_NE(journal, nullptr);
    CAIRN_ASSERT_OK(journal->Add("a", T(1)));
    CAIRN_ASSERT_OK(journal->Add("b", T(1)));
    ChangeJournal::Pending snapshot = journal->Snapshot();
    first_sequence = snapshot.sequence;
    EXPECT_EQ(Names(snapshot), (std::vector<std::string>{"a", "b"}));
    // While the backup runs: b changes again (within a second of its last
    // report, which must not matter after a Snapshot), c is new.
    CAIRN_ASSERT_OK(journal->Add("b", T(1) + absl::Milliseconds(10)));
    CAIRN_ASSERT_OK(journal->Add("c", T(2)));
    CAIRN_ASSERT_OK(journal->Commit(snapshot.sequence));
    EXPECT_EQ(Names(journal->Snapshot()), (std::vector<std::string>{"b", "c"}));
  }
  {
    auto journal = OpenOrDie(path_);
    ASSERT_NE(journal, nullptr);
    ChangeJournal::Pending pending = journal->Snapshot();
    EXPECT_EQ(pending.paths, (Paths{{"b", T(1) + absl::Milliseconds(10)}, {"c", T(2)}}));
    EXPECT_GT(pending.sequence, first_sequence);
    CAIRN_ASSERT_OK(journal->Commit(pending.sequence));
    EXPECT_EQ(journal->size(), 0u);
    // Committing the same sequence again is harmless.
    CAIRN_ASSERT_OK(journal->Commit(pending.sequence));
    CAIRN_ASSERT_OK(journal->Add("d", T(3)));
    EXPECT_GT(journal->Snapshot().sequence, pending.sequence);
    CAIRN_ASSERT_OK(journal->Sync());
  }
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(Names(journal->Snapshot()), (std::vector<std::string>{"d"}));
}

TEST_F(ChangeJournalTest, CommitBeyondTheNewestChangeIsRefused) {
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  CAIRN_ASSERT_OK(journal->Add("a", T(1)));
  uint64_t sequence = journal->Snapshot().sequence;
  absl::Status status = journal->Commit(sequence + 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(journal->size(), 1u);
  EXPECT_OK(journal->Commit(sequence));
}

TEST_F(ChangeJournalTest, EverythingSurvivesReopenUntilCommitted) {
  {
    auto journal = OpenOrDie(path_);
    ASSERT_NE(journal, nullptr);
    CAIRN_ASSERT_OK(journal->Add("a", T(1)));
    CAIRN_ASSERT_OK(journal->AddEverything(T(2)));
    CAIRN_ASSERT_OK(journal->Sync());
  }
  ChangeJournal::Pending pending;
  {
    auto journal = OpenOrDie(path_);
    ASSERT_NE(journal, nullptr);
    pending = journal->Snapshot();
    EXPECT_TRUE(pending.everything);
    EXPECT_EQ(Names(pending), (std::vector<std::string>{"a"}));
    EXPECT_EQ(journal->size(), 1u);  // "everything" is not a path
    // Add("") means the same as AddEverything, and it came after the snapshot.
    CAIRN_ASSERT_OK(journal->Add("", T(3)));
    CAIRN_ASSERT_OK(journal->Commit(pending.sequence));
    EXPECT_TRUE(journal->Snapshot().everything);
    CAIRN_ASSERT_OK(journal->Commit(journal->Snapshot().sequence));
    EXPECT_FALSE(journal->Snapshot().everything);
  }
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  EXPECT_FALSE(journal->Snapshot().everything);
  EXPECT_EQ(journal->size(), 0u);
}

TEST_F(ChangeJournalTest, RejectsPathsThatAreNotRootRelative) {
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  for (const char* bad : {"/abs", "a//b", "a/", "..", "a/../b", "./a"}) {
    absl::Status status = journal->Add(bad, T(1));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad << ": " << status;
  }
  EXPECT_FALSE(journal->Add(std::string(kMaxPathBytes + 1, 'x'), T(1)).ok());
  EXPECT_EQ(journal->size(), 0u);
  // The longest legal path round-trips: the largest record there is.
  std::string longest;
  while (longest.size() + 242 < kMaxPathBytes) {
    absl::StrAppend(&longest, std::string(240, 'n'), "/");
  }
  longest.append(kMaxPathBytes - longest.size(), 'z');
  ASSERT_EQ(longest.size(), kMaxPathBytes);
  CAIRN_ASSERT_OK(journal->Add(longest, T(1)));
  CAIRN_ASSERT_OK(journal->Sync());
  journal.reset();
  journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(Names(journal->Snapshot()), (std::vector<std::string>{longest}));
  EXPECT_EQ(journal->recovery_note(), "");
}

TEST_F(ChangeJournalTest, SecondOpenWhileInUseIsRefused) {
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::unique_ptr<ChangeJournal>> second = ChangeJournal::Open(path_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_NE(second.status().message().find("in use"), absl::string_view::npos);
  journal.reset();
  EXPECT_NE(OpenOrDie(path_), nullptr);
}

// A daemon killed with -9 in the middle of appending: what Sync acknowledged
// is there, the torn record is dropped, nothing is misread.
TEST_F(ChangeJournalTest, KillNineLeavesSyncedEntriesAndDropsTheTornTail) {
  auto size_of = [this]() -> uint64_t {
    struct stat st;
    return ::stat(path_.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  };
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // no gtest assertions in here: exit codes say what failed
    absl::StatusOr<std::unique_ptr<ChangeJournal>> journal = ChangeJournal::Open(path_);
    if (!journal.ok()) ::_exit(2);
    for (int i = 0; i < 100; ++i) {
      if (!(*journal)->Add(absl::StrCat("synced/", i), T(i)).ok()) ::_exit(3);
    }
    if (!(*journal)->Sync().ok()) ::_exit(4);
    const uint64_t synced = size_of();
    // One more record, then cut in half as a crash mid-write would leave it.
    if (!(*journal)->Add("torn/record", T(500)).ok()) ::_exit(5);
    if (!(*journal)->Sync().ok()) ::_exit(6);
    const uint64_t full = size_of();
    if (::truncate(path_.c_str(), static_cast<off_t>(synced + (full - synced) / 2)) != 0) {
      ::_exit(7);
    }
    // Buffered but never synced: may or may not survive, never half-read.
    for (int i = 0; i < 10; ++i) {
      (*journal)->Add(absl::StrCat("unsynced/", i), T(600)).IgnoreError();
    }
    ::kill(::getpid(), SIGKILL);
    ::_exit(9);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "child status " << wstatus;

  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  EXPECT_NE(journal->recovery_note().find("torn tail"), std::string::npos)
      << journal->recovery_note();
  ChangeJournal::Pending pending = journal->Snapshot();
  EXPECT_FALSE(pending.everything);
  std::set<std::string> names;
  for (const auto& [path, when] : pending.paths) names.insert(path);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(names.count(absl::StrCat("synced/", i))) << i;
  EXPECT_FALSE(names.count("torn/record"));
  EXPECT_EQ(names.size(), 100u);
  // The file was truncated to its good end: the next open is clean and
  // appends after it are read back.
  CAIRN_ASSERT_OK(journal->Add("after", T(700)));
  CAIRN_ASSERT_OK(journal->Sync());
  journal.reset();
  journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->recovery_note(), "");
  EXPECT_EQ(journal->size(), 101u);
}

TEST_F(ChangeJournalTest, CompactionKeepsTheSameState) {
  ChangeJournalOptions options;
  options.compact_at_bytes = 4096;
  std::map<std::string, absl::Time> want;
  uint64_t written = 0;
  bool want_everything = false;
  {
    auto journal = OpenOrDie(path_, options);
    ASSERT_NE(journal, nullptr);
    int64_t second = 0;
    for (int round = 0; round < 40; ++round) {
      for (int i = 0; i < 30; ++i) {
        std::string path = absl::StrCat("dir", i % 7, "/file", (round * 13 + i) % 50);
        ++second;
        CAIRN_ASSERT_OK(journal->Add(path, T(second)));
        want[path] = T(second);
      }
      if (round % 5 == 4) {
        CAIRN_ASSERT_OK(journal->AddEverything(T(++second)));
        want_everything = true;
      }
      ChangeJournal::Pending snapshot = journal->Snapshot();
      // Half the rounds commit: the log has both dirty and commit records.
      if (round % 2 == 0) {
        // Changes after the snapshot survive its commit.
        CAIRN_ASSERT_OK(journal->Add("late", T(++second)));
        CAIRN_ASSERT_OK(journal->Commit(snapshot.sequence));
        want.clear();
        want["late"] = T(second);
        want_everything = false;
      } else {
        CAIRN_ASSERT_OK(journal->Sync());
      }
      written += 30 * 40;  // at least 30 records of 40 bytes went in
      EXPECT_LE(FileSize(path_), 2 * options.compact_at_bytes + 64 * 1024) << round;
    }
    ChangeJournal::Pending pending = journal->Snapshot();
    Paths expected(want.begin(), want.end());
    EXPECT_EQ(pending.paths, expected);
    EXPECT_EQ(pending.everything, want_everything);
    EXPECT_TRUE(want_everything);  // the last round (39) marked it and did not commit
    CAIRN_ASSERT_OK(journal->Sync());
  }
  EXPECT_LT(FileSize(path_), written);  // it did compact
  auto journal = OpenOrDie(path_, options);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->recovery_note(), "");
  Paths expected(want.begin(), want.end());
  EXPECT_EQ(journal->Snapshot().paths, expected);
  EXPECT_EQ(journal->Snapshot().everything, want_everything);
  // No leftover temp file.
  EXPECT_EQ(ListDir(dir_), (std::vector<std::string>{"changes.journal"}));
}

TEST_F(ChangeJournalTest, DefaultThresholdBoundsTheLogOverLongUse) {
  auto journal = OpenOrDie(path_);
  ASSERT_NE(journal, nullptr);
  uint64_t max_size = 0;
  for (int round = 0; round < 150; ++round) {
    for (int i = 0; i < 1000; ++i) {
      CAIRN_ASSERT_OK(journal->Add(absl::StrCat("data/shard-", i, "/part"), T(round)));
    }
    CAIRN_ASSERT_OK(journal->Commit(journal->Snapshot().sequence));
    max_size = std::max(max_size, FileSize(path_));
  }
  // About 6 MiB of records went through a log that never grew past its
  // threshold plus one round.
  EXPECT_LT(max_size, (4u << 20) + (256u << 10));
  EXPECT_LT(FileSize(path_), 4u << 20);
  EXPECT_EQ(journal->size(), 0u);
}

TEST_F(ChangeJournalTest, CompactionWithManyPendingPathsKeepsThemAll) {
  ChangeJournalOptions options;
  options.compact_at_bytes = 64 * 1024;
  {
    auto journal = OpenOrDie(path_, options);
    ASSERT_NE(journal, nullptr);
    // Rewriting the same 3000 paths a second apart grows the log while the
    // live state stays the same size, so it compacts more than once.
    for (int round = 0; round < 10; ++round) {
      for (int i = 0; i < 3000; ++i) {
        CAIRN_ASSERT_OK(journal->Add(absl::StrCat("p/", i), T(round)));
      }
      journal->Snapshot();
      CAIRN_ASSERT_OK(journal->Sync());
    }
    EXPECT_EQ(journal->size(), 3000u);
  }
  auto journal = OpenOrDie(path_, options);
  ASSERT_NE(journal, nullptr);
  ChangeJournal::Pending pending = journal->Snapshot();
  ASSERT_EQ(pending.paths.size(), 3000u);
  for (const auto& [path, when] : pending.paths) EXPECT_EQ(when, T(9)) << path;
  EXPECT_LT(FileSize(path_), 10u * 3000u * 30u);
}

}  // namespace
}  // namespace cairn

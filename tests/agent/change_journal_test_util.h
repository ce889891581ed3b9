// Shared fixture of the ChangeJournal tests: a journal path in a fresh test
// directory, opening it, copies of its file to damage, and whole-second
// change times.
//
//   TEST_F(ChangeJournalTest, X) {
//     auto journal = OpenOrDie(path_);
//     CAIRN_ASSERT_OK(journal->Add("a", T(1)));
//   }
#ifndef CAIRN_TESTS_AGENT_CHANGE_JOURNAL_TEST_UTIL_H_
#define CAIRN_TESTS_AGENT_CHANGE_JOURNAL_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/change_journal.h"
#include "gtest/gtest.h"

namespace cairn {

using Paths = std::vector<std::pair<std::string, absl::Time>>;

// Whole seconds apart: Add rewrites a pending path's record only when its time
// moved by a second or more, and these tests want every time on disk.
absl::Time T(int64_t seconds);

// The size of the file at `path` (a failed expectation if it has none).
uint64_t FileSize(const std::string& path);

// The pending paths, without their times.
std::vector<std::string> Names(const ChangeJournal::Pending& pending);

class ChangeJournalTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Opens the journal at `path`; nullptr (and a failed expectation) if it cannot.
  std::unique_ptr<ChangeJournal> OpenOrDie(const std::string& path,
                                           ChangeJournalOptions options = {});

  // A copy of the journal file to damage, so one good file serves many cases.
  std::string CopyWith(absl::string_view contents);

  std::string dir_;
  std::string path_;
  int copies_ = 0;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_AGENT_CHANGE_JOURNAL_TEST_UTIL_H_

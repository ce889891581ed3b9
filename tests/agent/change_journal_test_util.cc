#include "tests/agent/change_journal_test_util.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {

absl::Time T(int64_t seconds) { return absl::FromUnixSeconds(1700000000 + seconds); }

uint64_t FileSize(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_size);
}

std::vector<std::string> Names(const ChangeJournal::Pending& pending) {
  std::vector<std::string> names;
  for (const auto& [path, when] : pending.paths) names.push_back(path);
  return names;
}

void ChangeJournalTest::SetUp() {
  dir_ = MakeTestDir("journal");
  path_ = dir_ + "/changes.journal";
}

void ChangeJournalTest::TearDown() {
  if (!HasFailure()) RemoveTree(dir_);
}

std::unique_ptr<ChangeJournal> ChangeJournalTest::OpenOrDie(const std::string& path,
                                                            ChangeJournalOptions options) {
  absl::StatusOr<std::unique_ptr<ChangeJournal>> journal = ChangeJournal::Open(path, options);
  EXPECT_TRUE(journal.ok()) << journal.status();
  return journal.ok() ? *std::move(journal) : nullptr;
}

std::string ChangeJournalTest::CopyWith(absl::string_view contents) {
  std::string copy = absl::StrCat(dir_, "/copy", copies_++, ".journal");
  EXPECT_TRUE(WriteFile(copy, contents).ok());
  return copy;
}

}  // namespace cairn

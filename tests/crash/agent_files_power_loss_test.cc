// Power loss on the agent's durable files: the change journal (appends,
// commits and its compaction by rename) and the tenant key file (an atomic
// replacement). At every durability point a cut may come; afterwards the
// journal reopens with every change a successful Sync acknowledged still
// pending, and the key file is either absent or whole.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/agent_config.h"
#include "agent/change_journal.h"
#include "common/keys.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/crash/power_loss.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

absl::Time T(int64_t seconds) { return absl::FromUnixSeconds(1700000000 + seconds); }

// A journal's life: changes, syncs, a commit, and enough churn for the log
// to compact itself (temp file, rename, directory sync). Returns the paths
// acknowledged (a successful Sync after their Add) and not committed since.
absl::Status Churn(const std::string& path, std::set<std::string>* acknowledged) {
  ChangeJournalOptions options;
  options.compact_at_bytes = 2048;  // compact often
  ASSIGN_OR_RETURN(std::unique_ptr<ChangeJournal> journal, ChangeJournal::Open(path, options));
  std::set<std::string> added;
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 20; ++i) {
      std::string p = absl::StrCat("dir", round % 3, "/file", i);
      RETURN_IF_ERROR(journal->Add(p, T(round * 100 + i)));
      added.insert(p);
    }
    RETURN_IF_ERROR(journal->Sync());
    acknowledged->insert(added.begin(), added.end());
    added.clear();
    if (round % 2 == 1) {
      // A backup covered everything so far.
      RETURN_IF_ERROR(journal->Commit(journal->Snapshot().sequence));
      acknowledged->clear();
    }
  }
  return absl::OkStatus();
}

TEST(AgentFilesPowerLossTest, JournalKeepsEveryAcknowledgedChangeAtAnyCut) {
  int points = 0;
  {
    std::string dir = MakeTestDir("power_journal");
    PowerLoss power({dir});
    std::set<std::string> acknowledged;
    ASSERT_OK(Churn(dir + "/journal", &acknowledged));
    points = power.points();
    RemoveTree(dir);
  }
  ASSERT_GT(points, 8);
  for (int cut = 1; cut <= points; ++cut) {
    SCOPED_TRACE(absl::StrCat("power cut at point ", cut, " of ", points));
    std::string dir = MakeTestDir("power_journal");
    std::set<std::string> acknowledged;
    {
      PowerLoss power({dir});
      power.CutAt(cut);
      Churn(dir + "/journal", &acknowledged).IgnoreError();  // fails from the cut on
      ASSERT_OK(power.Revert());
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChangeJournal> reopened,
                         ChangeJournal::Open(dir + "/journal"));
    ChangeJournal::Pending pending = reopened->Snapshot();
    std::set<std::string> found;
    for (const auto& [path, when] : pending.paths) found.insert(path);
    for (const std::string& p : acknowledged) {
      EXPECT_TRUE(pending.everything || found.contains(p))
          << p << " was acknowledged by Sync and is lost; " << reopened->recovery_note();
    }
    RemoveTree(dir);
  }
}

TEST(AgentFilesPowerLossTest, KeyFileIsWholeOrAbsentAtAnyCut) {
  int points = 0;
  {
    std::string dir = MakeTestDir("power_key");
    PowerLoss power({dir});
    ASSERT_OK(CreateKeyFile(dir + "/tenant.key", ""));
    points = power.points();
    RemoveTree(dir);
  }
  ASSERT_GE(points, 2) << "the key file and its directory are synced";
  for (int cut = 1; cut <= points + 1; ++cut) {
    SCOPED_TRACE(absl::StrCat("power cut at point ", cut, " of ", points));
    std::string dir = MakeTestDir("power_key");
    absl::Status created;
    {
      PowerLoss power({dir});
      power.CutAt(cut);
      created = CreateKeyFile(dir + "/tenant.key", "");
      ASSERT_OK(power.Revert());
    }
    std::vector<std::string> names = ListDir(dir);
    if (created.ok()) {
      // Acknowledged: it must be there, and whole.
      ASSERT_EQ(names, std::vector<std::string>{"tenant.key"});
    }
    if (!names.empty()) {
      ASSERT_EQ(names, std::vector<std::string>{"tenant.key"}) << "a temp file survived";
      EXPECT_OK(ReadKeyFile(dir + "/tenant.key", "").status());
    }
    RemoveTree(dir);
  }
}

}  // namespace
}  // namespace cairn

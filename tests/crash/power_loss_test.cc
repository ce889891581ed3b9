// The power-loss harness itself: what it keeps and what it drops, for
// cairn's own files (through the sync hook) and for SQLite's (through its
// VFS). The scenarios that rely on it are in the other tests of this folder.
#include "tests/crash/power_loss.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "tests/agent/agent_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTestDir("power_loss"); }
  void TearDown() override { RemoveTree(dir_); }
  std::string dir_;
};

TEST_F(PowerLossTest, KeepsSyncedBytesAndNamesAndDropsTheRest) {
  ASSERT_OK(WriteFile(dir_ + "/old", "there before"));
  PowerLoss power({dir_});
  {
    ASSERT_OK_AND_ASSIGN(UniqueFd fd, OpenFile(dir_ + "/synced", O_WRONLY | O_CREAT, 0600));
    ASSERT_OK(WriteFully(fd.get(), "durable", "synced"));
    ASSERT_OK(SyncFile(fd.get(), dir_ + "/synced"));
    ASSERT_OK(FsyncDirectory(dir_));
    ASSERT_OK(WriteFully(fd.get(), " and lost", "synced"));  // never synced
  }
  ASSERT_OK(WriteFile(dir_ + "/never-synced", "gone"));
  ASSERT_OK(AppendFile(dir_ + "/old", " plus lost bytes"));
  ASSERT_EQ(unlink((dir_ + "/old").c_str()), 0);  // not durable: no directory sync
  EXPECT_EQ(power.points(), 2);

  ASSERT_OK(power.Revert());
  ASSERT_OK_AND_ASSIGN(std::string synced, ReadFile(dir_ + "/synced"));
  EXPECT_EQ(synced, "durable");
  EXPECT_FALSE(Exists(dir_ + "/never-synced"));
  ASSERT_OK_AND_ASSIGN(std::string old, ReadFile(dir_ + "/old"));
  EXPECT_EQ(old, "there before");
}

TEST_F(PowerLossTest, ARenameIsDurableOnlyWithItsDirectorySync) {
  PowerLoss power({dir_});
  ASSERT_OK(WriteFileAtomically(dir_ + "/kept", "v1", 0600));
  EXPECT_EQ(power.points(), 2);  // the temp file, then the directory
  power.CutAt(2);                // the next replacement's directory sync fails
  EXPECT_FALSE(WriteFileAtomically(dir_ + "/kept", "v2", 0600).ok());
  EXPECT_TRUE(power.cut());
  ASSERT_OK(power.Revert());
  ASSERT_OK_AND_ASSIGN(std::string kept, ReadFile(dir_ + "/kept"));
  EXPECT_EQ(kept, "v1");
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"kept"}) << "no temp file survives";
}

TEST_F(PowerLossTest, AfterTheCutNothingBecomesDurable) {
  PowerLoss power({dir_});
  power.CutAt(1);
  EXPECT_FALSE(WriteFileAtomically(dir_ + "/a", "x", 0600).ok());
  EXPECT_FALSE(FsyncDirectory(dir_).ok()) << "every later sync fails too";
  ASSERT_OK(power.Revert());
  EXPECT_TRUE(ListDir(dir_).empty());
  // The power is back: syncs work again.
  ASSERT_OK(WriteFileAtomically(dir_ + "/a", "x", 0600));
}

TEST_F(PowerLossTest, SqliteKeepsCommittedTransactionsOnly) {
  PowerLoss::RegisterVfs();
  const std::string path = dir_ + "/db.sqlite";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, PowerLoss::kVfs));
    ASSERT_OK(db->Exec("CREATE TABLE t(v INTEGER)"));
    ASSERT_OK(db->Exec("INSERT INTO t VALUES(1)"));
  }
  PowerLoss power({dir_});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, PowerLoss::kVfs));
  ASSERT_OK(db->Exec("INSERT INTO t VALUES(2)"));  // committed: synced
  int committed = power.points();
  EXPECT_GT(committed, 0);
  power.CutAt(1);
  EXPECT_FALSE(db->Exec("INSERT INTO t VALUES(3)").ok());
  db.reset();
  ASSERT_OK(power.Revert());

  ASSERT_OK_AND_ASSIGN(db, SqliteDb::Open(path));
  ASSERT_OK_AND_ASSIGN(SqliteStatement sum, db->Prepare("SELECT count(*), sum(v) FROM t"));
  ASSERT_OK_AND_ASSIGN(bool row, sum.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(sum.ColumnInt(0), 2);
  EXPECT_EQ(sum.ColumnInt(1), 3);
  ASSERT_OK_AND_ASSIGN(SqliteStatement check, db->Prepare("PRAGMA integrity_check"));
  ASSERT_OK_AND_ASSIGN(row, check.Step());
  EXPECT_EQ(check.ColumnText(0), "ok");
}

}  // namespace
}  // namespace cairn

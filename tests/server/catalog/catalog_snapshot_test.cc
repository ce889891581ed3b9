// Catalog snapshot commits on a real SQLite file: idempotent per job, one id
// for one snapshot only, unknown jobs and tenants refused, and the latest
// snapshot of an agent's root by level.
#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/catalog/catalog_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

TEST_F(CatalogTest, CommitSnapshotIsIdempotentPerJob) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK_AND_ASSIGN(v1::Snapshot first, CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10));
  EXPECT_EQ(first.id(), "s-1");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, catalog_->jobs().Get("j-1"));
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job->snapshot_id(), "s-1");

  // A retried commit of the same job, even carrying a new snapshot id, gets
  // the first snapshot back and changes nothing.
  v1::Job retry = *job;
  retry.set_state(v1::JOB_STATE_PARTIAL);
  ASSERT_OK_AND_ASSIGN(
      v1::Snapshot second,
      catalog_->snapshots().Commit(Snapshot("s-2", "j-1", v1::BACKUP_LEVEL_FULL, 20), retry));
  EXPECT_EQ(second.id(), "s-1");
  EXPECT_EQ(second.created_unix_ms(), 10);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> s2, catalog_->snapshots().Get("s-2"));
  EXPECT_FALSE(s2.has_value());
  ASSERT_OK_AND_ASSIGN(job, catalog_->jobs().Get("j-1"));
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  ASSERT_OK_AND_ASSIGN(CatalogTotals totals, catalog_->Totals());
  EXPECT_EQ(totals.snapshots, 1u);
}

TEST_F(CatalogTest, TwoSnapshotsWithOneIdAreAnError) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK(CommitNew("s-same", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());
  absl::StatusOr<v1::Snapshot> clash = CommitNew("s-same", "j-2", v1::BACKUP_LEVEL_FULL, 20);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists) << clash.status();

  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> kept, catalog_->snapshots().Get("s-same"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->job_id(), "j-1");
  // The failed commit rolled back: the second job did not end.
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job2, catalog_->jobs().Get("j-2"));
  EXPECT_EQ(job2->state(), v1::JOB_STATE_RUNNING);
  EXPECT_TRUE(job2->snapshot_id().empty());
}

TEST_F(CatalogTest, CommitSnapshotForAnUnknownJobOrTenantFails) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  v1::Job ghost = Job("j-ghost", "a1", v1::JOB_STATE_SUCCEEDED, 1);
  absl::StatusOr<v1::Snapshot> s =
      catalog_->snapshots().Commit(Snapshot("s-1", "j-ghost", v1::BACKUP_LEVEL_FULL, 1), ghost);
  EXPECT_FALSE(s.ok());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> none, catalog_->snapshots().Get("s-1"));
  EXPECT_FALSE(none.has_value());

  ASSERT_OK(catalog_->jobs().Insert(Job("j-2", "a1", v1::JOB_STATE_RUNNING, 1), 0));
  v1::Snapshot stranger = Snapshot("s-2", "j-2", v1::BACKUP_LEVEL_FULL, 1);
  stranger.set_tenant("no-such-tenant");
  EXPECT_FALSE(
      catalog_->snapshots().Commit(stranger, Job("j-2", "a1", v1::JOB_STATE_SUCCEEDED, 1)).ok());
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// After a commit the write-ahead log holds it; folded, the log is empty and
// the commit is in the database file, read back after a reopen.
TEST_F(CatalogTest, FoldLogEmptiesTheLogAndKeepsEveryCommit) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK(CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());
  const std::string wal = path_ + "-wal";
  EXPECT_GT(FileSize(wal), 0);
  ASSERT_OK(catalog_->FoldLog());
  EXPECT_EQ(FileSize(wal), 0);
  ASSERT_OK(CommitNew("s-2", "j-2", v1::BACKUP_LEVEL_FULL, 20).status());
  ASSERT_OK(catalog_->FoldLog());
  EXPECT_EQ(FileSize(wal), 0);
  Reopen();
  for (const char* id : {"s-1", "s-2"}) {
    ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> s, catalog_->snapshots().Get(id));
    EXPECT_TRUE(s.has_value()) << id;
  }
}

// A reader still on an older state keeps the log: FoldLog says so at once
// instead of waiting, and succeeds once the reader is done.
TEST_F(CatalogTest, FoldLogDoesNotWaitForAReader) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK(CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> reader, SqliteDb::Open(path_));
  ASSERT_OK(reader->Exec("BEGIN"));
  {
    ASSERT_OK_AND_ASSIGN(SqliteStatement count, reader->Prepare("SELECT count(*) FROM snapshots"));
    ASSERT_OK_AND_ASSIGN(bool row, count.Step());
    ASSERT_TRUE(row);
    EXPECT_EQ(count.ColumnInt(0), 1);
  }
  ASSERT_OK(CommitNew("s-2", "j-2", v1::BACKUP_LEVEL_FULL, 20).status());
  const absl::Time start = absl::Now();
  absl::Status busy = catalog_->FoldLog();
  EXPECT_TRUE(absl::IsUnavailable(busy)) << busy;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // not the 10 s busy wait
  EXPECT_GT(FileSize(path_ + "-wal"), 0);
  ASSERT_OK(reader->Exec("COMMIT"));
  ASSERT_OK(catalog_->FoldLog());
  EXPECT_EQ(FileSize(path_ + "-wal"), 0);
}

TEST_F(CatalogTest, LatestSnapshotByLevel) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK(CommitNew("s-full", "j-1", v1::BACKUP_LEVEL_FULL, 100).status());
  ASSERT_OK(CommitNew("s-incr", "j-2", v1::BACKUP_LEVEL_INCREMENTAL, 200).status());
  ASSERT_OK(CommitNew("s-diff", "j-3", v1::BACKUP_LEVEL_DIFFERENTIAL, 300).status());
  ASSERT_OK(CommitNew("s-incr2", "j-4", v1::BACKUP_LEVEL_INCREMENTAL, 250).status());

  auto latest = [&](std::optional<v1::BackupLevel> level) -> std::string {
    absl::StatusOr<std::optional<v1::Snapshot>> s =
        catalog_->snapshots().Latest("a1", "/data", level);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() && s->has_value() ? (*s)->id() : "";
  };
  EXPECT_EQ(latest(std::nullopt), "s-diff");
  EXPECT_EQ(latest(v1::BACKUP_LEVEL_FULL), "s-full");
  EXPECT_EQ(latest(v1::BACKUP_LEVEL_INCREMENTAL), "s-incr2");  // by time, not insertion
  EXPECT_EQ(latest(v1::BACKUP_LEVEL_DIFFERENTIAL), "s-diff");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> other,
                       catalog_->snapshots().Latest("a1", "/elsewhere", std::nullopt));
  EXPECT_FALSE(other.has_value());
  ASSERT_OK_AND_ASSIGN(other, catalog_->snapshots().Latest("a2", "/data", std::nullopt));
  EXPECT_FALSE(other.has_value());

  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> listed, catalog_->snapshots().List("a1", 2));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id(), "s-diff");
  EXPECT_EQ(listed[1].id(), "s-incr2");
}

}  // namespace
}  // namespace cairn

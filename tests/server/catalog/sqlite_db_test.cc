// SqliteDb on a real database file: the per-connection statement cache (a
// statement comes back reset and unbound; two uses of one SQL at once each
// get their own statement), transactions that roll back unless committed,
// and how SQLite errors map to statuses (SqliteError).
#include "server/catalog/sqlite_db.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("sqlite_db");
    ASSERT_OK(MakeDirectories(dir_, 0750));
    path_ = dir_ + "/test.db";
    ASSERT_OK_AND_ASSIGN(db_, SqliteDb::Open(path_));
    ASSERT_OK(db_->Exec("CREATE TABLE t(x INTEGER PRIMARY KEY, v TEXT)"));
    ASSERT_OK(db_->Exec("INSERT INTO t VALUES(1, 'one'), (2, 'two'), (3, 'three')"));
  }
  void TearDown() override {
    db_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  // Prepared statements the connection holds (in use or cached).
  int PreparedCount() {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db_->raw(), nullptr); s != nullptr;
         s = sqlite3_next_stmt(db_->raw(), s)) {
      ++n;
    }
    return n;
  }
  int64_t Count(SqliteDb& db) {
    absl::StatusOr<SqliteStatement> stmt = db.Prepare("SELECT count(*) FROM t");
    EXPECT_TRUE(stmt.ok()) << stmt.status();
    if (!stmt.ok()) return -1;
    absl::StatusOr<bool> row = stmt->Step();
    EXPECT_TRUE(row.ok() && *row);
    return stmt->ColumnInt(0);
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<SqliteDb> db_;
};

constexpr char kAfter[] = "SELECT x, v FROM t WHERE x > ?1 ORDER BY x";

TEST_F(SqliteDbTest, AStatementComesBackFromTheCacheResetAndUnbound) {
  const int before = PreparedCount();
  {
    ASSERT_OK_AND_ASSIGN(SqliteStatement stmt, db_->Prepare("SELECT ?1, ?2"));
    stmt.Bind(1, 42);
    stmt.BindText(2, "bound");
    ASSERT_OK_AND_ASSIGN(bool row, stmt.Step());
    ASSERT_TRUE(row);
    EXPECT_EQ(stmt.ColumnInt(0), 42);
    EXPECT_EQ(stmt.ColumnText(1), "bound");
  }  // back to the cache, mid-result
  EXPECT_EQ(PreparedCount(), before + 1);
  ASSERT_OK_AND_ASSIGN(SqliteStatement again, db_->Prepare("SELECT ?1, ?2"));
  EXPECT_EQ(PreparedCount(), before + 1);  // the cached one, not a new one
  ASSERT_OK_AND_ASSIGN(bool row, again.Step());
  ASSERT_TRUE(row);
  EXPECT_TRUE(again.ColumnIsNull(0));
  EXPECT_TRUE(again.ColumnIsNull(1));
}

TEST_F(SqliteDbTest, AStatementLeftMidIterationStartsOverNextTime) {
  {
    ASSERT_OK_AND_ASSIGN(SqliteStatement stmt, db_->Prepare(kAfter));
    stmt.Bind(1, 0);
    ASSERT_OK_AND_ASSIGN(bool row, stmt.Step());
    ASSERT_TRUE(row);
    ASSERT_OK_AND_ASSIGN(row, stmt.Step());
    ASSERT_TRUE(row);
    EXPECT_EQ(stmt.ColumnInt(0), 2);
  }
  ASSERT_OK_AND_ASSIGN(SqliteStatement stmt, db_->Prepare(kAfter));
  stmt.Bind(1, 0);
  ASSERT_OK_AND_ASSIGN(bool row, stmt.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(stmt.ColumnInt(0), 1);
}

TEST_F(SqliteDbTest, TwoUsesOfOneSqlAtOnceEachGetAStatement) {
  const int before = PreparedCount();
  {
    ASSERT_OK_AND_ASSIGN(SqliteStatement a, db_->Prepare(kAfter));
    ASSERT_OK_AND_ASSIGN(SqliteStatement b, db_->Prepare(kAfter));
    EXPECT_EQ(PreparedCount(), before + 2);
    a.Bind(1, 0);
    b.Bind(1, 1);
    ASSERT_OK_AND_ASSIGN(bool row, a.Step());
    ASSERT_TRUE(row);
    EXPECT_EQ(a.ColumnInt(0), 1);
    ASSERT_OK_AND_ASSIGN(row, b.Step());
    ASSERT_TRUE(row);
    EXPECT_EQ(b.ColumnInt(0), 2);
    ASSERT_OK_AND_ASSIGN(row, a.Step());
    EXPECT_EQ(a.ColumnInt(0), 2);
    ASSERT_OK_AND_ASSIGN(row, b.Step());
    EXPECT_EQ(b.ColumnInt(0), 3);
    EXPECT_EQ(b.ColumnText(1), "three");
    ASSERT_OK_AND_ASSIGN(row, b.Step());
    EXPECT_FALSE(row);
    ASSERT_OK_AND_ASSIGN(row, a.Step());
    EXPECT_EQ(a.ColumnInt(0), 3);
  }
  // Both went back to the cache; using two at once again prepares nothing new.
  ASSERT_OK_AND_ASSIGN(SqliteStatement c, db_->Prepare(kAfter));
  ASSERT_OK_AND_ASSIGN(SqliteStatement d, db_->Prepare(kAfter));
  EXPECT_EQ(PreparedCount(), before + 2);
  // A moved statement still belongs to the cache once, not twice.
  SqliteStatement moved(std::move(c));
  moved.Bind(1, 2);
  ASSERT_OK_AND_ASSIGN(bool row, moved.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(moved.ColumnInt(0), 3);
}

TEST_F(SqliteDbTest, ATransactionRollsBackUnlessCommitted) {
  {
    ASSERT_OK_AND_ASSIGN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
    ASSERT_OK(db_->Exec("INSERT INTO t VALUES(10, 'ten')"));
    EXPECT_EQ(Count(*db_), 4);
  }
  EXPECT_EQ(Count(*db_), 3);
  {
    ASSERT_OK_AND_ASSIGN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
    ASSERT_OK(db_->Exec("INSERT INTO t VALUES(11, 'eleven')"));
    ASSERT_OK(txn.Commit());
  }
  EXPECT_EQ(Count(*db_), 4);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> other, SqliteDb::Open(path_));
  EXPECT_EQ(Count(*other), 4);
  // A transaction moved out of a StatusOr still rolls back once.
  absl::StatusOr<SqliteTransaction> begun = SqliteTransaction::Begin(db_.get());
  ASSERT_OK(begun.status());
  {
    SqliteTransaction moved(std::move(*begun));
    ASSERT_OK(db_->Exec("DELETE FROM t"));
  }
  EXPECT_EQ(Count(*db_), 4);
}

// A burst of writes grows the write-ahead log; once checkpointed, the next
// write cuts it back to at most 4 MiB instead of keeping it at its peak.
TEST_F(SqliteDbTest, TheWriteAheadLogShrinksAfterABurst) {
  const std::string wal = path_ + "-wal";
  ASSERT_OK(db_->Exec("BEGIN"));
  ASSERT_OK(
      db_->Exec("WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 30000) INSERT INTO t SELECT i, hex(randomblob(400)) FROM n"));
  ASSERT_OK(db_->Exec("COMMIT"));
  struct stat st;
  ASSERT_EQ(::stat(wal.c_str(), &st), 0);
  const off_t peak = st.st_size;
  EXPECT_GT(peak, 16 << 20);  // the burst really was larger than the limit
  ASSERT_OK(db_->Exec("PRAGMA wal_checkpoint(PASSIVE)"));
  ASSERT_OK(db_->Exec("INSERT INTO t VALUES(99999999, 'after')"));
  ASSERT_EQ(::stat(wal.c_str(), &st), 0);
  EXPECT_LE(st.st_size, 4 << 20) << "peak was " << peak;
}

TEST_F(SqliteDbTest, ATransactionCannotNest) {
  ASSERT_OK_AND_ASSIGN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  absl::StatusOr<SqliteTransaction> nested = SqliteTransaction::Begin(db_.get());
  EXPECT_FALSE(nested.ok());
  EXPECT_THAT(nested.status().message(), HasSubstr("BEGIN IMMEDIATE"));
  ASSERT_OK(txn.Commit());
}

TEST_F(SqliteDbTest, BusyIsUnavailable) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> other, SqliteDb::Open(path_));
  sqlite3_busy_timeout(other->raw(), 0);  // fail at once instead of waiting 10 s
  ASSERT_OK_AND_ASSIGN(SqliteTransaction holding, SqliteTransaction::Begin(db_.get()));
  absl::StatusOr<SqliteTransaction> blocked = SqliteTransaction::Begin(other.get());
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kUnavailable) << blocked.status();
  ASSERT_OK(holding.Commit());
  ASSERT_OK_AND_ASSIGN(SqliteTransaction now, SqliteTransaction::Begin(other.get()));
  ASSERT_OK(now.Commit());
}

TEST_F(SqliteDbTest, ErrorsMapToStatusesAndNameTheStatement) {
  // Constraint: AlreadyExists.
  absl::Status dup = db_->Exec("INSERT INTO t VALUES(1, 'again')");
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_THAT(dup.message(), HasSubstr("INSERT INTO t VALUES(1, 'again')"));
  {
    ASSERT_OK_AND_ASSIGN(SqliteStatement insert, db_->Prepare("INSERT INTO t VALUES(?, ?)"));
    insert.Bind(1, 2);
    insert.BindText(2, "dup");
    absl::Status run = insert.Run();
    EXPECT_EQ(run.code(), absl::StatusCode::kAlreadyExists) << run;
    EXPECT_THAT(run.message(), HasSubstr("INSERT INTO t VALUES(?, ?)"));
  }
  // Bad SQL: Internal, naming it.
  absl::StatusOr<SqliteStatement> bad = db_->Prepare("SELEKT 1");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal) << bad.status();
  EXPECT_THAT(bad.status().message(), HasSubstr("SELEKT 1"));
  // No statement at all: InvalidArgument.
  EXPECT_EQ(db_->Prepare("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Prepare("-- only a comment").status().code(), absl::StatusCode::kInvalidArgument);
  // Writing to a read-only connection: PermissionDenied.
  ASSERT_OK(db_->Exec("PRAGMA query_only = ON"));
  EXPECT_EQ(db_->Exec("INSERT INTO t VALUES(20, 'x')").code(), absl::StatusCode::kPermissionDenied);
  ASSERT_OK(db_->Exec("PRAGMA query_only = OFF"));
  // A full database: ResourceExhausted.
  ASSERT_OK_AND_ASSIGN(int64_t pages, [&]() -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(SqliteStatement s, db_->Prepare("PRAGMA page_count"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::InternalError("no page_count");
    return s.ColumnInt(0);
  }());
  ASSERT_OK(db_->Exec("PRAGMA max_page_count = " + std::to_string(pages + 1)));
  {
    ASSERT_OK_AND_ASSIGN(SqliteStatement big, db_->Prepare("INSERT INTO t VALUES(30, ?)"));
    big.BindText(1, std::string(1 << 20, 'x'));
    absl::Status full = big.Run();
    EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  }
  // A database that cannot be opened (no such directory): NotFound.
  absl::StatusOr<std::unique_ptr<SqliteDb>> nowhere = SqliteDb::Open(dir_ + "/no/such/dir/x.db");
  EXPECT_EQ(nowhere.status().code(), absl::StatusCode::kNotFound) << nowhere.status();
}

TEST_F(SqliteDbTest, SqliteErrorMapsEveryDocumentedCode) {
  struct Case {
    int rc;
    absl::StatusCode code;
  };
  for (const Case& c : std::vector<Case>{
           {SQLITE_FULL, absl::StatusCode::kResourceExhausted},
           {SQLITE_BUSY, absl::StatusCode::kUnavailable},
           {SQLITE_BUSY_SNAPSHOT, absl::StatusCode::kUnavailable},
           {SQLITE_LOCKED, absl::StatusCode::kUnavailable},
           {SQLITE_CORRUPT, absl::StatusCode::kDataLoss},
           {SQLITE_NOTADB, absl::StatusCode::kDataLoss},
           {SQLITE_CONSTRAINT, absl::StatusCode::kAlreadyExists},
           {SQLITE_CONSTRAINT_FOREIGNKEY, absl::StatusCode::kFailedPrecondition},
           {SQLITE_CANTOPEN, absl::StatusCode::kNotFound},
           {SQLITE_PERM, absl::StatusCode::kPermissionDenied},
           {SQLITE_READONLY, absl::StatusCode::kPermissionDenied},
           {SQLITE_IOERR, absl::StatusCode::kInternal},
           {SQLITE_IOERR_FSYNC, absl::StatusCode::kInternal},
           {SQLITE_ERROR, absl::StatusCode::kInternal},
       }) {
    absl::Status status = SqliteError(nullptr, c.rc, "the statement");
    EXPECT_EQ(status.code(), c.code) << "rc " << c.rc << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr("catalog: the statement: "));
    EXPECT_THAT(status.message(), HasSubstr(sqlite3_errstr(c.rc)));
  }
}

// Regression: statements were cached under the text SQLite kept, not the
// text asked for, so SQL with a trailing tail was never found again and
// every Prepare made a new statement.
TEST_F(SqliteDbTest, SqlWithATrailingTailIsCachedToo) {
  const char* sql = "SELECT 1; ";
  { ASSERT_OK(db_->Prepare(sql).status()); }
  const int before = PreparedCount();
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(db_->Prepare(sql).status());
  }
  EXPECT_EQ(PreparedCount(), before);
}

}  // namespace
}  // namespace cairn

// A thin RAII layer over SQLite: one connection, prepared statements with
// typed binds (cached per connection: a statement goes back to the cache,
// reset, when it goes out of scope), and transactions that roll back unless
// committed. Every SQLite error becomes an absl::Status that names the
// statement. Not thread-safe: each user holds its own lock around a SqliteDb.
//
//   ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path));
//   ASSIGN_OR_RETURN(auto stmt, db->Prepare("SELECT size FROM packs WHERE id=?"));
//   stmt.Bind(1, pack_id);
//   ASSIGN_OR_RETURN(bool row, stmt.Step());
#ifndef CAIRN_SERVER_CATALOG_SQLITE_DB_H_
#define CAIRN_SERVER_CATALOG_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// How long a connection waits for another's lock before SQLITE_BUSY.
inline constexpr int kSqliteBusyTimeoutMs = 10000;

class SqliteDb;

class SqliteStatement final {
 public:
  SqliteStatement(SqliteDb* owner, std::vector<sqlite3_stmt*>* home, sqlite3_stmt* stmt)
      : owner_(owner), home_(home), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binds are 1-based, as in SQLite.
  void Bind(int index, int64_t value);
  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value);
  void BindNull(int index);

  // True when a row is ready, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, for statements that return no rows.
  absl::Status Run();
  void Reset();

  int64_t ColumnInt(int index) const;
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  SqliteDb* owner_;
  std::vector<sqlite3_stmt*>* home_;  // where the statement goes back when done
  sqlite3_stmt* stmt_;
};

class SqliteDb final {
 public:
  // Opens (creating) the database at `path` in WAL mode with synchronous=FULL
  // and foreign keys on. Busy waits up to 10 s for other connections. `vfs`
  // names a registered SQLite VFS (empty: the default), for tests that
  // simulate power loss.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                        const std::string& vfs = "");
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  absl::Status Exec(absl::string_view sql);
  // Prepares `sql`, or takes the prepared statement from this connection's
  // cache when it is not in use.
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);
  int64_t LastInsertRowId() const;
  int Changes() const;
  sqlite3* raw() { return db_; }

 private:
  friend class SqliteStatement;
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  // Takes back a statement whose user is done with it (reset, unbound).
  void Release(std::vector<sqlite3_stmt*>* home, sqlite3_stmt* stmt);

  sqlite3* db_;
  // Idle prepared statements by the SQL text they were asked for with.
  absl::node_hash_map<std::string, std::vector<sqlite3_stmt*>> idle_;
};

// BEGIN IMMEDIATE on construction; rolls back on destruction unless Commit()
// succeeded.
class SqliteTransaction final {
 public:
  static absl::StatusOr<SqliteTransaction> Begin(SqliteDb* db);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();
  absl::Status Commit();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what);

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_SQLITE_DB_H_

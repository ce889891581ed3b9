// A thin RAII layer over SQLite: one connection, prepared statements with
// typed binds, and transactions that roll back unless committed. Every SQLite
// error becomes an absl::Status that names the statement.
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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

class SqliteStatement final {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
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
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb final {
 public:
  // Opens (creating) the database at `path` in WAL mode with synchronous=FULL
  // and foreign keys on. Busy waits up to 10 s for other connections.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);
  int64_t LastInsertRowId() const;
  int Changes() const;
  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
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

#include "server/catalog/catalog.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "server/catalog/schema.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path,
                                                       const CatalogOptions& options) {
  std::unique_ptr<Catalog> catalog(new Catalog());
  auto connect = [&]() { return SqliteDb::Open(path, options.sqlite_vfs); };
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> first, connect());
  // It names every agent and file: only the server's user may read it (the
  // WAL and shared-memory files SQLite makes take the same mode).
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path + suffix;
    if (::chmod(file.c_str(), 0600) != 0 && errno != ENOENT) {
      return PosixError(errno, "chmod 0600", file);
    }
  }
  RETURN_IF_ERROR(MigrateCatalog(first.get()));
  {
    absl::MutexLock lock(&catalog->mu_);
    catalog->checks_db_ = std::move(first);
  }
  // Agents, chunks, trees and jobs get a second connection for the lookups
  // of running backups, which then never queue behind a commit's fsync
  // (read_connection.h).
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, connect());
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> reader, connect());
  catalog->agents_ = std::make_unique<AgentStore>(std::move(db), std::move(reader));
  ASSIGN_OR_RETURN(db, connect());
  ASSIGN_OR_RETURN(reader, connect());
  catalog->chunks_ = std::make_unique<ChunkStore>(std::move(db), options.clock, std::move(reader));
  ASSIGN_OR_RETURN(db, connect());
  ASSIGN_OR_RETURN(reader, connect());
  catalog->trees_ = std::make_unique<TreeStore>(std::move(db), options.clock, std::move(reader));
  ASSIGN_OR_RETURN(db, connect());
  catalog->snapshots_ = std::make_unique<SnapshotStore>(std::move(db));
  ASSIGN_OR_RETURN(db, connect());
  ASSIGN_OR_RETURN(reader, connect());
  catalog->jobs_ = std::make_unique<JobStore>(std::move(db), std::move(reader));
  ASSIGN_OR_RETURN(db, connect());
  catalog->policies_ = std::make_unique<PolicyStore>(std::move(db), options.clock);
  ASSIGN_OR_RETURN(db, connect());
  catalog->access_ = std::make_unique<AccessStore>(std::move(db));
  ASSIGN_OR_RETURN(db, connect());
  catalog->audit_ = std::make_unique<AuditStore>(std::move(db));
  ASSIGN_OR_RETURN(db, connect());
  catalog->placement_ = std::make_unique<PlacementStore>(std::move(db), options.clock);
  ASSIGN_OR_RETURN(db, connect());
  catalog->mirror_ = std::make_unique<MirrorStore>(std::move(db));
  return catalog;
}

absl::StatusOr<CatalogTotals> Catalog::Totals() {
  ASSIGN_OR_RETURN(CatalogTotals totals, chunks_->Totals());
  ASSIGN_OR_RETURN(CatalogTotals snapshots, snapshots_->Totals());
  totals.snapshots = snapshots.snapshots;
  totals.logical_bytes = snapshots.logical_bytes;
  return totals;
}

absl::Status Catalog::SnapshotTo(const std::string& path) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement vacuum, checks_db_->Prepare("VACUUM INTO ?"));
  vacuum.BindText(1, path);
  return vacuum.Run();
}

absl::Status Catalog::FoldLog() {
  // Not behind a long check or copy (SnapshotTo, IntegrityCheck): the
  // caller is a commit waiting to be answered.
  if (!mu_.TryLock()) return absl::UnavailableError("the catalog is being copied or checked");
  sqlite3* db = checks_db_->raw();
  sqlite3_busy_timeout(db, 0);
  const int rc =
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_busy_timeout(db, kSqliteBusyTimeoutMs);
  const std::string error = rc == SQLITE_OK ? "" : sqlite3_errmsg(db);
  mu_.Unlock();
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return absl::UnavailableError("the catalog is in use; its log is folded later");
  }
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("folding the catalog's log into its file: ", error));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Catalog::IntegrityCheck() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> problems;
  ASSIGN_OR_RETURN(SqliteStatement check, checks_db_->Prepare("PRAGMA integrity_check"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, check.Step());
    if (!row) break;
    std::string line = check.ColumnText(0);
    if (line != "ok") problems.push_back(line);
  }
  ASSIGN_OR_RETURN(SqliteStatement fk, checks_db_->Prepare("PRAGMA foreign_key_check"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, fk.Step());
    if (!row) break;
    problems.push_back(
        absl::StrCat("foreign key violation in ", fk.ColumnText(0), " row ", fk.ColumnInt(1)));
  }
  // The running totals the triggers keep, against a count of the rows.
  ASSIGN_OR_RETURN(SqliteStatement totals, checks_db_->Prepare(R"sql(
      WITH counted AS (SELECT tenant_id, count(*) AS n, sum(raw_size) AS raw, sum(length) AS stored
                       FROM chunks GROUP BY tenant_id),
           kept AS (SELECT tenant_id, chunks, raw_bytes, stored_bytes FROM chunk_totals
                    WHERE chunks != 0 OR raw_bytes != 0 OR stored_bytes != 0)
      SELECT tenant_id FROM (SELECT * FROM counted EXCEPT SELECT * FROM kept)
      UNION SELECT tenant_id FROM (SELECT * FROM kept EXCEPT SELECT * FROM counted))sql"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, totals.Step());
    if (!row) break;
    problems.push_back(absl::StrCat("chunk_totals of tenant ", totals.ColumnInt(0),
                                    " disagree with its rows in the chunks table"));
  }
  return problems;
}

}  // namespace cairn

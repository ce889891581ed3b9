#include "server/catalog/snapshot_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/catalog/job_store.h"
#include "server/catalog/rows.h"

namespace cairn {

absl::StatusOr<v1::Snapshot> SnapshotStore::Commit(const v1::Snapshot& snapshot,
                                                   const v1::Job& job) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement existing,
                   db_->Prepare("SELECT data FROM snapshots WHERE job_id=?"));
  existing.BindText(1, snapshot.job_id());
  ASSIGN_OR_RETURN(bool found, existing.Step());
  if (found) return ParseRow<v1::Snapshot>(existing.ColumnBlob(0), "snapshot");
  ASSIGN_OR_RETURN(std::optional<v1::Job> stored_job, ReadJobRow(db_.get(), job.id()));
  if (!stored_job.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("commit: no job ", job.id()));
  }

  ASSIGN_OR_RETURN(
      SqliteStatement put,
      db_->Prepare("INSERT INTO snapshots(id, agent, tenant_id, root, level, created_ms, job_id, "
                   "root_tree, logical_bytes, data) "
                   "VALUES(?, ?, (SELECT id FROM tenants WHERE name=?), ?, ?, ?, ?, ?, ?, ?)"));
  put.BindText(1, snapshot.id());
  put.BindText(2, snapshot.agent());
  put.BindText(3, snapshot.tenant());
  put.BindBlob(4, snapshot.roots_size() > 0 ? snapshot.roots(0) : "");
  put.Bind(5, snapshot.level());
  put.Bind(6, snapshot.created_unix_ms());
  put.BindText(7, snapshot.job_id());
  put.BindBlob(8, snapshot.root_tree_id());
  put.Bind(9, static_cast<int64_t>(snapshot.stats().bytes_scanned()));
  put.BindBlob(10, snapshot.SerializeAsString());
  RETURN_IF_ERROR(put.Run());
  RETURN_IF_ERROR(WriteJobRow(db_.get(), job));
  RETURN_IF_ERROR(txn.Commit());
  return snapshot;
}

absl::StatusOr<std::optional<v1::Snapshot>> SnapshotStore::Get(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT data FROM snapshots WHERE id=?"));
  get.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Snapshot>(get.ColumnBlob(0), "snapshot");
}

absl::StatusOr<v1::Snapshot> SnapshotStore::SetProtected(absl::string_view id, bool protect) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT data FROM snapshots WHERE id=?"));
  get.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no snapshot ", id));
  ASSIGN_OR_RETURN(v1::Snapshot snapshot, ParseRow<v1::Snapshot>(get.ColumnBlob(0), "snapshot"));
  snapshot.set_is_protected(protect);
  ASSIGN_OR_RETURN(SqliteStatement put, db_->Prepare("UPDATE snapshots SET data=? WHERE id=?"));
  put.BindBlob(1, snapshot.SerializeAsString());
  put.BindText(2, id);
  RETURN_IF_ERROR(put.Run());
  RETURN_IF_ERROR(txn.Commit());
  return snapshot;
}

absl::StatusOr<std::vector<v1::Snapshot>> SnapshotStore::List(absl::string_view agent,
                                                              uint32_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT data FROM snapshots WHERE (?1 = '' OR agent = ?1) "
                                "ORDER BY created_ms DESC, rowid DESC LIMIT ?2"));
  list.BindText(1, agent);
  list.Bind(2, limit);
  return ParseRows<v1::Snapshot>(list, "snapshot");
}

absl::StatusOr<std::optional<v1::Snapshot>> SnapshotStore::Latest(
    absl::string_view agent, absl::string_view root, std::optional<v1::BackupLevel> level) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement get,
      db_->Prepare(
          "SELECT data FROM snapshots WHERE agent=?1 AND root=?2 AND (?3 = 0 OR level = ?3) "
          "ORDER BY created_ms DESC, rowid DESC LIMIT 1"));
  get.BindText(1, agent);
  get.BindBlob(2, root);
  get.Bind(3, level.has_value() ? static_cast<int64_t>(*level) : 0);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Snapshot>(get.ColumnBlob(0), "snapshot");
}

absl::StatusOr<std::vector<TenantObject>> SnapshotStore::RootTrees() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT tenant_id, root_tree FROM snapshots"));
  return MapRows<TenantObject>(list, [](const SqliteStatement& row) {
    return TenantObject{row.ColumnInt(0), row.ColumnBlob(1)};
  });
}

absl::Status SnapshotStore::Delete(absl::Span<const std::pair<std::string, std::string>> doomed) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement find, db_->Prepare("SELECT job_id FROM snapshots WHERE id = ?"));
  ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM snapshots WHERE id = ?"));
  for (const auto& [snapshot_id, note] : doomed) {
    find.Reset();
    find.BindText(1, snapshot_id);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) continue;  // already gone
    std::string job_id = find.ColumnText(0);
    del.Reset();
    del.BindText(1, snapshot_id);
    RETURN_IF_ERROR(del.Run());
    ASSIGN_OR_RETURN(std::optional<v1::Job> job, ReadJobRow(db_.get(), job_id));
    if (!job.has_value()) continue;
    job->set_error(job->error().empty() ? note : absl::StrCat(job->error(), "; ", note));
    RETURN_IF_ERROR(WriteJobRow(db_.get(), *job));
  }
  return txn.Commit();
}

absl::StatusOr<CatalogTotals> SnapshotStore::Totals() {
  absl::MutexLock lock(&mu_);
  CatalogTotals totals;
  ASSIGN_OR_RETURN(SqliteStatement snaps,
                   db_->Prepare("SELECT count(*), coalesce(sum(logical_bytes),0) FROM snapshots"));
  ASSIGN_OR_RETURN(bool row, snaps.Step());
  if (row) {
    totals.snapshots = snaps.ColumnInt(0);
    totals.logical_bytes = snaps.ColumnInt(1);
  }
  return totals;
}

}  // namespace cairn

#include "server/catalog/audit_store.h"

#include <algorithm>

#include "common/status_macros.h"
#include "server/catalog/rows.h"

namespace cairn {

absl::StatusOr<int64_t> AuditStore::Append(const v1::AuditEntry& entry) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db_->Prepare("INSERT INTO audit(time_ms, refused, data) VALUES(?,?,?)"));
  v1::AuditEntry stored = entry;
  stored.clear_id();
  insert.Bind(1, entry.time_unix_ms());
  insert.Bind(2, entry.code() == "OK" ? 0 : 1);
  insert.BindBlob(3, stored.SerializeAsString());
  RETURN_IF_ERROR(insert.Run());
  return db_->LastInsertRowId();
}

absl::StatusOr<std::vector<v1::AuditEntry>> AuditStore::List(const v1::ListAuditRequest& request) {
  const int64_t limit = request.limit() == 0 ? 100 : std::min<int64_t>(request.limit(), 1000);
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT id, data FROM audit WHERE id>?1 AND time_ms>=?2 "
                                "AND (?3=0 OR refused=1) ORDER BY id LIMIT ?4"));
  list.Bind(1, request.after_id());
  list.Bind(2, request.since_unix_ms());
  list.Bind(3, request.refused_only() ? 1 : 0);
  list.Bind(4, limit);
  std::vector<v1::AuditEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(v1::AuditEntry entry,
                     ParseRow<v1::AuditEntry>(list.ColumnBlob(1), "audit entry"));
    entry.set_id(list.ColumnInt(0));
    out.push_back(std::move(entry));
  }
}

}  // namespace cairn

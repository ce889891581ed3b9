// The audit log: every admin action and every refused call, in an
// append-only table (SQLite triggers refuse UPDATE and DELETE on it, so not
// even a bug in cairn can rewrite it).
//
//   RETURN_IF_ERROR(store.Append(entry));
//   ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> page, store.List(request));
#ifndef CAIRN_SERVER_CATALOG_AUDIT_STORE_H_
#define CAIRN_SERVER_CATALOG_AUDIT_STORE_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/v1/security.pb.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class AuditStore final {
 public:
  explicit AuditStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  // Stores `entry` (its id is assigned) and returns the id.
  absl::StatusOr<int64_t> Append(const v1::AuditEntry& entry);
  // Oldest first: entries after `after_id`, at or after `since_unix_ms`,
  // refused ones only if asked, at most `limit` (1..1000; 0 = 100).
  absl::StatusOr<std::vector<v1::AuditEntry>> List(const v1::ListAuditRequest& request);

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_AUDIT_STORE_H_

// Jobs: a job's full record is a cairn.v1.Job; its agent, kind, state,
// creation time and lease expiry are also columns for queries. Leases are
// kept on the server's clock (docs/gc.md).
//
//   RETURN_IF_ERROR(catalog->jobs().Insert(job, lease_expires_ms));
//   ASSIGN_OR_RETURN(std::vector<v1::Job> queued, catalog->jobs().Queued("gpu-1"));
#ifndef CAIRN_SERVER_CATALOG_JOB_STORE_H_
#define CAIRN_SERVER_CATALOG_JOB_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/read_connection.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class JobStore final {
 public:
  // `reader` (read_connection.h) serves Get, asked by every call of a
  // running job.
  JobStore(std::unique_ptr<SqliteDb> db, std::unique_ptr<SqliteDb> reader)
      : db_(std::move(db)), reader_(std::move(reader)) {}

  absl::Status Insert(const v1::Job& job, int64_t lease_expires_ms);
  // Replaces the record (and state) of an existing job; NotFound otherwise.
  absl::Status Update(const v1::Job& job);
  absl::StatusOr<std::optional<v1::Job>> Get(absl::string_view id);
  // Newest first; `agent` empty means every agent's.
  absl::StatusOr<std::vector<v1::Job>> List(absl::string_view agent, uint32_t limit,
                                            bool running_only);
  // Jobs in QUEUED state ordered for `agent`, oldest first.
  absl::StatusOr<std::vector<v1::Job>> Queued(absl::string_view agent);

  // Sets job `job_id`'s lease to expire at `expires_ms` (never shortening
  // it). With `only_if_live`, only if it has not expired by `now_ms`; false if
  // the job is missing or its lease had expired.
  absl::StatusOr<bool> ExtendLease(absl::string_view job_id, int64_t now_ms, int64_t expires_ms,
                                   bool only_if_live);
  // Running backup jobs whose lease is live at `now_ms`: (id, creation time).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> LiveBackups(int64_t now_ms);

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  ReadConnection reader_;
};

// The one mapping of a job to its row, for stores that change a job inside
// their own transaction (a snapshot commit finishes its job in the same one).
// WriteJobRow: NotFound if there is no such job.
absl::Status WriteJobRow(SqliteDb* db, const v1::Job& job);
absl::StatusOr<std::optional<v1::Job>> ReadJobRow(SqliteDb* db, absl::string_view id);

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_JOB_STORE_H_

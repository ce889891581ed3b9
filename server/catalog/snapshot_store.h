// Snapshots: one root of one agent at one time, pointing at its root tree.
// A snapshot is written together with its job's final state in one durable
// transaction; that commit is what acknowledges a backup.
//
//   ASSIGN_OR_RETURN(v1::Snapshot s, catalog->snapshots().Commit(snapshot, finished_job));
//   ASSIGN_OR_RETURN(auto parent, catalog->snapshots().Latest("gpu-1", "/data", std::nullopt));
#ifndef CAIRN_SERVER_CATALOG_SNAPSHOT_STORE_H_
#define CAIRN_SERVER_CATALOG_SNAPSHOT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/records.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class SnapshotStore final {
 public:
  explicit SnapshotStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  // Writes the snapshot and replaces its job's record with `job` (SUCCEEDED or
  // PARTIAL) in one durable transaction. Idempotent per job: a second commit
  // of the same job returns the first snapshot.
  absl::StatusOr<v1::Snapshot> Commit(const v1::Snapshot& snapshot, const v1::Job& job);
  absl::StatusOr<std::optional<v1::Snapshot>> Get(absl::string_view id);
  // Sets the snapshot's protection; the snapshot as it is after. NotFound
  // when there is no such snapshot.
  absl::StatusOr<v1::Snapshot> SetProtected(absl::string_view id, bool protect);
  // Newest first; `agent` empty means every agent's.
  absl::StatusOr<std::vector<v1::Snapshot>> List(absl::string_view agent, uint32_t limit);
  // The newest snapshot of (agent, root), of `level` if given.
  absl::StatusOr<std::optional<v1::Snapshot>> Latest(absl::string_view agent,
                                                     absl::string_view root,
                                                     std::optional<v1::BackupLevel> level);
  // The root tree of every snapshot (what garbage collection starts from).
  absl::StatusOr<std::vector<TenantObject>> RootTrees();
  // Deletes snapshots (id, note) in one transaction; each one's job stays and
  // gets `note` in its error field.
  absl::Status Delete(absl::Span<const std::pair<std::string, std::string>> doomed);
  // snapshots and logical_bytes of the totals.
  absl::StatusOr<CatalogTotals> Totals();

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_SNAPSHOT_STORE_H_

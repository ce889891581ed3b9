// The server's catalog: one SQLite database (WAL, synchronous=FULL, mode
// 0600) and one store per kind of record — agents and tenants, chunks and
// packs, trees, snapshots, jobs, policies, certificates and join tokens, the
// audit log. Each store has its own connection and lock, so
// a long read of one kind (a GC page of trees) never holds up another (a
// backup asking which chunks are missing); SQLite serializes the writes.
// Schema and growth rules: docs/catalog.md.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Catalog> catalog, Catalog::Open(dir + "/catalog.db"));
//   ASSIGN_OR_RETURN(int64_t tenant, catalog->agents().TenantId("default"));
//   ASSIGN_OR_RETURN(auto missing, catalog->chunks().FindMissing(tenant, ids));
#ifndef CAIRN_SERVER_CATALOG_CATALOG_H_
#define CAIRN_SERVER_CATALOG_CATALOG_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/catalog/access_store.h"
#include "server/catalog/agent_store.h"
#include "server/catalog/audit_store.h"
#include "server/catalog/chunk_store.h"
#include "server/catalog/job_store.h"
#include "server/catalog/mirror_store.h"
#include "server/catalog/placement_store.h"
#include "server/catalog/policy_store.h"
#include "server/catalog/records.h"
#include "server/catalog/snapshot_store.h"
#include "server/catalog/sqlite_db.h"
#include "server/catalog/tree_store.h"

namespace cairn {

struct CatalogOptions {
  // A registered SQLite VFS to open the database with; empty: SQLite's
  // default. The power-loss tests use one that drops unsynced writes.
  std::string sqlite_vfs;
  // Stamps the creation times of packs and trees (which garbage collection
  // compares with job times) and policies' update times: the server core's
  // clock, so every time the catalog holds comes from one clock.
  std::function<absl::Time()> clock = absl::Now;
};

class Catalog final {
 public:
  // Opens (creating) the catalog at `path` and checks its schema version.
  static absl::StatusOr<std::unique_ptr<Catalog>> Open(const std::string& path,
                                                       const CatalogOptions& options = {});
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  AgentStore& agents() { return *agents_; }
  ChunkStore& chunks() { return *chunks_; }
  TreeStore& trees() { return *trees_; }
  SnapshotStore& snapshots() { return *snapshots_; }
  JobStore& jobs() { return *jobs_; }
  PolicyStore& policies() { return *policies_; }
  AccessStore& access() { return *access_; }
  AuditStore& audit() { return *audit_; }
  PlacementStore& placement() { return *placement_; }
  MirrorStore& mirror() { return *mirror_; }

  absl::StatusOr<CatalogTotals> Totals();
  // PRAGMA integrity_check and foreign_key_check; the problems found.
  absl::StatusOr<std::vector<std::string>> IntegrityCheck();
  // Writes a consistent copy of the whole catalog to `path` (VACUUM INTO:
  // one read transaction, so commits go on meanwhile). `path` must not exist.
  absl::Status SnapshotTo(const std::string& path);
  // Copies the write-ahead log into the database file and cuts the log to
  // zero bytes, so that an idle catalog is one file of its own size (the log
  // otherwise stays at up to 4 MiB). Never waits: Unavailable while another
  // connection reads an older state or writes, or while SnapshotTo or
  // IntegrityCheck runs (a later call succeeds).
  absl::Status FoldLog();

 private:
  Catalog() = default;

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> checks_db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<AgentStore> agents_;
  std::unique_ptr<ChunkStore> chunks_;
  std::unique_ptr<TreeStore> trees_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<AccessStore> access_;
  std::unique_ptr<AuditStore> audit_;
  std::unique_ptr<PlacementStore> placement_;
  std::unique_ptr<MirrorStore> mirror_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_CATALOG_H_

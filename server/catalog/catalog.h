// The server's catalog: agents, tenants, packs, chunks, trees, jobs and
// snapshots in one SQLite database (WAL, synchronous=FULL). Every method is
// one short transaction under one mutex, so callers on many threads see a
// consistent catalog. Schema and growth rules: docs/catalog.md.
//
//   ASSIGN_OR_RETURN(auto catalog, Catalog::Open(state_dir + "/catalog.db"));
//   ASSIGN_OR_RETURN(int64_t tenant, catalog->TenantId("default"));
//   ASSIGN_OR_RETURN(auto missing, catalog->FindMissingChunks(tenant, ids));
#ifndef CAIRN_SERVER_CATALOG_CATALOG_H_
#define CAIRN_SERVER_CATALOG_CATALOG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cairn/v1/admin.pb.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

// Where a stored chunk lives.
struct ChunkLocation {
  int64_t pack_id = 0;
  std::string tier;
  std::string pack_name;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_size = 0;
};

// One chunk of a pack that has been made durable, to be catalogued.
struct StoredChunk {
  std::string id;  // 32 bytes
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_size = 0;
};

struct PackRecord {
  int64_t id = 0;
  std::string tier;
  std::string name;
  uint64_t size = 0;
  uint64_t entries = 0;
  bool quarantined = false;
};

struct CatalogTotals {
  uint64_t chunks = 0;
  uint64_t unique_bytes = 0;
  uint64_t stored_bytes = 0;
  uint64_t snapshots = 0;
  uint64_t logical_bytes = 0;
  uint64_t packs = 0;
};

class Catalog final {
 public:
  static absl::StatusOr<std::unique_ptr<Catalog>> Open(const std::string& path);

  // Tenants are created on first use.
  absl::StatusOr<int64_t> TenantId(absl::string_view tenant);

  // Agents.
  absl::Status UpsertAgent(const v1::AgentInfo& agent);
  absl::StatusOr<std::optional<v1::AgentInfo>> GetAgent(absl::string_view name);
  absl::StatusOr<std::vector<v1::AgentInfo>> ListAgents();
  absl::Status TouchAgent(absl::string_view name, int64_t now_ms);

  // Chunks. Answers by index into `ids`, for ids this tenant lacks.
  absl::StatusOr<std::vector<uint32_t>> FindMissingChunks(int64_t tenant,
                                                          absl::Span<const std::string> ids);
  // Records a durable pack and its chunks in one transaction. A chunk the
  // tenant already has keeps its first location; returns how many were new.
  absl::StatusOr<uint64_t> AddPack(int64_t tenant, absl::string_view tier,
                                   absl::string_view pack_name, uint64_t pack_size,
                                   absl::Span<const StoredChunk> chunks);
  absl::StatusOr<std::optional<ChunkLocation>> LocateChunk(int64_t tenant, absl::string_view id);
  absl::StatusOr<std::vector<PackRecord>> ListPacks();
  // Names the chunks of one pack (for verify).
  absl::StatusOr<std::vector<std::string>> PackChunkIds(int64_t pack_id);
  absl::Status QuarantinePack(int64_t pack_id);

  // Trees. `child_ids` are the subtrees the tree references; all must exist.
  absl::StatusOr<std::vector<uint32_t>> FindMissingTrees(int64_t tenant,
                                                         absl::Span<const std::string> ids);
  absl::Status PutTree(int64_t tenant, absl::string_view id, absl::string_view data);
  // Several (id, data) trees in one transaction: one fsync, not one per tree.
  absl::Status PutTrees(int64_t tenant,
                        absl::Span<const std::pair<std::string, std::string>> trees);
  absl::StatusOr<std::optional<std::string>> GetTree(int64_t tenant, absl::string_view id);

  // Jobs. A job's full record is a v1::Job; state and times are also columns
  // for queries.
  absl::Status InsertJob(const v1::Job& job, int64_t lease_expires_ms);
  absl::Status UpdateJob(const v1::Job& job);
  absl::StatusOr<std::optional<v1::Job>> GetJob(absl::string_view id);
  absl::StatusOr<std::vector<v1::Job>> ListJobs(absl::string_view agent, uint32_t limit,
                                                bool running_only);
  // Jobs in QUEUED state ordered for `agent`, oldest first.
  absl::StatusOr<std::vector<v1::Job>> QueuedJobs(absl::string_view agent);

  // Snapshots. Commit writes the snapshot and marks its job SUCCEEDED or
  // PARTIAL in one durable transaction. Idempotent per job: a second commit of
  // the same job returns the first snapshot.
  absl::StatusOr<v1::Snapshot> CommitSnapshot(const v1::Snapshot& snapshot, const v1::Job& job);
  absl::StatusOr<std::optional<v1::Snapshot>> GetSnapshot(absl::string_view id);
  absl::StatusOr<std::vector<v1::Snapshot>> ListSnapshots(absl::string_view agent,
                                                          uint32_t limit);
  // The newest snapshot of (agent, root), of `level` if given.
  absl::StatusOr<std::optional<v1::Snapshot>> LatestSnapshot(
      absl::string_view agent, absl::string_view root, std::optional<v1::BackupLevel> level);

  // Policies, by name.
  absl::StatusOr<std::vector<v1::Policy>> ListPolicies();
  absl::StatusOr<std::optional<v1::Policy>> GetPolicy(absl::string_view name);
  absl::Status PutPolicy(const v1::Policy& policy);
  absl::Status DeletePolicy(absl::string_view name);

  absl::StatusOr<CatalogTotals> Totals();
  // PRAGMA integrity_check and foreign_key_check; the problems found.
  absl::StatusOr<std::vector<std::string>> IntegrityCheck();

  // --- GC and prune (catalog_gc.cc) ---
  // What garbage collection and pruning need: leases, reachability, sweeps
  // and pack rewrites, each one transaction. See docs/gc.md.

  // A tree or chunk of one tenant.
  struct TenantObject {
    int64_t tenant = 0;
    std::string id;
  };
  struct GcTree {
    int64_t tenant = 0;
    std::string id;
    int64_t created_ms = 0;
    std::string data;
  };
  struct GcChunk {
    int64_t tenant = 0;
    std::string id;
    int64_t pack_id = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t raw_size = 0;
  };
  // A pack with what still lives in it.
  struct GcPack {
    PackRecord pack;
    int64_t created_ms = 0;
    int64_t tenant = 0;  // of its chunks (a pack holds one tenant's); 0 when empty
    uint64_t live_chunks = 0;
    uint64_t live_bytes = 0;  // sealed bytes of the chunks still catalogued here
  };
  // A chunk copied into a new pack by compaction.
  struct GcMove {
    std::string id;
    int64_t from_pack = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t raw_size = 0;
  };

  // Sets job `job_id`'s lease to expire at `expires_ms` (never shortening
  // it). With `only_if_live`, only if it has not expired by `now_ms`; false if
  // the job is missing or its lease had expired.
  absl::StatusOr<bool> ExtendJobLease(absl::string_view job_id, int64_t now_ms,
                                      int64_t expires_ms, bool only_if_live);
  // Running backup jobs whose lease is live at `now_ms`: (id, creation time).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> LiveBackupJobs(int64_t now_ms);
  // Root trees of every snapshot.
  absl::StatusOr<std::vector<TenantObject>> SnapshotRootTrees();
  // Trees after (tenant, id) in key order, with their data, until about
  // `max_bytes` (at least one tree).
  absl::StatusOr<std::vector<GcTree>> GcTreePage(int64_t after_tenant, absl::string_view after_id,
                                                 uint64_t max_bytes);
  // Chunks after (tenant, id) in key order whose pack was created before
  // `packs_before_ms`.
  absl::StatusOr<std::vector<GcChunk>> GcChunkPage(int64_t after_tenant, absl::string_view after_id,
                                                   int64_t packs_before_ms, uint32_t limit);
  // Deletes trees; returns how many were there.
  absl::StatusOr<uint64_t> DeleteTrees(absl::Span<const TenantObject> trees);
  // Deletes chunk rows and then every pack row left without chunks, in one
  // transaction; returns those packs (their objects are the caller's to delete).
  absl::StatusOr<std::vector<PackRecord>> DeleteChunks(absl::Span<const TenantObject> chunks,
                                                       uint64_t* deleted);
  absl::StatusOr<std::vector<GcPack>> PackUsage();
  absl::StatusOr<std::vector<GcChunk>> LiveChunksOfPack(int64_t pack_id);
  // Records the durable pack `pack_name` and repoints each moved chunk of
  // `tenant` still in its `from_pack` to it, then deletes the source packs
  // left without chunks, in one transaction; returns the deleted packs.
  absl::StatusOr<std::vector<PackRecord>> MoveChunks(int64_t tenant, absl::string_view tier,
                                                     absl::string_view pack_name,
                                                     uint64_t pack_size,
                                                     absl::Span<const GcMove> moves);
  // Deletes snapshot rows (id, note) in one transaction; each one's job stays
  // and gets `note` in its error field.
  absl::Status DeleteSnapshots(absl::Span<const std::pair<std::string, std::string>> doomed);
  // --- end of GC and prune ---

 private:
  explicit Catalog(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Migrate();
  // Indexes into `ids` for which `sql` (binding tenant, id) finds no row.
  absl::StatusOr<std::vector<uint32_t>> FindMissing(absl::string_view sql, int64_t tenant,
                                                    absl::Span<const std::string> ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_CATALOG_H_

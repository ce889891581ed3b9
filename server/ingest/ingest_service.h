// What the server does for an agent's backup, with no gRPC in it: open a job
// and its lease, answer which chunks and trees are missing (through the GC
// guard), take uploads into packs, check and store trees, and commit the
// snapshot. The RPC handlers decode, authorize and call these; every call
// names its caller, and an agent may act only on its own jobs.
//
//   IngestService ingest(catalog, &tiers, &jobs, &guard, IngestOptions{});
//   ASSIGN_OR_RETURN(v1::BeginBackupResponse begun, ingest.BeginBackup(caller, request));
#ifndef CAIRN_SERVER_INGEST_INGEST_SERVICE_H_
#define CAIRN_SERVER_INGEST_INGEST_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/agent.pb.h"
#include "server/auth/caller.h"
#include "server/catalog/catalog.h"
#include "server/ingest/chunk_claims.h"
#include "server/ingest/gc_guard.h"
#include "server/ingest/pack_ingest.h"
#include "server/ingest/tenant_quota.h"
#include "server/schedule/job_board.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct IngestOptions {
  uint64_t pack_target_bytes = 64u << 20;
  absl::Duration job_lease = absl::Hours(1);
  // The server's clock: job leases and snapshot times. Tests inject one.
  std::function<absl::Time()> clock = absl::Now;
  // Per-tenant storage quotas; null: none.
  TenantQuota* quota = nullptr;
  // A backup holding in-flight claims (chunk_claims.h) that sends nothing
  // for this long loses them to the next asker.
  absl::Duration claim_ttl = absl::Seconds(60);
  // Called after each snapshot commit (the catalog backup batches them).
  std::function<void()> on_commit;
  // Called with each committed snapshot before the commit is answered (the
  // metadata mirror writes its trees and record to the tiers).
  std::function<void(const v1::Snapshot&)> on_snapshot_commit;
};

class IngestService final {
 public:
  IngestService(Catalog* catalog, const TierSet* tiers, JobBoard* jobs, GcGuard* guard,
                IngestOptions options);

  absl::StatusOr<v1::BeginBackupResponse> BeginBackup(const Caller& caller,
                                                      const v1::BeginBackupRequest& request);
  absl::StatusOr<v1::FindMissingChunksResponse> FindMissingChunks(
      const Caller& caller, const v1::FindMissingChunksRequest& request);
  // Opens an ingest for the job's tenant; the caller feeds it the stream.
  absl::StatusOr<std::unique_ptr<PackIngest>> StartUpload(const Caller& caller,
                                                          absl::string_view job_id);
  absl::StatusOr<v1::FindMissingTreesResponse> FindMissingTrees(
      const Caller& caller, const v1::FindMissingTreesRequest& request);
  absl::StatusOr<v1::PutTreesResponse> PutTrees(const Caller& caller,
                                                const v1::PutTreesRequest& request);
  absl::StatusOr<v1::CommitSnapshotResponse> CommitSnapshot(
      const Caller& caller, const v1::CommitSnapshotRequest& request);
  // The in-flight claims' counters (metrics, tests).
  ChunkClaims::Counters claim_counters() const { return claims_.counters(); }

 private:
  struct RunningJob {
    v1::Job job;
    int64_t tenant = 0;
    std::string tenant_name;
  };
  // The running job `job_id` of the caller whose lease is live (and now
  // extended), with its tenant id. FailedPrecondition "lease expired" once
  // it lapsed.
  absl::StatusOr<RunningJob> Running(const Caller& caller, absl::string_view job_id);
  // Extends the job's lease (a catalog write) unless it was extended in the
  // last tenth of a lease, which leaves it live for 9/10 of one: so a
  // backup's stream of FindMissingChunks calls is not a synced write each.
  // `force`: always (a commit's lease must outlast the commit).
  absl::Status RenewLease(absl::string_view job_id, bool force = false);
  // Records that job `job_id`'s lease was extended to a full lease at `at`.
  void NoteRenewed(absl::string_view job_id, absl::Time at);
  // Which of `ids` are missing, asked through the GC guard so that what is
  // found stays until the job ends.
  absl::StatusOr<std::vector<uint32_t>> Missing(GcObject kind, int64_t tenant,
                                                absl::Span<const std::string> ids);
  // The indexes of request.ids (among `missing`) whose proposed base the
  // tenant holds with a chain shorter than request.max_chain.
  absl::StatusOr<std::vector<uint32_t>> UsableBases(int64_t tenant,
                                                    const v1::FindMissingChunksRequest& request,
                                                    const std::vector<uint32_t>& missing);
  // `earlier` holds the ids of trees sent before this one in the same call:
  // they count as stored (they are written together, after validation).
  absl::Status ValidateTree(int64_t tenant, absl::string_view id, absl::string_view data,
                            const absl::flat_hash_set<std::string>& earlier);
  int64_t NowMs() const { return absl::ToUnixMillis(options_.clock()); }
  // After the last running backup commits, the catalog's write-ahead log is
  // folded into its file (Catalog::FoldLog), best effort: an idle server's
  // catalog is one file.
  void FoldLogIfIdle();

  Catalog* catalog_;
  const TierSet* tiers_;
  JobBoard* jobs_;
  GcGuard* guard_;
  IngestOptions options_;
  ChunkClaims claims_;
  absl::Mutex lease_mu_;
  // When each job's lease was last extended (RenewLease), swept of stale
  // entries when it reaches sweep_at_.
  static constexpr size_t kMinLeaseSweep = 4096;
  absl::flat_hash_map<std::string, absl::Time> renewed_ ABSL_GUARDED_BY(lease_mu_);
  size_t sweep_at_ ABSL_GUARDED_BY(lease_mu_) = kMinLeaseSweep;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_INGEST_SERVICE_H_

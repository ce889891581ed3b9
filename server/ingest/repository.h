// What the server does for agents, with no gRPC in it: sessions (hello),
// backup jobs and their leases, chunk and tree ingest with validation,
// snapshot commits, and reads for restores. The gRPC handlers in
// agent_service.cc only check the request's shape and call these.
#ifndef CAIRN_SERVER_INGEST_REPOSITORY_H_
#define CAIRN_SERVER_INGEST_REPOSITORY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/agent.pb.h"
#include "server/catalog/catalog.h"
#include "server/ingest/gc_guard.h"
#include "server/schedule/job_board.h"
#include "server/ingest/pack_ingest.h"
#include "server/tiers/tier.h"

namespace cairn {

struct RepositoryOptions {
  uint64_t pack_target_bytes = 64u << 20;
  absl::Duration job_lease = absl::Hours(1);
  // The server's clock: job leases, snapshot times, GC ages. Tests inject one.
  std::function<absl::Time()> clock = absl::Now;
  // Garbage collection spares trees and packs younger than this.
  absl::Duration gc_grace = absl::Hours(1);
};

class Repository final {
 public:
  // `tiers` must hold at least one tier; the first is where new packs go.
  Repository(Catalog* catalog, std::vector<std::unique_ptr<Tier>> tiers, JobBoard* jobs,
             RepositoryOptions options);

  absl::StatusOr<v1::HelloResponse> Hello(const v1::HelloRequest& request);
  absl::StatusOr<v1::BeginBackupResponse> BeginBackup(const v1::BeginBackupRequest& request);
  absl::StatusOr<v1::FindMissingChunksResponse> FindMissingChunks(
      const v1::FindMissingChunksRequest& request);
  // Opens an ingest for the job's tenant; the caller feeds it the stream.
  absl::StatusOr<std::unique_ptr<PackIngest>> StartUpload(absl::string_view job_id);
  absl::StatusOr<v1::FindMissingTreesResponse> FindMissingTrees(
      const v1::FindMissingTreesRequest& request);
  absl::StatusOr<v1::PutTreesResponse> PutTrees(const v1::PutTreesRequest& request);
  absl::StatusOr<v1::GetTreeResponse> GetTree(const v1::GetTreeRequest& request);
  absl::StatusOr<v1::CommitSnapshotResponse> CommitSnapshot(
      const v1::CommitSnapshotRequest& request);
  absl::Status FinishJob(const v1::FinishJobRequest& request);
  // Sealed chunk bytes for ReadChunks; the snapshot decides the tenant.
  absl::StatusOr<int64_t> SnapshotTenant(absl::string_view snapshot_id);
  absl::StatusOr<std::string> ReadChunk(int64_t tenant, absl::string_view id);

  Catalog* catalog() { return catalog_; }
  const std::vector<std::unique_ptr<Tier>>& tiers() const { return tiers_; }
  Tier* FindTier(absl::string_view name);
  const RepositoryOptions& options() const { return options_; }
  // Every "is it stored?" answer to a backup goes through it (docs/gc.md).
  GcGuard* gc_guard() { return &gc_guard_; }

 private:
  // The running job `job_id` whose lease is live (and now extended), with its
  // agent's tenant id. FailedPrecondition "lease expired" once it lapsed.
  absl::StatusOr<std::pair<v1::Job, int64_t>> RunningJob(absl::string_view job_id);
  absl::Status RenewLease(absl::string_view job_id);
  // `earlier` holds the ids of trees sent before this one in the same call:
  // they count as stored (they are written together, after validation).
  absl::Status ValidateTree(int64_t tenant, absl::string_view id, absl::string_view data,
                            const absl::flat_hash_set<std::string>& earlier);
  int64_t NowMs() const { return absl::ToUnixMillis(options_.clock()); }

  Catalog* catalog_;
  std::vector<std::unique_ptr<Tier>> tiers_;
  JobBoard* jobs_;
  RepositoryOptions options_;
  GcGuard gc_guard_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_REPOSITORY_H_

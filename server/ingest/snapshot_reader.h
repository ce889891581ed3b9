// What an agent reads back to restore a snapshot: its trees (one, or a batch
// for prefetching) and its sealed chunks, grouped by pack (ChunkReader). An
// agent reads only snapshots of its own tenant (it holds that tenant's key).
//
//   SnapshotReader reader(catalog, &tiers);
//   RETURN_IF_ERROR(reader.ReadChunks(caller, request, [&](auto id, auto sealed) { ... }));
#ifndef CAIRN_SERVER_INGEST_SNAPSHOT_READER_H_
#define CAIRN_SERVER_INGEST_SNAPSHOT_READER_H_

#include "absl/status/statusor.h"
#include "cairn/v1/agent.pb.h"
#include "server/auth/caller.h"
#include "server/catalog/catalog.h"
#include "server/ingest/chunk_reader.h"
#include "server/tiers/tier_set.h"

namespace cairn {

class SnapshotReader final {
 public:
  SnapshotReader(Catalog* catalog, const TierSet* tiers)
      : catalog_(catalog), chunks_(&catalog->chunks(), tiers, &catalog->placement()) {}

  absl::StatusOr<v1::GetTreeResponse> GetTree(const Caller& caller,
                                              const v1::GetTreeRequest& request);
  // The trees of a prefix of the ids, in order: at least one, and as many as
  // fit about kMaxTreesBytesPerCall.
  absl::StatusOr<v1::GetTreesResponse> GetTrees(const Caller& caller,
                                                const v1::GetTreesRequest& request);
  // At most kMaxReadIdsPerCall ids; each distinct one emitted once, in
  // storage order.
  absl::Status ReadChunks(const Caller& caller, const v1::ReadChunksRequest& request,
                          ChunkReader::Emit emit, ChunkReadStats* stats = nullptr);
  // Chunks of the snapshot's tenant a verify found damaged: marked (they
  // count as missing until stored again), never deleted.
  absl::StatusOr<v1::ReportDamagedChunksResponse> ReportDamagedChunks(
      const Caller& caller, const v1::ReportDamagedChunksRequest& request);

 private:
  // The tenant of `snapshot_id`, if the caller may read it.
  absl::StatusOr<int64_t> TenantOf(const Caller& caller, absl::string_view snapshot_id,
                                   v1::Snapshot* snapshot = nullptr);

  Catalog* catalog_;
  ChunkReader chunks_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_SNAPSHOT_READER_H_

// `cairnctl stats`: logical and stored bytes per file kind, walking the trees
// of one snapshot or of the newest snapshot of each agent and root. Each tree
// is read once and each chunk counted once (to the kind that reaches it
// first), so shared data is not counted twice. Memory: the ids of the chunks
// and trees seen, ~100 bytes each (100 MB for a million-chunk walk).
#ifndef CAIRN_SERVER_BROWSE_STORAGE_STATS_H_
#define CAIRN_SERVER_BROWSE_STORAGE_STATS_H_

#include "absl/status/statusor.h"
#include "cairn/v1/admin.pb.h"
#include "server/catalog/catalog.h"

namespace cairn {

absl::StatusOr<v1::StorageStatsResponse> ComputeStorageStats(
    Catalog* catalog, const v1::StorageStatsRequest& request);

}  // namespace cairn

#endif  // CAIRN_SERVER_BROWSE_STORAGE_STATS_H_

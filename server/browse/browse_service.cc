#include "server/browse/browse_service.h"

#include <algorithm>

#include "common/limits.h"
#include "common/status_macros.h"
#include "server/browse/storage_stats.h"

namespace cairn {

absl::StatusOr<v1::ListSnapshotsResponse> BrowseService::ListSnapshots(
    const Caller&, const v1::ListSnapshotsRequest& request) {
  uint32_t limit =
      request.limit() == 0 ? kDefaultListLimit : std::min(request.limit(), kMaxListLimit);
  ASSIGN_OR_RETURN(std::vector<v1::Snapshot> snapshots,
                   catalog_->snapshots().List(request.agent(), limit));
  v1::ListSnapshotsResponse response;
  for (v1::Snapshot& s : snapshots) *response.add_snapshots() = std::move(s);
  return response;
}

absl::StatusOr<v1::ListFilesResponse> BrowseService::ListFiles(
    const Caller&, const v1::ListFilesRequest& request) {
  return browser_.ListFiles(request);
}

absl::StatusOr<v1::DiffSnapshotsResponse> BrowseService::Diff(
    const Caller&, const v1::DiffSnapshotsRequest& request) {
  return browser_.Diff(request);
}

absl::StatusOr<v1::StorageStatsResponse> BrowseService::StorageStats(
    const Caller&, const v1::StorageStatsRequest& request) {
  return ComputeStorageStats(catalog_, request);
}

}  // namespace cairn

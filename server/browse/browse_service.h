// Snapshots as admins browse them: list snapshots, list the files of one
// (paged), and diff two (SnapshotBrowser does the tree walking).
//
//   ASSIGN_OR_RETURN(v1::ListFilesResponse page, browse.ListFiles(caller, request));
#ifndef CAIRN_SERVER_BROWSE_BROWSE_SERVICE_H_
#define CAIRN_SERVER_BROWSE_BROWSE_SERVICE_H_

#include "absl/status/statusor.h"
#include "cairn/v1/admin.pb.h"
#include "server/auth/caller.h"
#include "server/browse/snapshot_browser.h"
#include "server/catalog/catalog.h"

namespace cairn {

class BrowseService final {
 public:
  explicit BrowseService(Catalog* catalog) : catalog_(catalog), browser_(catalog) {}

  // Newest first, at most request.limit() (default 50, at most 1000).
  absl::StatusOr<v1::ListSnapshotsResponse> ListSnapshots(const Caller& caller,
                                                          const v1::ListSnapshotsRequest& request);
  absl::StatusOr<v1::ListFilesResponse> ListFiles(const Caller& caller,
                                                  const v1::ListFilesRequest& request);
  absl::StatusOr<v1::DiffSnapshotsResponse> Diff(const Caller& caller,
                                                 const v1::DiffSnapshotsRequest& request);
  absl::StatusOr<v1::StorageStatsResponse> StorageStats(const Caller& caller,
                                                        const v1::StorageStatsRequest& request);

 private:
  Catalog* catalog_;
  SnapshotBrowser browser_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_BROWSE_BROWSE_SERVICE_H_

// Reads snapshots as trees for admins: list the entries below a path (paged)
// and diff two snapshots. Diff skips every subtree, and every page of a
// large directory, whose id is the same on both sides, so its cost follows
// the change, not the size.
#ifndef CAIRN_SERVER_BROWSE_SNAPSHOT_BROWSER_H_
#define CAIRN_SERVER_BROWSE_SNAPSHOT_BROWSER_H_

#include "absl/status/statusor.h"
#include "cairn/v1/admin.pb.h"
#include "server/catalog/catalog.h"

namespace cairn {

class SnapshotBrowser final {
 public:
  explicit SnapshotBrowser(Catalog* catalog) : catalog_(catalog) {}

  absl::StatusOr<v1::ListFilesResponse> ListFiles(const v1::ListFilesRequest& request);
  absl::StatusOr<v1::DiffSnapshotsResponse> Diff(const v1::DiffSnapshotsRequest& request);

 private:
  absl::StatusOr<v1::Tree> LoadTree(int64_t tenant, absl::string_view id);

  Catalog* catalog_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_BROWSE_SNAPSHOT_BROWSER_H_

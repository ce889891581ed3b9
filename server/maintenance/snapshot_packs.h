// Walks snapshots down to the packs that hold their data: each snapshot's
// trees (each tree once per tenant over the whole walk, so the first
// snapshot to reach a tree is the one it is credited to), the chunks they
// name, and the pack of each chunk. Callers order the snapshots to make
// "first" mean what they need: newest first for the newest use of a pack,
// most copies first for policy copies.
//
//   RETURN_IF_ERROR(WalkSnapshotPacks(catalog, ordered, [&](const v1::Snapshot& s, int64_t pack) {
//     ...;
//   }, &problems));
#ifndef CAIRN_SERVER_MAINTENANCE_SNAPSHOT_PACKS_H_
#define CAIRN_SERVER_MAINTENANCE_SNAPSHOT_PACKS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/catalog.h"

namespace cairn {

// Calls `on_pack(snapshot, pack_id)` for the pack of every chunk first
// reached from `snapshot` (repeats possible). A tree that is missing or
// malformed is a line in `problems`, and the walk goes on.
absl::Status WalkSnapshotPacks(
    Catalog* catalog, const std::vector<const v1::Snapshot*>& snapshots,
    const std::function<void(const v1::Snapshot&, int64_t pack_id)>& on_pack,
    std::vector<std::string>* problems);

// For every pack some snapshot uses, the creation time (Unix ms) of the
// newest snapshot using it.
absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> NewestUseOfPacks(
    Catalog* catalog, std::vector<std::string>* problems);

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_SNAPSHOT_PACKS_H_

// Copies or moves packs between tiers (`cairnctl tier copy|move`, and the
// placement rules). Per pack: stream it from the source in bounded pieces
// into a writer on the target, commit, read the target back and compare a
// BLAKE2b of both; only then record the new location (PlacementStore). A move
// then deletes the source objects, in batches, each after a fresh catalog
// bundle (the barrier), so no catalog copy names a deleted object. A crash at
// any point leaves every recorded location readable; run it again and what
// is done is skipped. Memory: one piece (8 MiB) plus the target's writer.
//
//   TierMover mover(catalog, tiers);
//   ASSIGN_OR_RETURN(v1::MoveTierProgress done,
//                    mover.Run({.from = "hot", .to = "cold"}, [&](const auto& p) { ...; return
//                    true; }));
#ifndef CAIRN_SERVER_MAINTENANCE_TIER_MOVER_H_
#define CAIRN_SERVER_MAINTENANCE_TIER_MOVER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/admin.pb.h"
#include "server/catalog/catalog.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct TierMoveOptions {
  std::string from;
  std::string to;
  bool copy = false;                                 // keep the source: a second copy
  absl::Duration older_than = absl::ZeroDuration();  // packs written at least this long ago
  bool dry_run = false;
  // When set, only packs it accepts (the placement rules: by the newest
  // snapshot that uses a pack).
  std::function<bool(const PlacedPack&)> select;
  // Called before source objects are deleted (the catalog bundle barrier).
  std::function<absl::Status()> before_delete;
  size_t piece_bytes = 8 << 20;
  size_t delete_batch = 64;  // moved packs per barrier
  std::function<absl::Time()> clock = absl::Now;
};

class TierMover final {
 public:
  TierMover(Catalog* catalog, const TierSet* tiers) : catalog_(catalog), tiers_(tiers) {}

  // Returns the final progress (finished set). `progress` is told the totals
  // first and then after each pack; returning false stops the run there
  // (what is done stays done). FailedPrecondition when another run is going.
  absl::StatusOr<v1::MoveTierProgress> Run(
      const TierMoveOptions& options,
      const std::function<bool(const v1::MoveTierProgress&)>& progress);

  // Copies one pack from tier `from` to tier `to`, checks the copy and
  // records it; false when the pack went meanwhile (gc, compaction).
  // FailedPrecondition while a Run is going.
  absl::StatusOr<bool> CopyOne(const PackRecord& pack, absl::string_view from,
                               absl::string_view to);

 private:
  // Copies `pack` and checks the copy; on a mismatch the copy is deleted.
  absl::Status CopyPack(Tier* from, Tier* to, const PackRecord& pack, size_t piece_bytes,
                        v1::MoveTierProgress* progress);
  // Barrier, then deletes the objects of `moved` from `from`.
  absl::Status DeleteSources(Tier* from, const TierMoveOptions& options,
                             std::vector<std::string>* moved, v1::MoveTierProgress* progress);

  Catalog* const catalog_;
  const TierSet* const tiers_;
  absl::Mutex running_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_TIER_MOVER_H_

// Garbage collection: deletes the trees and chunks no snapshot needs, deletes
// packs left empty, rewrites packs that are mostly garbage, and removes pack
// objects the catalog does not know. Safe while backups run (docs/gc.md: the
// GcGuard spares whatever a live backup was told exists, and data younger
// than the oldest live backup or the grace period) and after a crash at any
// point (an object is deleted only after the commit that stops referencing
// it). One collection runs at a time per repository; a second is Aborted.
//
//   GarbageCollector gc(catalog, &tiers, &guard, absl::Now);
//   ASSIGN_OR_RETURN(GcReport report, gc.Run(GcOptions{.grace = absl::Hours(1)}));
#ifndef CAIRN_SERVER_MAINTENANCE_GARBAGE_COLLECTOR_H_
#define CAIRN_SERVER_MAINTENANCE_GARBAGE_COLLECTOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/v1/admin.pb.h"
#include "server/catalog/catalog.h"
#include "server/ingest/gc_guard.h"
#include "server/tiers/tier_set.h"

namespace cairn {

// Points in a collection where a crash leaves a distinct state; tests stop
// there (GcOptions::phase_hook).
enum class GcPhase {
  kStarted,                // guard begun, horizon known
  kTreeCandidates,         // unreachable trees found, not yet deleted
  kTreesSwept,             // their rows deleted
  kChunkCandidates,        // unreferenced chunks found, not yet deleted
  kChunksSwept,            // their rows and the empty packs' rows deleted
  kEmptyPackDeleted,       // after deleting the first empty pack's object
  kCompactPackWritten,     // a rewritten pack is durable, the catalog not yet repointed
  kCompactRepointed,       // its chunks repointed, the old objects not yet deleted
  kCompactOldPackDeleted,  // after deleting the first old pack's object
  kOrphanDeleted,          // after deleting the first orphan object
  kFinished,
};
absl::string_view GcPhaseName(GcPhase phase);

struct GcOptions {
  bool dry_run = false;  // count what would go; change nothing
  // Packs whose live fraction (sealed bytes of catalogued chunks over all
  // their blob bytes) is below this are rewritten. 0 disables compaction.
  double compact_below = 0.5;
  // Trees, packs and orphan objects younger than this stay.
  absl::Duration grace = absl::Hours(1);
  // So do those created up to this long before the oldest live backup job:
  // margin for the clock stepping back between the two timestamps.
  absl::Duration clock_slack = absl::Seconds(1);
  // Copies of chunks an agent reported damaged, replaced since, are kept
  // this long (their packs neither deleted nor rewritten).
  absl::Duration superseded_hold = absl::Hours(24 * 7);
  // Size of the packs compaction writes.
  uint64_t pack_target_bytes = 64u << 20;
  // Memory the chunk mark may use (the collection's peak: ~24 bytes per
  // chunk). A catalog with more chunks than fit is marked in passes, each
  // keeping the fingerprints of one residue class and walking every tree
  // again: memory is bounded by this, time grows with the passes (at most
  // kMaxMarkPasses; beyond, each pass holds more).
  uint64_t mark_memory_bytes = uint64_t{1} << 30;
  // Called at each phase; an error ends the run right there, as a crash
  // would (no clean-up beyond releasing the guard). For tests.
  std::function<absl::Status(GcPhase)> phase_hook;
  // Called after catalog rows are gone and before the objects they named are
  // deleted: the server writes a catalog bundle there, so that a catalog
  // recovered from a tier never names a deleted pack (docs/storage.md). An
  // error stops the run; the objects stay as orphans for a later run.
  std::function<absl::Status()> before_delete;
};

// The chunk mark's passes for `chunks` chunk rows within `memory_bytes`.
inline constexpr uint64_t kMaxMarkPasses = 256;
inline constexpr uint64_t kMarkBytesPerChunk = 24;
uint64_t MarkPasses(uint64_t chunks, uint64_t memory_bytes);

struct GcReport {
  uint64_t trees_deleted = 0;
  uint64_t chunks_deleted = 0;
  uint64_t chunks_rescued = 0;        // reported present to a backup during this run
  uint64_t chunks_kept_as_bases = 0;  // unreferenced, kept as bases of checkpoint deltas
  uint64_t trees_rescued = 0;
  uint64_t spared_maybe_reused = 0;  // chunks and trees the reuse log may hold
  uint64_t packs_deleted = 0;        // emptied packs, old packs of compactions, orphans
  uint64_t packs_compacted = 0;      // packs rewritten
  uint64_t packs_written = 0;        // new packs compaction wrote
  uint64_t orphans_deleted = 0;
  int64_t bytes_freed = 0;            // pack bytes deleted minus pack bytes written
  uint64_t mark_passes = 0;           // passes the chunk mark took (GcOptions::mark_memory_bytes)
  std::vector<std::string> problems;  // damage found on the way (packs quarantined)

  v1::GcResponse ToProto() const;
};

class GarbageCollector final {
 public:
  // `clock` is the server's: ages, grace periods and leases are measured on it.
  GarbageCollector(Catalog* catalog, const TierSet* tiers, GcGuard* guard,
                   std::function<absl::Time()> clock)
      : catalog_(catalog), tiers_(tiers), guard_(guard), clock_(std::move(clock)) {}

  // One collection. Aborted if another is running. On an error (a full disk,
  // an I/O error) it stops; nothing referenced has been deleted, and what it
  // left behind (a pack written but not yet catalogued) is an orphan that
  // the next run removes.
  absl::StatusOr<GcReport> Run(const GcOptions& options);

 private:
  Catalog* catalog_;
  const TierSet* tiers_;
  GcGuard* guard_;
  std::function<absl::Time()> clock_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_GARBAGE_COLLECTOR_H_

// Where packs live: a pack's first location is packs.tier; copies on other
// tiers are rows of pack_copies, written only after the copy was made and
// read back. Tier moves and copies (server/maintenance/tier_mover.h) and
// readers that fall back from one copy to another use this store; deleting a
// pack (ChunkStore) deletes its copy rows with it.
//
//   ASSIGN_OR_RETURN(std::vector<PlacedPack> on_hot, placement.PacksOn("hot", before_ms));
//   ASSIGN_OR_RETURN(bool still_there, placement.AddCopy(pack.id, "cold"));
#ifndef CAIRN_SERVER_CATALOG_PLACEMENT_STORE_H_
#define CAIRN_SERVER_CATALOG_PLACEMENT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/catalog/records.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

struct PlacedPack {
  PackRecord pack;
  int64_t created_ms = 0;
  std::vector<std::string> locations;  // packs.tier first, then the copies
};

struct TierUsage {
  std::string tier;
  uint64_t packs = 0;  // packs with a location (first or copy) on the tier
  uint64_t bytes = 0;
};

class PlacementStore final {
 public:
  PlacementStore(std::unique_ptr<SqliteDb> db, std::function<absl::Time()> clock)
      : db_(std::move(db)), clock_(std::move(clock)) {}

  // The tiers of a pack's copies (not its first location), sorted.
  absl::StatusOr<std::vector<std::string>> Copies(int64_t pack_id);
  // Packs with a location on `tier`, created before `created_before_ms`,
  // in id order, at most `limit` after pack id `after` (quarantined ones
  // too: callers that copy skip them).
  absl::StatusOr<std::vector<PlacedPack>> PacksOn(absl::string_view tier, int64_t created_before_ms,
                                                  int64_t after, uint32_t limit);
  // Records a verified copy on `tier`. False (and nothing written) when the
  // pack is gone meanwhile (GC or compaction): the copy is then an orphan.
  // Already there: true, nothing changes.
  absl::StatusOr<bool> AddCopy(int64_t pack_id, absl::string_view tier);
  // Moves one location from `from` to `to` (whose copy is verified), in one
  // transaction. False when the pack is gone or has no location on `from`.
  absl::StatusOr<bool> Relocate(int64_t pack_id, absl::string_view from, absl::string_view to);
  // Packs and bytes per tier, copies included; tiers in name order.
  absl::StatusOr<std::vector<TierUsage>> UsageByTier();

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  const std::function<absl::Time()> clock_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_PLACEMENT_STORE_H_

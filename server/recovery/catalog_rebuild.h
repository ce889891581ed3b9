// Brings snapshots back into a catalog from the tiers alone, as Bacula's
// bscan does from volumes: the packs' own indexes give every chunk's place,
// the tree packs the directory trees and the snapshot records the snapshots
// (tier_metadata.h). What the catalog already holds is left as it is, so the
// same pass serves two cases:
//
//   - `cairn-server --rebuild-catalog`: an empty catalog, every catalog
//     bundle lost; every snapshot whose record is on a tier comes back.
//   - after `--recover-from-tier`: the bundle is minutes old; the snapshots
//     committed after it (their records and trees are on the tiers) come back
//     too, so the recovery loses none.
//
// A snapshot comes back only whole: every tree it reaches and every chunk
// those trees name must be found; otherwise it is reported as skipped, with
// what is missing; its chunks are not catalogued (its trees may be, as
// every tree pack is read whole; gc removes them).
//
//   ASSIGN_OR_RETURN(RebuildReport report, ImportFromTiers(catalog, tiers, key, scratch));
#ifndef CAIRN_SERVER_RECOVERY_CATALOG_REBUILD_H_
#define CAIRN_SERVER_RECOVERY_CATALOG_REBUILD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secret_key.h"
#include "server/catalog/catalog.h"
#include "server/tiers/tier.h"

namespace cairn {

struct RebuildReport {
  uint64_t packs_indexed = 0;   // packs the catalog did not know, read
  uint64_t chunks_indexed = 0;  // chunks in them
  uint64_t tree_packs_read = 0;
  uint64_t trees_imported = 0;
  uint64_t chunks_catalogued = 0;  // chunks the snapshots brought back reference
  std::vector<std::string> snapshots_restored;
  std::vector<std::string> skipped;   // snapshots not brought back, each with why
  std::vector<std::string> problems;  // objects that could not be read on some tier
};

// `tiers` in order of preference (a pack found on several is catalogued on
// the first, with copies on the others). `scratch_path` is a file the pass
// may create for its working index (deleted after); memory stays bounded by
// one directory tree and the listing of the tiers.
absl::StatusOr<RebuildReport> ImportFromTiers(Catalog* catalog, const std::vector<Tier*>& tiers,
                                              const SecretKey& key,
                                              const std::string& scratch_path);

// `cairn-server --rebuild-catalog`: a new STATE/catalog.db from the tiers.
// FailedPrecondition when one exists (it is never overwritten: move it away
// first). DataLoss, and no catalog, when no snapshot came back and some
// object did not read (most likely the wrong key). Built as catalog.db.rebuild and renamed at the
// end, so a rebuild cut short leaves no catalog behind and can simply be run again.
absl::StatusOr<RebuildReport> RebuildCatalog(const std::vector<Tier*>& tiers, const SecretKey& key,
                                             const std::string& state_dir);

// After `--recover-from-tier`: imports into STATE/catalog.db what the tiers
// hold beyond the bundle it came from.
absl::StatusOr<RebuildReport> CatchUpFromTiers(const std::vector<Tier*>& tiers,
                                               const SecretKey& key, const std::string& state_dir);

}  // namespace cairn

#endif  // CAIRN_SERVER_RECOVERY_CATALOG_REBUILD_H_

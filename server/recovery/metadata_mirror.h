// Keeps the catalog's trees and snapshot records on every tier as tree packs
// and snapshot records (tier_metadata.h), so the tiers alone are enough to
// rebuild every snapshot (catalog_rebuild.h).
//
// After a snapshot commits, OnCommit writes the tenant's new trees and the
// snapshot's record to every tier that is up, before the backup is
// acknowledged. Reconcile then brings each tier in line with the catalog:
// it writes what a tier lacks (it was down, the server stopped in between,
// the tier is new) and deletes the records of deleted snapshots and the tree
// packs no catalogued tree is in any more. The catalog backup runs Reconcile
// with every bundle and before any pack is deleted, so a deleted snapshot's
// record is gone before its chunks are.
//
//   MetadataMirror mirror(catalog, tiers, catalog_key);
//   RETURN_IF_ERROR(mirror.OnCommit(snapshot));
//   ASSIGN_OR_RETURN(MirrorReport report, mirror.Reconcile());
#ifndef CAIRN_SERVER_RECOVERY_METADATA_MIRROR_H_
#define CAIRN_SERVER_RECOVERY_METADATA_MIRROR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/v1/types.pb.h"
#include "common/secret_key.h"
#include "server/catalog/catalog.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct MirrorReport {
  uint64_t tree_packs_written = 0;  // counting each tier
  uint64_t records_written = 0;
  uint64_t tree_packs_deleted = 0;
  uint64_t records_deleted = 0;
  std::vector<std::string> problems;  // per tier; the rest was still done
};

class MetadataMirror final {
 public:
  MetadataMirror(Catalog* catalog, const TierSet* tiers, SecretKey key)
      : catalog_(catalog), tiers_(tiers), key_(std::move(key)) {}
  MetadataMirror(const MetadataMirror&) = delete;
  MetadataMirror& operator=(const MetadataMirror&) = delete;

  // Writes the snapshot's tenant's unmirrored trees and the snapshot's record
  // to every tier that is up. Unavailable naming the tiers that failed (the
  // next Reconcile writes to them).
  absl::Status OnCommit(const v1::Snapshot& snapshot);
  // Makes every tier that is up hold exactly the tree packs and snapshot
  // records the catalog calls for.
  absl::StatusOr<MirrorReport> Reconcile();

 private:
  // Writes every unmirrored tree of the tenant, in tree packs, to `targets`.
  absl::Status FlushTrees(const TenantName& tenant, const std::vector<Tier*>& targets,
                          MirrorReport* report) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> SealedRecord(const v1::Snapshot& snapshot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReconcileTier(Tier* tier, const std::vector<std::string>& tree_packs,
                             const std::vector<std::string>& snapshot_ids, MirrorReport* report)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<Tier*> Targets() const;

  Catalog* const catalog_;
  const TierSet* const tiers_;
  const SecretKey key_;
  absl::Mutex mu_;  // one writer of metadata objects at a time
};

}  // namespace cairn

#endif  // CAIRN_SERVER_RECOVERY_METADATA_MIRROR_H_

// Re-reads packs from their tiers and checks header, footer, index and every
// blob's checksum without any data key. A pack found damaged (DataLoss, or
// missing or cut short on its tier) is quarantined: its chunks count as
// missing, so the next backup uploads them again. A pack that could not be
// read for another reason (its tier unavailable, an I/O error) is reported as
// unchecked and left alone: a tier that is down is not a damaged pack.
// VerifyTier checks the copies on one tier instead; a damaged copy of a pack
// that has others is reported (reads fall back to the others), and only a
// pack whose one location is damaged is quarantined.
//
//   PackVerifier verifier(&catalog->chunks(), &tiers);
//   ASSIGN_OR_RETURN(VerifyReport report, verifier.VerifyAll(/*read_data=*/true));
#ifndef CAIRN_SERVER_MAINTENANCE_PACK_VERIFIER_H_
#define CAIRN_SERVER_MAINTENANCE_PACK_VERIFIER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pack_format.h"
#include "server/catalog/chunk_store.h"
#include "server/catalog/placement_store.h"
#include "server/tiers/pack_index.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct VerifyReport {
  uint64_t packs_checked = 0;
  uint64_t chunks_checked = 0;
  std::vector<std::string> problems;   // damaged packs, each quarantined
  std::vector<std::string> unchecked;  // packs that could not be read; left alone
};

// Whether a failure to read or check a pack means the pack is damaged (as
// opposed to unreachable for now).
bool IsPackDamage(const absl::Status& status);

class PackVerifier final {
 public:
  PackVerifier(ChunkStore* chunks, PlacementStore* placement, const TierSet* tiers)
      : chunks_(chunks), placement_(placement), tiers_(tiers) {}
  // Checks every pack the catalog knows that is not quarantined yet, where
  // it was first written.
  absl::StatusOr<VerifyReport> VerifyAll(bool read_data);
  // Checks every location on `tier` (first or copy) of a pack not quarantined.
  absl::StatusOr<VerifyReport> VerifyTier(absl::string_view tier, bool read_data);

 private:
  absl::Status VerifyPack(const PackRecord& pack, absl::string_view tier, bool read_data,
                          VerifyReport* report);

  ChunkStore* chunks_;
  PlacementStore* placement_;
  const TierSet* tiers_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_PACK_VERIFIER_H_

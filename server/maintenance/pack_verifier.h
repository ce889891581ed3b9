// Re-reads packs from their tiers and checks header, footer, index and every
// blob's checksum without any data key. A pack found damaged (DataLoss, or
// missing or cut short on its tier) is quarantined: its chunks count as
// missing, so the next backup uploads them again. A pack that could not be
// read for another reason (its tier unavailable, an I/O error) is reported as
// unchecked and left alone: a tier that is down is not a damaged pack.
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
#include "server/tiers/tier_set.h"

namespace cairn {

struct VerifyReport {
  uint64_t packs_checked = 0;
  uint64_t chunks_checked = 0;
  std::vector<std::string> problems;   // damaged packs, each quarantined
  std::vector<std::string> unchecked;  // packs that could not be read; left alone
};

// Reads a pack's footer and index; DataLoss on any damage.
absl::StatusOr<std::vector<PackEntry>> ReadPackIndex(Tier* tier, absl::string_view pack);

// Whether a failure to read or check a pack means the pack is damaged (as
// opposed to unreachable for now).
bool IsPackDamage(const absl::Status& status);

class PackVerifier final {
 public:
  PackVerifier(ChunkStore* chunks, const TierSet* tiers) : chunks_(chunks), tiers_(tiers) {}
  // Checks every pack the catalog knows that is not quarantined yet.
  absl::StatusOr<VerifyReport> VerifyAll(bool read_data);

 private:
  absl::Status VerifyPack(const PackRecord& pack, bool read_data, VerifyReport* report);

  ChunkStore* chunks_;
  const TierSet* tiers_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_PACK_VERIFIER_H_

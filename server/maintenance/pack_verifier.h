// Re-reads packs from their tiers and checks header, footer, index and every
// blob's checksum without any data key. A pack that fails is quarantined:
// its chunks count as missing, so the next backup uploads them again.
#ifndef CAIRN_SERVER_MAINTENANCE_PACK_VERIFIER_H_
#define CAIRN_SERVER_MAINTENANCE_PACK_VERIFIER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"

#include "absl/status/statusor.h"
#include "common/pack_format.h"
#include "server/catalog/catalog.h"
#include "server/tiers/tier.h"

namespace cairn {

struct VerifyReport {
  uint64_t packs_checked = 0;
  uint64_t chunks_checked = 0;
  std::vector<std::string> problems;
};

// Reads a pack's footer and index; DataLoss on any damage.
absl::StatusOr<std::vector<PackEntry>> ReadPackIndex(Tier* tier, absl::string_view pack);

class PackVerifier final {
 public:
  PackVerifier(Catalog* catalog, std::vector<Tier*> tiers)
      : catalog_(catalog), tiers_(std::move(tiers)) {}
  // Checks every pack the catalog knows; quarantines the damaged ones.
  absl::StatusOr<VerifyReport> VerifyAll(bool read_data);

 private:
  absl::Status VerifyPack(const PackRecord& pack, bool read_data, VerifyReport* report);

  Catalog* catalog_;
  std::vector<Tier*> tiers_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_PACK_VERIFIER_H_

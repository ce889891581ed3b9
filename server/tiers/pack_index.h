// Reads the index of a pack object (common/pack_format.h) from a tier: its
// header, footer and index, each checked.
//
//   ASSIGN_OR_RETURN(std::vector<PackEntry> entries, ReadPackIndex(tier, "pack-1-ab"));
#ifndef CAIRN_SERVER_TIERS_PACK_INDEX_H_
#define CAIRN_SERVER_TIERS_PACK_INDEX_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/pack_format.h"
#include "server/tiers/tier.h"

namespace cairn {

// Reads a pack's footer and index; DataLoss on any damage. With `size`, also
// the object's size (so callers need not ask the tier twice).
absl::StatusOr<std::vector<PackEntry>> ReadPackIndex(Tier* tier, absl::string_view pack,
                                                     uint64_t* size = nullptr);

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_PACK_INDEX_H_

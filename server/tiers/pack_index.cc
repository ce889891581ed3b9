#include "server/tiers/pack_index.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<std::vector<PackEntry>> ReadPackIndex(Tier* tier, absl::string_view pack,
                                                     uint64_t* size_out) {
  ASSIGN_OR_RETURN(uint64_t size, tier->Size(pack));
  if (size_out != nullptr) *size_out = size;
  if (size < kPackHeaderSize + kPackFooterSize) {
    return absl::DataLossError(absl::StrCat("pack ", pack, " is truncated (", size, " bytes)"));
  }
  std::string header;
  RETURN_IF_ERROR(tier->Read(pack, 0, kPackHeaderSize, &header));
  RETURN_IF_ERROR(VerifyPackHeader(header));
  std::string footer_bytes;
  RETURN_IF_ERROR(tier->Read(pack, size - kPackFooterSize, kPackFooterSize, &footer_bytes));
  ASSIGN_OR_RETURN(PackFooter footer, DecodePackFooter(footer_bytes, size));
  std::string index;
  RETURN_IF_ERROR(
      tier->Read(pack, footer.index_offset, size - kPackFooterSize - footer.index_offset, &index));
  return DecodePackIndex(index, footer, footer_bytes);
}

}  // namespace cairn

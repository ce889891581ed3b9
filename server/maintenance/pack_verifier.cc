#include "server/maintenance/pack_verifier.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<std::vector<PackEntry>> ReadPackIndex(Tier* tier, absl::string_view pack) {
  ASSIGN_OR_RETURN(uint64_t size, tier->Size(pack));
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
  RETURN_IF_ERROR(tier->Read(pack, footer.index_offset,
                             size - kPackFooterSize - footer.index_offset, &index));
  return DecodePackIndex(index, footer, footer_bytes);
}

absl::StatusOr<VerifyReport> PackVerifier::VerifyAll(bool read_data) {
  VerifyReport report;
  ASSIGN_OR_RETURN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
  for (const PackRecord& pack : packs) {
    if (pack.quarantined) continue;
    absl::Status status = VerifyPack(pack, read_data, &report);
    ++report.packs_checked;
    if (!status.ok()) {
      report.problems.push_back(absl::StrCat("pack ", pack.name, " (tier ", pack.tier,
                                             "): ", status.message(), "; quarantined"));
      RETURN_IF_ERROR(catalog_->chunks().Quarantine(pack.id));
    }
  }
  return report;
}

absl::Status PackVerifier::VerifyPack(const PackRecord& pack, bool read_data,
                                      VerifyReport* report) {
  Tier* tier = nullptr;
  for (Tier* t : tiers_) {
    if (t->name() == pack.tier) tier = t;
  }
  if (tier == nullptr) return absl::NotFoundError(absl::StrCat("tier ", pack.tier, " is gone"));
  ASSIGN_OR_RETURN(std::vector<PackEntry> entries, ReadPackIndex(tier, pack.name));
  ASSIGN_OR_RETURN(std::vector<std::string> catalogued, catalog_->chunks().PackChunkIds(pack.id));
  absl::flat_hash_set<std::string> in_index;
  for (const PackEntry& e : entries) {
    in_index.insert(std::string(reinterpret_cast<const char*>(e.id.data()), e.id.size()));
  }
  for (const std::string& id : catalogued) {
    if (!in_index.contains(id)) {
      return absl::DataLossError(
          absl::StrCat("the catalog places chunk ", HexOf(id), " here but the pack lacks it"));
    }
  }
  if (!read_data) return absl::OkStatus();
  std::string blob;
  for (const PackEntry& e : entries) {
    RETURN_IF_ERROR(tier->Read(pack.name, e.offset, e.length, &blob));
    RETURN_IF_ERROR(VerifyBlob(e, blob));
    ++report->chunks_checked;
  }
  return absl::OkStatus();
}

}  // namespace cairn

#include "server/maintenance/pack_verifier.h"

#include "absl/container/flat_hash_set.h"
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
  RETURN_IF_ERROR(
      tier->Read(pack, footer.index_offset, size - kPackFooterSize - footer.index_offset, &index));
  return DecodePackIndex(index, footer, footer_bytes);
}

bool IsPackDamage(const absl::Status& status) {
  // NotFound: the object is gone; OutOfRange: it is shorter than its index says.
  return absl::IsDataLoss(status) || absl::IsNotFound(status) || absl::IsOutOfRange(status);
}

absl::StatusOr<VerifyReport> PackVerifier::VerifyAll(bool read_data) {
  VerifyReport report;
  ASSIGN_OR_RETURN(std::vector<PackRecord> packs, chunks_->ListPacks());
  for (const PackRecord& pack : packs) {
    if (pack.quarantined) continue;
    absl::Status status = VerifyPack(pack, read_data, &report);
    if (status.ok()) {
      ++report.packs_checked;
      continue;
    }
    std::string where = absl::StrCat("pack ", pack.name, " (tier ", pack.tier, "): ");
    if (IsPackDamage(status)) {
      ++report.packs_checked;
      report.problems.push_back(absl::StrCat(where, status.message(), "; quarantined"));
      RETURN_IF_ERROR(chunks_->Quarantine(pack.id));
    } else {
      report.unchecked.push_back(absl::StrCat(where, "not checked: ", status.message()));
    }
  }
  return report;
}

absl::Status PackVerifier::VerifyPack(const PackRecord& pack, bool read_data,
                                      VerifyReport* report) {
  ASSIGN_OR_RETURN(Tier * tier, tiers_->Get(pack.tier));
  ASSIGN_OR_RETURN(std::vector<PackEntry> entries, ReadPackIndex(tier, pack.name));
  ASSIGN_OR_RETURN(std::vector<std::string> catalogued, chunks_->PackChunkIds(pack.id));
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
  // Blobs lie back to back in index order: read them in runs of up to
  // kReadRunBytes, one tier read per run.
  constexpr uint64_t kReadRunBytes = 32u << 20;
  std::string run;
  for (size_t begin = 0; begin < entries.size();) {
    size_t end = begin + 1;
    uint64_t run_end = entries[begin].offset + entries[begin].length;
    while (end < entries.size() && entries[end].offset == run_end &&
           run_end + entries[end].length - entries[begin].offset <= kReadRunBytes) {
      run_end += entries[end].length;
      ++end;
    }
    uint64_t start = entries[begin].offset;
    RETURN_IF_ERROR(tier->Read(pack.name, start, run_end - start, &run));
    for (size_t i = begin; i < end; ++i) {
      RETURN_IF_ERROR(VerifyBlob(
          entries[i], absl::string_view(run).substr(entries[i].offset - start, entries[i].length)));
      ++report->chunks_checked;
    }
    begin = end;
  }
  return absl::OkStatus();
}

}  // namespace cairn

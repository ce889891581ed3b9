#include "server/maintenance/pack_verifier.h"

#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/status_macros.h"

namespace cairn {

bool IsPackDamage(const absl::Status& status) {
  // NotFound: the object is gone; OutOfRange: it is shorter than its index says.
  return absl::IsDataLoss(status) || absl::IsNotFound(status) || absl::IsOutOfRange(status);
}

absl::StatusOr<VerifyReport> PackVerifier::VerifyAll(bool read_data) {
  VerifyReport report;
  ASSIGN_OR_RETURN(std::vector<PackRecord> packs, chunks_->ListPacks());
  for (const PackRecord& pack : packs) {
    if (pack.quarantined) continue;
    absl::Status status = VerifyPack(pack, pack.tier, read_data, &report);
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

absl::StatusOr<VerifyReport> PackVerifier::VerifyTier(absl::string_view tier_name, bool read_data) {
  RETURN_IF_ERROR(tiers_->Get(tier_name).status());
  VerifyReport report;
  constexpr uint32_t kPage = 1000;
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(
        std::vector<PlacedPack> page,
        placement_->PacksOn(tier_name, std::numeric_limits<int64_t>::max(), after, kPage));
    for (const PlacedPack& placed : page) {
      after = placed.pack.id;
      if (placed.pack.quarantined) continue;
      absl::Status status = VerifyPack(placed.pack, tier_name, read_data, &report);
      if (status.ok()) {
        ++report.packs_checked;
        continue;
      }
      std::string where = absl::StrCat("pack ", placed.pack.name, " (tier ", tier_name, "): ");
      if (!IsPackDamage(status)) {
        report.unchecked.push_back(absl::StrCat(where, "not checked: ", status.message()));
        continue;
      }
      ++report.packs_checked;
      if (placed.locations.size() > 1) {
        std::vector<std::string> others;
        for (const std::string& l : placed.locations) {
          if (l != tier_name) others.push_back(l);
        }
        report.problems.push_back(absl::StrCat(where, status.message(),
                                               "; this copy is damaged, reads use the copy on ",
                                               absl::StrJoin(others, ", ")));
      } else {
        report.problems.push_back(absl::StrCat(where, status.message(), "; quarantined"));
        RETURN_IF_ERROR(chunks_->Quarantine(placed.pack.id));
      }
    }
    if (page.size() < kPage) break;
  }
  return report;
}

absl::Status PackVerifier::VerifyPack(const PackRecord& pack, absl::string_view tier_name,
                                      bool read_data, VerifyReport* report) {
  ASSIGN_OR_RETURN(Tier * tier, tiers_->Get(tier_name));
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

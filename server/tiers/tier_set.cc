#include "server/tiers/tier_set.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cairn {

TierSet::TierSet(std::vector<std::unique_ptr<Tier>> tiers) : tiers_(std::move(tiers)) {}

Tier* TierSet::Find(absl::string_view name) const {
  for (const auto& tier : tiers_) {
    if (tier->name() == name) return tier.get();
  }
  return nullptr;
}

absl::StatusOr<Tier*> TierSet::Get(absl::string_view name) const {
  Tier* tier = Find(name);
  if (tier == nullptr) {
    return absl::UnavailableError(absl::StrCat("tier ", name, " is not configured"));
  }
  return tier;
}

}  // namespace cairn

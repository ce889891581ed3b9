#include "server/tiers/tier_set.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cairn {

TierSet::TierSet(std::vector<std::unique_ptr<Tier>> tiers, TierSetOptions options) {
  for (std::unique_ptr<Tier>& tier : tiers) {
    auto tracked = std::make_unique<HealthTrackingTier>(std::move(tier), options.retry_after);
    tracked_.push_back(tracked.get());
    tiers_.push_back(std::move(tracked));
  }
  for (const std::string& name : options.new_packs) {
    for (HealthTrackingTier* t : tracked_) {
      if (t->name() == name) new_packs_.push_back(t);
    }
  }
  if (new_packs_.empty()) new_packs_ = tracked_;
}

Tier* TierSet::ForNewPacks() const {
  const absl::Time now = absl::Now();
  for (HealthTrackingTier* t : new_packs_) {
    if (!t->Avoid(now)) return t;
  }
  return new_packs_.front();
}

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

TierHealth TierSet::Health(absl::string_view name) const {
  for (HealthTrackingTier* t : tracked_) {
    if (t->name() == name) return t->health();
  }
  return TierHealth{};
}

bool TierSet::Avoid(absl::string_view name) const {
  const absl::Time now = absl::Now();
  for (HealthTrackingTier* t : tracked_) {
    if (t->name() == name) return t->Avoid(now);
  }
  return false;
}

size_t TierSet::Rank(absl::string_view name) const {
  for (size_t i = 0; i < tracked_.size(); ++i) {
    if (tracked_[i]->name() == name) return i;
  }
  return tracked_.size();
}

}  // namespace cairn

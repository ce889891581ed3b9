// The tiers a server writes to, by name, each watched for health
// (tier_health.h). New packs go to the first tier of the new-pack order that
// is not down; the first tier overall is the "hot" one. Owns its tiers;
// thread-safe (the set never changes once built).
//
//   TierSet tiers(std::move(opened), {.new_packs = {"hot", "cold"}});
//   Tier* target = tiers.ForNewPacks();
//   Tier* t = tiers.Find(pack.tier);  // nullptr when not configured
#ifndef CAIRN_SERVER_TIERS_TIER_SET_H_
#define CAIRN_SERVER_TIERS_TIER_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/tiers/tier.h"
#include "server/tiers/tier_health.h"

namespace cairn {

struct TierSetOptions {
  // Tiers new packs may go to, in order of preference. Empty: every tier, in
  // the order given. Unknown names are ignored (the config checks them).
  std::vector<std::string> new_packs;
  // How long a tier that failed is passed over before it is tried again.
  absl::Duration retry_after = absl::Seconds(30);
};

class TierSet final {
 public:
  // `tiers` must hold at least one tier, with distinct names.
  explicit TierSet(std::vector<std::unique_ptr<Tier>> tiers, TierSetOptions options = {});
  TierSet(const TierSet&) = delete;
  TierSet& operator=(const TierSet&) = delete;

  Tier* hot() const { return tiers_.front().get(); }
  // The first tier of the new-pack order that is not down (or due for a
  // retry); when all are down, the first of them, so the error says why.
  Tier* ForNewPacks() const;
  Tier* Find(absl::string_view name) const;
  // Find, or Unavailable naming the tier when it is not configured.
  absl::StatusOr<Tier*> Get(absl::string_view name) const;
  // Health of a configured tier (a default, up, one for unknown names).
  TierHealth Health(absl::string_view name) const;
  // Down and not due for a retry: readers try other copies first.
  bool Avoid(absl::string_view name) const;
  // Position in the configured order (nearer first), or tiers().size().
  size_t Rank(absl::string_view name) const;
  const std::vector<std::unique_ptr<Tier>>& all() const { return tiers_; }

 private:
  std::vector<std::unique_ptr<Tier>> tiers_;  // each a HealthTrackingTier
  std::vector<HealthTrackingTier*> tracked_;  // the same, typed
  std::vector<HealthTrackingTier*> new_packs_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_TIER_SET_H_

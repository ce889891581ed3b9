// The tiers a server writes to, by name. The first is the hot tier, where new
// packs go. Owns its tiers; thread-safe (the set never changes once built).
//
//   TierSet tiers(std::move(opened));
//   Tier* hot = tiers.hot();
//   Tier* t = tiers.Find(pack.tier);  // nullptr when not configured
#ifndef CAIRN_SERVER_TIERS_TIER_SET_H_
#define CAIRN_SERVER_TIERS_TIER_SET_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/tiers/tier.h"

namespace cairn {

class TierSet final {
 public:
  // `tiers` must hold at least one tier, with distinct names.
  explicit TierSet(std::vector<std::unique_ptr<Tier>> tiers);
  TierSet(const TierSet&) = delete;
  TierSet& operator=(const TierSet&) = delete;

  Tier* hot() const { return tiers_.front().get(); }
  Tier* Find(absl::string_view name) const;
  // Find, or Unavailable naming the tier when it is not configured.
  absl::StatusOr<Tier*> Get(absl::string_view name) const;
  const std::vector<std::unique_ptr<Tier>>& all() const { return tiers_; }

 private:
  std::vector<std::unique_ptr<Tier>> tiers_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_TIER_SET_H_

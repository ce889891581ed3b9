// Copies per policy (3-2-1): a policy with `copies: N` asks that every pack
// holding data of a snapshot of an agent it covers has N locations on
// distinct tiers. One pass walks those snapshots' trees (each tree once;
// the snapshots of the policies asking for most copies first, so a tree
// shared with a policy asking for fewer still counts for the most), finds
// the packs of their chunks, and copies each pack short of locations to the
// next tiers in configured order that are up (TierMover: copied, read back,
// compared, then recorded). Dedup means a pack can serve several agents: it
// gets the most copies any of them asks for.
//
//   PolicyCopies pass(catalog, tiers, &mover);
//   ASSIGN_OR_RETURN(PolicyCopiesReport report, pass.Run(policies, stopping));
#ifndef CAIRN_SERVER_MAINTENANCE_POLICY_COPIES_H_
#define CAIRN_SERVER_MAINTENANCE_POLICY_COPIES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/catalog.h"
#include "server/maintenance/tier_mover.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct PolicyCopiesReport {
  uint64_t snapshots = 0;      // walked
  uint64_t packs_checked = 0;  // packs holding their data
  uint64_t copies_made = 0;
  std::vector<std::string> problems;  // packs left short, each with why
};

class PolicyCopies final {
 public:
  PolicyCopies(Catalog* catalog, const TierSet* tiers, TierMover* mover)
      : catalog_(catalog), tiers_(tiers), mover_(mover) {}

  // `stopping` is asked between packs; true ends the pass there.
  absl::StatusOr<PolicyCopiesReport> Run(const std::vector<v1::Policy>& policies,
                                         const std::function<bool()>& stopping);

 private:
  Catalog* const catalog_;
  const TierSet* const tiers_;
  TierMover* const mover_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_POLICY_COPIES_H_

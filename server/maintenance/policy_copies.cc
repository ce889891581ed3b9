#include "server/maintenance/policy_copies.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "server/maintenance/snapshot_packs.h"
#include "server/schedule/policy_rules.h"

namespace cairn {

absl::StatusOr<PolicyCopiesReport> PolicyCopies::Run(const std::vector<v1::Policy>& policies,
                                                     const std::function<bool()>& stopping) {
  PolicyCopiesReport report;
  if (std::none_of(policies.begin(), policies.end(),
                   [](const v1::Policy& p) { return p.copies() > 1; })) {
    return report;
  }
  auto wanted_for = [&policies](const std::string& agent) {
    uint32_t n = 1;
    for (const v1::Policy& p : policies) {
      if (p.copies() > n && PolicyCoversAgent(p, agent)) n = p.copies();
    }
    return n;
  };
  ASSIGN_OR_RETURN(std::vector<v1::Snapshot> snapshots,
                   catalog_->snapshots().List("", std::numeric_limits<uint32_t>::max()));
  std::vector<std::pair<uint32_t, const v1::Snapshot*>> order;
  for (const v1::Snapshot& s : snapshots) {
    const uint32_t n = wanted_for(s.agent());
    if (n > 1) order.emplace_back(n, &s);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });

  absl::btree_map<int64_t, uint32_t> packs;  // pack id -> locations wanted
  std::vector<const v1::Snapshot*> walk;
  absl::flat_hash_map<const v1::Snapshot*, uint32_t> copies_of;
  for (const auto& [n, snapshot] : order) {
    walk.push_back(snapshot);
    copies_of[snapshot] = n;
  }
  report.snapshots = walk.size();
  RETURN_IF_ERROR(WalkSnapshotPacks(
      catalog_, walk,
      [&](const v1::Snapshot& s, int64_t pack) {
        uint32_t& wanted = packs[pack];
        wanted = std::max(wanted, copies_of[&s]);
      },
      &report.problems));

  for (const auto& [pack_id, n] : packs) {
    if (stopping()) break;
    ++report.packs_checked;
    ASSIGN_OR_RETURN(std::optional<PackRecord> pack, catalog_->chunks().GetPack(pack_id));
    if (!pack.has_value() || pack->quarantined) continue;
    ASSIGN_OR_RETURN(std::vector<std::string> locations, catalog_->placement().Copies(pack_id));
    locations.insert(locations.begin(), pack->tier);
    if (locations.size() >= n) continue;
    auto held = [&locations](const std::string& tier) {
      return std::find(locations.begin(), locations.end(), tier) != locations.end();
    };
    std::string source;
    for (const std::string& l : locations) {
      if (!tiers_->Avoid(l)) {
        source = l;
        break;
      }
    }
    std::vector<std::string> why;
    bool gone = false;
    for (const std::unique_ptr<Tier>& target : tiers_->all()) {
      if (locations.size() >= n || source.empty()) break;
      const std::string name = target->name();
      if (held(name)) continue;
      if (tiers_->Avoid(name)) {
        why.push_back(absl::StrCat("tier ", name, " is down"));
        continue;
      }
      absl::StatusOr<bool> copied = mover_->CopyOne(*pack, source, name);
      if (!copied.ok()) {
        why.push_back(absl::StrCat("copy to ", name, ": ", copied.status().message()));
        continue;
      }
      if (!*copied) {
        gone = true;  // collected or compacted meanwhile
        break;
      }
      locations.push_back(name);
      ++report.copies_made;
    }
    if (gone || locations.size() >= n) continue;
    if (source.empty()) why.push_back("no location of it is up");
    if (why.empty()) why.push_back(absl::StrCat("only ", tiers_->all().size(), " tiers"));
    report.problems.push_back(absl::StrCat(
        "pack ", pack->name, " has ", locations.size(), " of ", n, " locations a policy asks for (",
        absl::StrJoin(locations, ", "), "): ", absl::StrJoin(why, "; ")));
  }
  return report;
}

}  // namespace cairn

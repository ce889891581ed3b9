#include "server/maintenance/placement_rules.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace cairn {

PlacementRules::~PlacementRules() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PlacementRules::Start() {
  // Also without rules: policies may ask for copies.
  thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
        if (stop_) return;
      }
      for (const std::string& problem : RunOnce()) {
        log::Warn("placement.problem", {{"problem", problem}});
      }
    }
  });
}

std::vector<std::string> PlacementRules::RunOnce() {
  std::vector<std::string> problems;
  for (const v1::PlacementRule& rule : rules_) {
    v1::MoveTierRequest request;
    request.set_from(rule.from());
    request.set_to(rule.to());
    request.set_copy(rule.copy());
    const std::string what =
        absl::StrCat(rule.copy() ? "copy " : "move ", rule.from(), " -> ", rule.to());
    // Age is that of the newest snapshot using a pack, not the pack's own:
    // a pack a new snapshot still uses stays where it is.
    std::function<bool(const PlacedPack&)> select;
    if (rule.older_than_days() > 0) {
      absl::StatusOr<std::function<bool(const PlacedPack&)>> unused =
          maintenance_->UnusedFor(absl::Hours(24) * rule.older_than_days(), &problems);
      if (!unused.ok()) {
        problems.push_back(absl::StrCat(what, ": ", unused.status().message()));
        continue;
      }
      select = *std::move(unused);
    }
    absl::StatusOr<v1::MoveTierProgress> done = maintenance_->MoveTier(
        Caller::Internal(), request, [this](const v1::MoveTierProgress&) { return !Stopping(); },
        std::move(select));
    if (!done.ok()) {
      problems.push_back(absl::StrCat(what, ": ", done.status().message()));
      continue;
    }
    for (const std::string& p : done->problems()) problems.push_back(absl::StrCat(what, ": ", p));
    if (Stopping()) break;
  }
  if (Stopping()) return problems;
  absl::StatusOr<PolicyCopiesReport> copies =
      maintenance_->KeepPolicyCopies([this] { return Stopping(); });
  if (!copies.ok()) {
    problems.push_back(absl::StrCat("policy copies: ", copies.status().message()));
  } else {
    for (const std::string& p : copies->problems) {
      problems.push_back(absl::StrCat("policy copies: ", p));
    }
  }
  return problems;
}

}  // namespace cairn

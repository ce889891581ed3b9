// Runs the config's placement rules (PlacementConfig.rules) on a thread of
// its own: every interval, each rule in order is one TierMover run, as
// `cairnctl tier move|copy --older-than` would do it, as the server itself.
// A rule that fails is logged and tried again next time. After the rules,
// the copies policies ask for (MaintenanceService::KeepPolicyCopies).
//
//   PlacementRules rules(&core->maintenance(), config.placement().rules(), absl::Hours(1));
//   rules.Start();
#ifndef CAIRN_SERVER_MAINTENANCE_PLACEMENT_RULES_H_
#define CAIRN_SERVER_MAINTENANCE_PLACEMENT_RULES_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/v1/config.pb.h"
#include "server/maintenance/maintenance_service.h"

namespace cairn {

class PlacementRules final {
 public:
  PlacementRules(MaintenanceService* maintenance, std::vector<v1::PlacementRule> rules,
                 absl::Duration interval)
      : maintenance_(maintenance), rules_(std::move(rules)), interval_(interval) {}
  ~PlacementRules();  // stops the thread (a run in progress stops after its pack)
  PlacementRules(const PlacementRules&) = delete;
  PlacementRules& operator=(const PlacementRules&) = delete;

  void Start();
  // Runs every rule, then the policy copy pass, once now; the problems met,
  // one line each.
  std::vector<std::string> RunOnce();

 private:
  bool Stopping() {
    absl::MutexLock lock(&mu_);
    return stop_;
  }

  MaintenanceService* const maintenance_;
  const std::vector<v1::PlacementRule> rules_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_PLACEMENT_RULES_H_

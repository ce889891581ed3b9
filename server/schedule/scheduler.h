// Runs the policies' cron schedules: a thread that wakes every few seconds,
// and for each schedule whose next time has come, orders a backup of each
// root of the policy on each agent it covers (unless one is already queued
// or running for that agent and root). Times are the server's clock, in UTC.
// A server that was down at a scheduled time does not catch up; the next
// time runs as usual.
#ifndef CAIRN_SERVER_SCHEDULE_SCHEDULER_H_
#define CAIRN_SERVER_SCHEDULE_SCHEDULER_H_

#include <atomic>
#include <functional>
#include <thread>

#include "absl/time/time.h"
#include "server/catalog/catalog.h"
#include "server/schedule/job_board.h"
#include "server/schedule/policy_service.h"

namespace cairn {

class Scheduler final {
 public:
  Scheduler(PolicyService* policies, Catalog* catalog, JobBoard* jobs,
            std::function<absl::Time()> clock = absl::Now);
  ~Scheduler();
  void Start(absl::Duration tick = absl::Seconds(5));
  // Ends the thread (waits for it); Tick() still works.
  void Stop();
  // One pass: orders what came due in (last tick, now]. Returns jobs ordered.
  int Tick();

 private:
  PolicyService* policies_;
  Catalog* catalog_;
  JobBoard* jobs_;
  std::function<absl::Time()> clock_;
  absl::Time last_tick_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_SCHEDULER_H_

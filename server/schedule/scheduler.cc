#include "server/schedule/scheduler.h"

#include "common/log/log.h"
#include "server/schedule/cron.h"
#include "server/schedule/policy_rules.h"
#include "server/schedule/verify_jobs.h"

namespace cairn {

Scheduler::Scheduler(PolicyService* policies, Catalog* catalog, JobBoard* jobs,
                     std::function<absl::Time()> clock)
    : policies_(policies),
      catalog_(catalog),
      jobs_(jobs),
      clock_(std::move(clock)),
      last_tick_(clock_()) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Start(absl::Duration tick) {
  thread_ = std::thread([this, tick] {
    while (!stop_) {
      for (absl::Time until = absl::Now() + tick; !stop_ && absl::Now() < until;) {
        absl::SleepFor(absl::Milliseconds(100));
      }
      if (!stop_) Tick();
    }
  });
}

int Scheduler::Tick() {
  absl::Time now = clock_();
  absl::Time since = last_tick_;
  last_tick_ = now;
  absl::StatusOr<PolicySnapshot> policies = policies_->Current();
  absl::StatusOr<std::vector<v1::AgentInfo>> agents = catalog_->agents().List();
  if (!policies.ok() || !agents.ok()) {
    log::Error("schedule.catalog_unreadable",
               {{"error", policies.ok() ? agents.status() : policies.status()}});
    return 0;
  }
  int ordered = 0;
  for (const v1::Policy& policy : *policies->policies) {
    for (const v1::Schedule& schedule : policy.schedules()) {
      absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(schedule.cron());
      if (!cron.ok() || cron->NextAfter(since) > now) continue;
      for (const v1::AgentInfo& agent : *agents) {
        if (!PolicyCoversAgent(policy, agent.name())) continue;
        if (schedule.verify_sample_percent() > 0) {
          // A verify schedule: the agent checks its newest snapshots with its key.
          absl::StatusOr<v1::Job> job =
              MakeVerifyJob(catalog_, agent.name(), "", schedule.verify_sample_percent());
          absl::Status created = job.ok() ? jobs_->Create(*job).status() : job.status();
          if (created.ok()) {
            ++ordered;
          } else if (!absl::IsFailedPrecondition(created)) {
            log::Error("schedule.order_failed", {{"policy", policy.name()},
                                                 {"agent", agent.name()},
                                                 {"kind", "verify"},
                                                 {"error", created}});
          }
          continue;
        }
        std::vector<std::string> roots(policy.roots().begin(), policy.roots().end());
        if (roots.empty()) roots.assign(agent.roots().begin(), agent.roots().end());
        absl::StatusOr<std::vector<v1::Job>> active =
            catalog_->jobs().List(agent.name(), 100, true);
        for (const std::string& root : roots) {
          bool busy = false;
          if (active.ok()) {
            for (const v1::Job& j : *active) {
              busy |= j.kind() == v1::JOB_KIND_BACKUP && j.backup().roots_size() > 0 &&
                      j.backup().roots(0) == root;
            }
          }
          if (busy) continue;
          v1::Job job;
          job.set_kind(v1::JOB_KIND_BACKUP);
          job.set_state(v1::JOB_STATE_QUEUED);
          job.set_agent(agent.name());
          job.mutable_backup()->add_roots(root);
          job.mutable_backup()->set_level(schedule.level());
          absl::Status created = jobs_->Create(job).status();
          if (!created.ok()) {
            log::Error("schedule.order_failed", {{"policy", policy.name()},
                                                 {"agent", agent.name()},
                                                 {"kind", "backup"},
                                                 {"root", root},
                                                 {"error", created}});
            continue;
          }
          ++ordered;
        }
      }
    }
  }
  return ordered;
}

}  // namespace cairn

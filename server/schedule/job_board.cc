#include "server/schedule/job_board.h"

#include <utility>

#include "common/ids.h"
#include "common/status_macros.h"

namespace cairn {

JobBoard::JobBoard(Catalog* catalog, absl::Duration lease, std::function<absl::Time()> clock)
    : catalog_(catalog), lease_(lease), clock_(std::move(clock)) {}

absl::StatusOr<v1::Job> JobBoard::Create(v1::Job job) {
  int64_t now = absl::ToUnixMillis(clock_());
  job.set_id(NewJobId());
  job.set_created_unix_ms(now);
  if (job.state() == v1::JOB_STATE_RUNNING) job.set_started_unix_ms(now);
  RETURN_IF_ERROR(catalog_->jobs().Insert(job, now + absl::ToInt64Milliseconds(lease_)));
  Notify();
  return job;
}

absl::Status JobBoard::Update(const v1::Job& job) {
  RETURN_IF_ERROR(catalog_->jobs().Update(job));
  Notify();
  return absl::OkStatus();
}

void JobBoard::Notify() {
  absl::MutexLock lock(&mu_);
  ++version_;
}

uint64_t JobBoard::version() {
  absl::MutexLock lock(&mu_);
  return version_;
}

void JobBoard::WakeAll() { Notify(); }

std::vector<v1::Job> JobBoard::WaitForOrders(absl::string_view agent, absl::Duration timeout,
                                             const std::atomic<bool>* stop) {
  uint64_t seen = version();
  absl::StatusOr<std::vector<v1::Job>> queued = catalog_->jobs().Queued(agent);
  if (queued.ok() && !queued->empty()) return *std::move(queued);
  if (*stop) return {};
  // Any change (a new order, a policy edit, shutdown) wakes the caller, who
  // looks again.
  WaitForChange(seen, timeout);
  queued = catalog_->jobs().Queued(agent);
  if (queued.ok()) return *std::move(queued);
  return {};
}

uint64_t JobBoard::WaitForChange(uint64_t seen_version, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen_version]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return version_ != seen_version;
  };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return version_;
}

void JobBoard::SetPresence(absl::string_view agent, const AgentPresence& presence) {
  absl::MutexLock lock(&mu_);
  // Not a change of the board: nobody waits on presence, and a thousand
  // agents' heartbeats must not wake every control session.
  presence_[agent] = presence;
}

AgentPresence JobBoard::Presence(absl::string_view agent) {
  absl::MutexLock lock(&mu_);
  auto it = presence_.find(agent);
  return it == presence_.end() ? AgentPresence{} : it->second;
}

}  // namespace cairn

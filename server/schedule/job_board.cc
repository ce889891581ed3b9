#include "server/schedule/job_board.h"

#include <utility>

#include "common/ids.h"
#include "common/job_states.h"
#include "common/log/log.h"
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
  if (IsFinished(job.state())) {
    CountFinished(job);
  } else {
    log::Info("job.created", {{"job", job.id()},
                              {"kind", JobKindLabel(job.kind())},
                              {"agent", job.agent()},
                              {"state", JobResultLabel(job.state())}});
  }
  Changed(job);
  return job;
}

absl::Status JobBoard::Update(const v1::Job& job) {
  // A job is counted once, when it first reaches a final state.
  bool newly_finished = false;
  if (IsFinished(job.state())) {
    absl::StatusOr<std::optional<v1::Job>> before = catalog_->jobs().Get(job.id());
    newly_finished = before.ok() && before->has_value() && !IsFinished((*before)->state());
  }
  RETURN_IF_ERROR(catalog_->jobs().Update(job));
  if (newly_finished) CountFinished(job);
  Changed(job);
  return absl::OkStatus();
}

void JobBoard::CountFinished(const v1::Job& job) {
  if (metrics_ != nullptr) metrics_->JobFinished(job);
  const bool ok = job.state() == v1::JOB_STATE_SUCCEEDED;
  const bool failed = job.state() == v1::JOB_STATE_FAILED;
  double seconds = 0;
  if (job.started_unix_ms() > 0 && job.finished_unix_ms() >= job.started_unix_ms()) {
    seconds = static_cast<double>(job.finished_unix_ms() - job.started_unix_ms()) / 1e3;
  }
  log::Event(ok       ? log::Level::kInfo
             : failed ? log::Level::kError
                      : log::Level::kWarn,
             "job.finished",
             {{"job", job.id()},
              {"kind", JobKindLabel(job.kind())},
              {"agent", job.agent()},
              {"result", JobResultLabel(job.state())},
              {"snapshot", job.snapshot_id()},
              {"seconds", seconds},
              {"files", job.progress().files_done()},
              {"bytes", job.progress().bytes_done()},
              {"file_errors", job.file_errors_size()},
              {"error", job.error()}});
}

void JobBoard::Changed(const v1::Job& job) {
  absl::MutexLock lock(&mu_);
  ++version_;
  if (job.state() == v1::JOB_STATE_QUEUED) {
    ++orders_[job.agent()];
    ++any_orders_;
  }
}

void JobBoard::Notify() {
  absl::MutexLock lock(&mu_);
  ++version_;
}

uint64_t JobBoard::version() {
  absl::MutexLock lock(&mu_);
  return version_;
}

void JobBoard::WakeAll() {
  absl::MutexLock lock(&mu_);
  ++version_;
  ++wake_all_;
  ++any_orders_;
}

void JobBoard::WakeAgent(absl::string_view agent) {
  absl::MutexLock lock(&mu_);
  ++orders_[agent];
  ++any_orders_;
}

uint64_t JobBoard::WaitForAnyOrders(uint64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return any_orders_ != seen; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return any_orders_;
}

uint64_t JobBoard::OrdersVersionLocked(absl::string_view agent) {
  auto it = orders_.find(agent);
  return wake_all_ + (it != orders_.end() ? it->second : 0);
}

uint64_t JobBoard::OrdersVersion(absl::string_view agent) {
  absl::MutexLock lock(&mu_);
  return OrdersVersionLocked(agent);
}

std::vector<v1::Job> JobBoard::WaitForOrders(absl::string_view agent, absl::Duration timeout,
                                             const std::atomic<bool>* stop) {
  const uint64_t seen = OrdersVersion(agent);
  absl::StatusOr<std::vector<v1::Job>> queued = catalog_->jobs().Queued(agent);
  if (queued.ok() && !queued->empty()) return *std::move(queued);
  if (*stop || timeout <= absl::ZeroDuration()) return {};
  // An order for this agent, a policy edit or shutdown wakes the caller,
  // who looks again.
  {
    absl::MutexLock lock(&mu_);
    auto changed = [this, agent, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return OrdersVersionLocked(agent) != seen;
    };
    mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  }
  queued = catalog_->jobs().Queued(agent);
  if (queued.ok()) return *std::move(queued);
  return {};
}

uint64_t JobBoard::WaitForChange(uint64_t seen_version, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen_version]()
                     ABSL_SHARED_LOCKS_REQUIRED(mu_) { return version_ != seen_version; };
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

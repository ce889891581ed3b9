#include "server/schedule/control_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/log/log.h"
#include "common/path_rules.h"
#include "common/path_text.h"
#include "common/status_macros.h"
#include "server/auth/tenant_key.h"
#include "server/schedule/policy_rules.h"

namespace cairn {
namespace {

constexpr absl::Duration kPingEvery = absl::Seconds(5);
constexpr absl::Duration kTouchEvery = absl::Seconds(30);

}  // namespace

absl::StatusOr<v1::HelloResponse> ControlService::Hello(const Caller& caller,
                                                        const v1::HelloRequest& request) {
  RETURN_IF_ERROR(ValidateAgentName(request.agent(), "agent name"));
  RETURN_IF_ERROR(ValidateAgentName(request.tenant(), "tenant"));
  if (!caller.MayActAsAgent(request.agent()) || !caller.MayUseTenant(request.tenant())) {
    return absl::PermissionDeniedError(absl::StrCat(caller.Describe(), " may not say hello as ",
                                                    request.agent(), " of ", request.tenant()));
  }
  if (request.roots_size() > 1024 || request.hostname().size() > 255 ||
      request.version().size() > 64) {
    return absl::InvalidArgumentError("hello: too many roots or over-long host name/version");
  }
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> existing, catalog_->agents().Get(request.agent()));
  if (existing.has_value() && existing->tenant() != request.tenant()) {
    return absl::PermissionDeniedError(absl::StrCat("agent ", request.agent(),
                                                    " belongs to tenant ", existing->tenant(),
                                                    ", not ", request.tenant()));
  }
  // An agent proves it holds the tenant's key before anything else; a wrong
  // key is refused here, at connect, not chunk by chunk.
  if (caller.kind == Caller::Kind::kAgent || !request.key_check().empty()) {
    RETURN_IF_ERROR(CheckTenantKey(catalog_->agents(), request.tenant(), request.key_check()));
  }
  int64_t now = absl::ToUnixMillis(clock_());
  v1::AgentInfo info = existing.value_or(v1::AgentInfo());
  info.set_name(request.agent());
  info.set_tenant(request.tenant());
  info.set_hostname(request.hostname());
  info.set_version(request.version());
  // One-shot commands run without the daemon's config send no roots; they
  // must not erase the roots the daemon reported.
  if (request.roots_size() > 0) {
    info.clear_roots();
    for (const std::string& root : request.roots()) info.add_roots(root);
  }
  info.set_last_seen_unix_ms(now);
  RETURN_IF_ERROR(catalog_->agents().Upsert(info));

  v1::HelloResponse response;
  response.set_pending_approval(!caller.approved);
  response.set_server_version(CAIRN_VERSION);
  response.set_max_message_bytes(kMaxGrpcMessageBytes);
  response.set_max_ids_per_call(kMaxIdsPerCall);
  response.set_server_time_unix_ms(now);
  return response;
}

absl::StatusOr<std::unique_ptr<ControlSession>> ControlService::Connect(
    const Caller& caller, const v1::HelloRequest& hello) {
  RETURN_IF_ERROR(Hello(caller, hello).status());
  uint64_t generation;
  bool replaces = false;
  {
    absl::MutexLock lock(&mu_);
    generation = next_generation_++;
    replaces = current_.contains(hello.agent());
    current_[hello.agent()] = generation;
  }
  jobs_->WakeAgent(hello.agent());  // a session this one replaces notices now
  jobs_->SetPresence(hello.agent(), AgentPresence{.online = true});
  log::Info("agent.connected", {{"agent", hello.agent()},
                                {"tenant", caller.tenant},
                                {"version", hello.version()},
                                {"approved", caller.approved},
                                {"replaces_session", replaces}});
  return std::unique_ptr<ControlSession>(new ControlSession(this, hello.agent(), generation));
}

void ControlService::Disconnect(const std::string& agent) {
  {
    absl::MutexLock lock(&mu_);
    current_.erase(agent);
  }
  jobs_->WakeAgent(agent);
}

bool ControlService::IsCurrent(const std::string& agent, uint64_t generation) {
  absl::MutexLock lock(&mu_);
  auto it = current_.find(agent);
  return it != current_.end() && it->second == generation;
}

bool ControlService::End(const std::string& agent, uint64_t generation) {
  absl::MutexLock lock(&mu_);
  auto it = current_.find(agent);
  if (it == current_.end() || it->second != generation) return false;
  current_.erase(it);
  return true;
}

ControlSession::~ControlSession() {
  Stop();
  ControlService& s = *service_;
  // A replaced session leaves presence to its successor.
  if (s.End(agent_, generation_)) {
    s.jobs_->SetPresence(agent_, AgentPresence{.online = false});
    log::Info("agent.disconnected", {{"agent", agent_}});
  }
  // Orders this session carried that never finished cannot finish now.
  absl::flat_hash_set<std::string> dispatched;
  {
    absl::MutexLock lock(&mu_);
    dispatched.swap(dispatched_);
  }
  for (const std::string& id : dispatched) {
    absl::StatusOr<std::optional<v1::Job>> job = s.catalog_->jobs().Get(id);
    if (!job.ok() || !job->has_value()) continue;
    v1::Job& j = **job;
    if (j.state() != v1::JOB_STATE_RUNNING || j.kind() != v1::JOB_KIND_RESTORE) continue;
    j.set_state(v1::JOB_STATE_FAILED);
    j.set_error("the agent disconnected before the job finished");
    j.set_finished_unix_ms(absl::ToUnixMillis(s.clock_()));
    // Nobody is left to tell: the job stays RUNNING in the catalog if this
    // fails, and ends when its agent next reports it.
    s.jobs_->Update(j).IgnoreError();
  }
}

void ControlSession::Stop() {
  stop_ = true;
  service_->jobs_->WakeAgent(agent_);
}

absl::StatusOr<std::vector<v1::ServerOrder>> ControlSession::NextOrders(absl::Duration wait) {
  ControlService& s = *service_;
  if (stop_) return absl::CancelledError("the control session is ending");
  auto closed = [&] {
    return absl::AbortedError(absl::StrCat("this control stream of agent ", agent_,
                                           " is closed: the agent opened a newer one, or it "
                                           "was revoked"));
  };
  if (!s.IsCurrent(agent_, generation_)) return closed();
  std::vector<v1::ServerOrder> out;
  // The agent's policies, whenever they differ from what it has.
  ASSIGN_OR_RETURN(PolicySnapshot policies, s.policies_->Current());
  if (policies.version != sent_policy_version_) {
    v1::ServerOrder order;
    order.mutable_policies();
    for (v1::Policy& p : PoliciesForAgent(*policies.policies, agent_)) {
      *order.mutable_policies()->add_policy() = std::move(p);
    }
    std::string serialized = order.SerializeAsString();
    sent_policy_version_ = policies.version;
    if (serialized != sent_policies_) {
      sent_policies_ = std::move(serialized);
      out.push_back(std::move(order));
    }
  }
  std::vector<v1::Job> queued =
      s.jobs_->WaitForOrders(agent_, out.empty() ? wait : absl::ZeroDuration(), &stop_);
  // Nothing is handed to a session that ended while it waited.
  if (!s.IsCurrent(agent_, generation_)) return closed();
  for (v1::Job& job : queued) {
    v1::ServerOrder order;
    order.set_job_id(job.id());
    if (job.kind() == v1::JOB_KIND_RESTORE) {
      *order.mutable_restore() = job.restore();
    } else if (job.kind() == v1::JOB_KIND_BACKUP) {
      *order.mutable_backup() = job.backup();
    } else if (job.kind() == v1::JOB_KIND_VERIFY) {
      *order.mutable_verify() = job.verify();
    } else {
      continue;
    }
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_started_unix_ms(absl::ToUnixMillis(s.clock_()));
    RETURN_IF_ERROR(s.jobs_->Update(job));
    {
      absl::MutexLock lock(&mu_);
      dispatched_.insert(job.id());
    }
    out.push_back(std::move(order));
  }
  // A ping now and then keeps the stream honest: a dead agent makes the write fail.
  if (out.empty() && absl::Now() - last_ping_ > kPingEvery) {
    out.emplace_back().mutable_ping();
    last_ping_ = absl::Now();
  }
  return out;
}

void ControlSession::OnEvent(const v1::AgentEvent& event) {
  ControlService& s = *service_;
  // "Last seen" to within kTouchEvery: a thousand agents' heartbeats are
  // not a catalog write each.
  const absl::Time now = s.clock_();
  if (now - last_touch_ >= kTouchEvery) {
    s.catalog_->agents().Touch(agent_, absl::ToUnixMillis(now)).IgnoreError();
    last_touch_ = now;
  }
  if (event.has_heartbeat()) {
    const v1::Heartbeat& beat = event.heartbeat();
    s.jobs_->SetPresence(
        agent_, AgentPresence{.online = true,
                              .pending_files = beat.pending_files(),
                              .pending_bytes = beat.pending_bytes(),
                              .last_change_unix_ms = beat.last_change_unix_ms(),
                              .watch_overflows = beat.watch_overflows(),
                              .watcher_problem = TruncateUtf8(beat.watcher_problem(), 512)});
  } else if (event.has_job_update()) {
    UpdateProgress(event.job_update());
  }
}

void ControlSession::UpdateProgress(const v1::JobUpdate& update) {
  ControlService& s = *service_;
  absl::StatusOr<std::optional<v1::Job>> job = s.catalog_->jobs().Get(update.job_id());
  if (!job.ok() || !job->has_value()) return;
  v1::Job& j = **job;
  if (j.agent() != agent_ || j.state() != v1::JOB_STATE_RUNNING) return;
  v1::JobProgress progress = update.progress();
  // Totals the server knew (from the snapshot) stay unless the agent knows better.
  if (progress.files_total() == 0) progress.set_files_total(j.progress().files_total());
  if (progress.bytes_total() == 0) progress.set_bytes_total(j.progress().bytes_total());
  if (progress.current_path().size() > kMaxPathTotalBytes) {
    progress.set_current_path(TruncateUtf8(progress.current_path(), kMaxPathTotalBytes));
  }
  *j.mutable_progress() = std::move(progress);
  // Progress is advisory: a lost update is replaced by the next one.
  s.jobs_->Update(j).IgnoreError();
}

}  // namespace cairn

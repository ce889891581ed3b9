#include "agent/agent_daemon.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/agent_identity.h"
#include "agent/backup_runner.h"
#include "agent/restore_executor.h"
#include "agent/snapshot_verifier.h"
#include "common/log/log.h"
#include "common/path_text.h"

namespace cairn {

AgentDaemon::AgentDaemon(const v1::AgentConfig& config, const AgentCrypto& crypto,
                         v1::ClientCredentials credentials,
                         std::vector<std::string> protected_paths)
    : config_(config),
      crypto_(crypto),
      protected_paths_(std::move(protected_paths)),
      credentials_(std::move(credentials)),
      connection_(config.server(), credentials_) {}

void AgentDaemon::RenewCertificateIfDue() {
  absl::MutexLock lock(&renew_mu_);
  const absl::Time now = absl::Now();
  if (now < next_renewal_check_) return;
  next_renewal_check_ = now + absl::Hours(1);
  absl::StatusOr<bool> renewed = RenewIfDue(&connection_, config_, &credentials_, now);
  if (!renewed.ok()) {
    log::Warn("certificate.renew_failed",
              {{"error", renewed.status()}, {"retry_in_seconds", absl::Hours(1)}});
  } else if (*renewed) {
    log::Info("certificate.renewed");
  }
}

void AgentDaemon::Run(const std::atomic<bool>* stop) {
  // The config's roots are watched from the start; policies add more.
  ApplyPolicies(v1::PolicySet());
  std::thread worker([this, stop] { WorkLoop(stop); });
  absl::Duration backoff = absl::Milliseconds(200);
  while (!*stop) {
    absl::Time started = absl::Now();
    RenewCertificateIfDue();
    absl::Status status = Session(stop);
    if (*stop) break;
    if (absl::Now() - started > absl::Seconds(30)) backoff = absl::Milliseconds(200);
    log::Warn("control.disconnected",
              {{"server", config_.server()}, {"error", status}, {"retry_in_seconds", backoff}});
    for (absl::Time until = absl::Now() + backoff; absl::Now() < until && !*stop;) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
  {
    absl::MutexLock lock(&mu_);
    orders_.clear();
  }
  worker.join();
  absl::MutexLock lock(&protectors_mu_);
  protectors_.clear();
}

void AgentDaemon::ApplyPolicies(const v1::PolicySet& policies) {
  std::map<std::string, ProtectionSettings> wanted;
  auto settings_for = [&](const std::string& root) -> ProtectionSettings& {
    auto [it, inserted] = wanted.try_emplace(root);
    if (inserted) {
      it->second.root = root;
      it->second.excludes.assign(config_.excludes().begin(), config_.excludes().end());
    }
    return it->second;
  };
  for (const std::string& root : config_.roots()) settings_for(root);
  int nice = 0;
  bool idle_io = false;
  for (const v1::Policy& policy : policies.policy()) {
    std::vector<std::string> roots(policy.roots().begin(), policy.roots().end());
    if (roots.empty()) roots.assign(config_.roots().begin(), config_.roots().end());
    for (const std::string& root : roots) {
      ProtectionSettings& s = settings_for(root);
      if (policy.continuous()) {
        absl::Duration interval = absl::Seconds(policy.interval_seconds());
        absl::Duration quiet = absl::Seconds(policy.quiet_seconds());
        s.interval = s.continuous ? std::min(s.interval, interval) : interval;
        s.quiet = s.continuous ? std::min(s.quiet, quiet) : quiet;
        s.continuous = true;
      }
      for (const auto& g : policy.consistency_groups()) s.groups.push_back(g);
      for (const auto& e : policy.excludes()) s.excludes.push_back(e);
      uint64_t bw = policy.throttle().bandwidth_bytes_per_second();
      if (bw > 0 && (s.bandwidth_bytes_per_second == 0 || bw < s.bandwidth_bytes_per_second)) {
        s.bandwidth_bytes_per_second = bw;
      }
      uint32_t workers = policy.throttle().workers();
      if (workers > 0 && (s.workers == 0 || workers < s.workers)) s.workers = workers;
    }
    nice = std::max(nice, policy.throttle().nice());
    idle_io |= policy.throttle().idle_io();
  }
  // Process-wide priorities: training jobs on this node come first.
  if (nice > 0) setpriority(PRIO_PROCESS, 0, nice);
  if (idle_io) {
    constexpr int kIoprioWhoProcess = 1, kIoprioClassIdle = 3, kIoprioClassShift = 13;
    syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift);
  }
  absl::MutexLock lock(&protectors_mu_);
  for (auto it = protectors_.begin(); it != protectors_.end();) {
    if (!wanted.contains(it->first)) {
      it = protectors_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [root, settings] : wanted) {
    auto it = protectors_.find(root);
    if (it != protectors_.end()) {
      it->second->Update(settings);
      continue;
    }
    absl::StatusOr<std::unique_ptr<RootProtector>> p =
        RootProtector::Start(settings, config_, crypto_, &connection_);
    if (!p.ok()) {
      log::Error("protect.failed", {{"root", root}, {"error", p.status()}});
      continue;
    }
    protectors_[root] = *std::move(p);
  }
}

RootProtector* AgentDaemon::ProtectorFor(const std::string& root) {
  absl::MutexLock lock(&protectors_mu_);
  auto it = protectors_.find(root);
  return it == protectors_.end() ? nullptr : it->second.get();
}

v1::Heartbeat AgentDaemon::Heartbeat() {
  v1::Heartbeat beat;
  beat.set_agent_time_unix_ms(absl::ToUnixMillis(absl::Now()));
  absl::MutexLock lock(&protectors_mu_);
  absl::Time last_change = absl::InfinitePast();
  std::string problems;
  for (auto& [root, p] : protectors_) {
    ProtectionState s = p->state();
    beat.set_pending_files(beat.pending_files() + s.pending_paths);
    beat.set_watch_overflows(beat.watch_overflows() + s.overflows);
    beat.set_watched_directories(beat.watched_directories() + s.watched_directories);
    last_change = std::max(last_change, s.last_change);
    if (!s.problem.empty()) absl::StrAppend(&problems, problems.empty() ? "" : "; ", s.problem);
  }
  if (last_change != absl::InfinitePast()) {
    beat.set_last_change_unix_ms(absl::ToUnixMillis(last_change));
  }
  beat.set_watcher_problem(TruncateUtf8(PathToText(problems), 512));
  return beat;
}

absl::Status AgentDaemon::Session(const std::atomic<bool>* stop) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentEvent, v1::ServerOrder>> stream =
      connection_.stub()->Control(&context);
  v1::AgentEvent hello;
  *hello.mutable_hello() = MakeHello(config_, crypto_, true);
  if (!stream->Write(hello)) {
    return FromGrpcStatus(stream->Finish());
  }
  {
    absl::MutexLock lock(&mu_);
    stream_ = stream.get();
  }
  log::Info("control.connected", {{"agent", config_.name()}, {"server", config_.server()}});
  // A new control session may mean a restarted server, which has forgotten
  // the data session (docs/security.md, "The data channel").
  connection_.ForgetDataSession();
  // Heartbeats, and noticing `stop`.
  std::atomic<bool> session_over{false};
  std::thread heartbeat([&] {
    absl::Time next = absl::Now();
    while (!session_over && !*stop) {
      if (absl::Now() >= next) {
        RenewCertificateIfDue();
        v1::AgentEvent beat;
        *beat.mutable_heartbeat() = Heartbeat();
        absl::MutexLock lock(&mu_);
        if (stream_ != nullptr) stream_->Write(beat);
        next = absl::Now() + absl::Seconds(5);
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    context.TryCancel();
  });
  v1::ServerOrder order;
  while (stream->Read(&order)) {
    if (order.has_ping()) continue;
    if (order.has_policies()) {
      ApplyPolicies(order.policies());
      continue;
    }
    absl::MutexLock lock(&mu_);
    orders_.push_back(order);
  }
  session_over = true;
  heartbeat.join();
  {
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
  }
  return FromGrpcStatus(stream->Finish());
}

void AgentDaemon::WorkLoop(const std::atomic<bool>* stop) {
  while (!*stop) {
    v1::ServerOrder order;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !orders_.empty(); };
      if (!mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(200))) continue;
      order = std::move(orders_.front());
      orders_.pop_front();
    }
    Execute(order);
  }
}

void AgentDaemon::SendUpdate(const std::string& job_id, v1::JobState state,
                             const v1::JobProgress& progress) {
  v1::AgentEvent event;
  event.mutable_job_update()->set_job_id(job_id);
  event.mutable_job_update()->set_state(state);
  *event.mutable_job_update()->mutable_progress() = progress;
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) stream_->Write(event);
}

void AgentDaemon::FinishJob(const std::string& job_id, v1::JobState state, const std::string& error,
                            const std::vector<v1::FileError>& errors,
                            const v1::JobProgress& progress) {
  v1::FinishJobRequest finish;
  finish.set_job_id(job_id);
  finish.set_state(state);
  finish.set_error(TruncateUtf8(PathToText(error), 4096));
  for (const v1::FileError& e : errors) *finish.add_file_errors() = e;
  *finish.mutable_progress() = progress;
  absl::Status status = connection_.Call(&v1::AgentService::Stub::FinishJob, finish).status();
  if (!status.ok()) {
    log::Error("job.report_failed", {{"job", job_id}, {"error", status}});
  }
}

void AgentDaemon::Execute(const v1::ServerOrder& order) {
  const std::string& job_id = order.job_id();
  if (order.has_backup()) {
    std::vector<std::string> roots(order.backup().roots().begin(), order.backup().roots().end());
    if (roots.empty()) roots.assign(config_.roots().begin(), config_.roots().end());
    for (const std::string& root : roots) {
      BackupOptions options;
      options.root = root;
      options.level = order.backup().level();
      options.job_id = job_id;
      options.progress = [this](const std::string& id, const v1::JobProgress& progress) {
        SendUpdate(id, v1::JOB_STATE_RUNNING, progress);
      };
      // A root this daemon protects is backed up with its change journal.
      RootProtector* protector = ProtectorFor(root);
      absl::StatusOr<BackupResult> result =
          protector != nullptr ? protector->Backup(options.level, job_id, options.progress)
                               : RunBackup(&connection_, crypto_, config_, options);
      if (!result.ok()) {
        // RunBackup reports failures after the job began; this covers before.
        FinishJob(job_id, v1::JOB_STATE_FAILED, std::string(result.status().message()), {}, {});
        log::Error(
            "backup.failed",
            {{"trigger", "order"}, {"job", job_id}, {"root", root}, {"error", result.status()}});
      } else {
        LogBackupCommitted("order", job_id, root, result->snapshot);
      }
    }
    return;
  }
  if (order.has_restore()) {
    const v1::RestoreOrder& r = order.restore();
    RestoreOptions options;
    options.snapshot_id = r.snapshot_id();
    options.paths.assign(r.paths().begin(), r.paths().end());
    options.target = r.target_directory();
    options.overwrite = r.overwrite();
    options.allow_special = r.allow_special();
    options.protected_paths = protected_paths_;
    // Ordered through the server: only where the agent's config allows.
    options.allowed_targets.assign(config_.restore_targets().begin(),
                                   config_.restore_targets().end());
    options.progress = [this, &job_id](const v1::JobProgress& progress) {
      SendUpdate(job_id, v1::JOB_STATE_RUNNING, progress);
    };
    log::Info("restore.started", {{"job", job_id},
                                  {"snapshot", r.snapshot_id()},
                                  {"target", r.target_directory()},
                                  {"paths", r.paths_size()}});
    absl::StatusOr<RestoreResult> result = RunRestore(&connection_, crypto_, options);
    if (!result.ok()) {
      log::Error("restore.failed", {{"job", job_id}, {"error", result.status()}});
      FinishJob(job_id, v1::JOB_STATE_FAILED, std::string(result.status().message()), {}, {});
      return;
    }
    log::Event(result->failed == 0 ? log::Level::kInfo : log::Level::kWarn, "restore.finished",
               {{"job", job_id},
                {"files", result->files},
                {"directories", result->directories},
                {"bytes", result->bytes},
                {"failed", result->failed}});
    v1::JobProgress progress;
    progress.set_files_done(result->files);
    progress.set_bytes_done(result->bytes);
    FinishJob(job_id, result->failed == 0 ? v1::JOB_STATE_SUCCEEDED : v1::JOB_STATE_PARTIAL, "",
              result->errors, progress);
    return;
  }
  if (order.has_verify()) {
    VerifyOptions options;
    options.snapshot_ids.assign(order.verify().snapshot_ids().begin(),
                                order.verify().snapshot_ids().end());
    options.sample_percent = order.verify().sample_percent();
    options.progress = [this, &job_id](const v1::JobProgress& progress) {
      SendUpdate(job_id, v1::JOB_STATE_RUNNING, progress);
    };
    absl::StatusOr<VerifyResult> result = RunVerify(&connection_, crypto_, options);
    if (!result.ok()) {
      log::Error("verify.failed", {{"job", job_id}, {"error", result.status()}});
      FinishJob(job_id, v1::JOB_STATE_FAILED, std::string(result.status().message()), {}, {});
      return;
    }
    log::Event(
        result->damaged == 0 && result->missing == 0 ? log::Level::kInfo : log::Level::kError,
        "verify.finished",
        {{"job", job_id},
         {"snapshots", result->snapshots},
         {"chunks", result->chunks_checked},
         {"bytes", result->bytes_checked},
         {"damaged", result->damaged},
         {"missing", result->missing}});
    v1::JobProgress progress;
    progress.set_files_done(result->chunks_checked);
    progress.set_bytes_done(result->bytes_checked);
    const bool clean = result->damaged == 0 && result->missing == 0;
    FinishJob(job_id, clean ? v1::JOB_STATE_SUCCEEDED : v1::JOB_STATE_PARTIAL,
              clean ? "" : VerifySummary(*result), result->problems, progress);
  }
}

}  // namespace cairn

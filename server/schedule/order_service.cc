#include "server/schedule/order_service.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/job_states.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/status_macros.h"
#include "common/ids.h"
#include "server/schedule/policy_rules.h"
#include "server/schedule/verify_jobs.h"

namespace cairn {
namespace {

uint32_t ListLimit(uint32_t requested) {
  if (requested == 0) return kDefaultListLimit;
  return std::min(requested, kMaxListLimit);
}

absl::Status CheckAbsolutePath(absl::string_view path, absl::string_view what) {
  if (path.empty() || path[0] != '/' || path.size() > kMaxPathTotalBytes ||
      path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be an absolute path"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::OrderResponse> OrderService::OrderRestore(
    const Caller& caller, const v1::OrderRestoreRequest& request) {
  const v1::RestoreOrder& order = request.order();
  // Replacing files, or making device nodes and set-id files, on a machine
  // is more than reading a backup back: admins only.
  if ((order.overwrite() || order.allow_special()) && !caller.HasRole(Role::kAdmin)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "a restore with ", order.overwrite() ? "overwrite" : "special files allowed",
        " needs the admin role; ", caller.Describe(), " lacks it"));
  }
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot,
                   catalog_->snapshots().Get(order.snapshot_id()));
  if (!snapshot.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no snapshot ", order.snapshot_id(), "; see `cairnctl snapshots`"));
  }
  std::string target_agent = order.target_agent().empty() ? snapshot->agent()
                                                          : order.target_agent();
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(target_agent));
  if (!agent.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no agent ", target_agent, "; see `cairnctl agents`"));
  }
  if (agent->tenant() != snapshot->tenant()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "agent ", target_agent, " is of tenant ", agent->tenant(), " and cannot read ",
        snapshot->tenant(), "'s snapshot (it lacks the key)"));
  }
  const std::string& target = order.target_directory();
  RETURN_IF_ERROR(CheckAbsolutePath(target, "the target directory"));
  if (target.find_first_not_of('/') == std::string::npos) {
    return absl::InvalidArgumentError("restoring into / is refused; name a directory");
  }
  if (order.paths_size() > 1000) return absl::InvalidArgumentError("at most 1000 paths per restore");
  for (const std::string& path : order.paths()) RETURN_IF_ERROR(ValidateRelativePath(path));
  v1::Job job;
  job.set_kind(v1::JOB_KIND_RESTORE);
  job.set_state(v1::JOB_STATE_QUEUED);
  job.set_agent(target_agent);
  job.set_snapshot_id(snapshot->id());
  *job.mutable_restore() = order;
  job.mutable_restore()->set_target_agent(target_agent);
  if (order.paths().empty()) {
    // Totals for progress bars, known when the whole snapshot is restored.
    job.mutable_progress()->set_files_total(snapshot->stats().files());
    job.mutable_progress()->set_bytes_total(snapshot->stats().bytes_scanned());
  }
  ASSIGN_OR_RETURN(job, jobs_->Create(job));
  v1::OrderResponse response;
  *response.mutable_job() = std::move(job);
  return response;
}

absl::StatusOr<v1::OrderResponse> OrderService::OrderBackup(
    const Caller&, const v1::OrderBackupRequest& request) {
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(request.agent()));
  if (!agent.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no agent ", request.agent(), "; see `cairnctl agents`"));
  }
  std::vector<std::string> roots(request.order().roots().begin(), request.order().roots().end());
  if (roots.empty()) {
    // The agent's own roots, and those of every policy that covers it.
    roots.assign(agent->roots().begin(), agent->roots().end());
    ASSIGN_OR_RETURN(PolicySnapshot policies, policies_->Current());
    for (const v1::Policy& p : PoliciesForAgent(*policies.policies, agent->name())) {
      for (const std::string& root : p.roots()) {
        if (std::find(roots.begin(), roots.end(), root) == roots.end()) roots.push_back(root);
      }
    }
  }
  if (roots.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "agent ", request.agent(),
        " has no roots (none configured, and no policy covering it names any); name the roots "
        "to back up"));
  }
  for (const std::string& root : roots) RETURN_IF_ERROR(CheckAbsolutePath(root, "roots"));
  v1::OrderResponse response;
  for (const std::string& root : roots) {
    v1::Job job;
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(v1::JOB_STATE_QUEUED);
    job.set_agent(request.agent());
    job.mutable_backup()->add_roots(root);
    job.mutable_backup()->set_level(request.order().level() == v1::BACKUP_LEVEL_UNSPECIFIED
                                        ? v1::BACKUP_LEVEL_INCREMENTAL
                                        : request.order().level());
    ASSIGN_OR_RETURN(job, jobs_->Create(job));
    if (!response.has_job()) *response.mutable_job() = std::move(job);
  }
  return response;
}

absl::StatusOr<v1::VerifyResponse> OrderService::OrderVerify(const Caller&,
                                                             const v1::VerifyRequest& request) {
  RETURN_IF_ERROR(ValidateAgentName(request.agent(), "agent"));
  ASSIGN_OR_RETURN(v1::Job job, MakeVerifyJob(catalog_, request.agent(), request.snapshot_id(),
                                              request.sample_percent()));
  ASSIGN_OR_RETURN(job, jobs_->Create(job));
  v1::VerifyResponse response;
  *response.mutable_job() = std::move(job);
  return response;
}

absl::StatusOr<v1::ListJobsResponse> OrderService::ListJobs(const Caller&,
                                                            const v1::ListJobsRequest& request) {
  ASSIGN_OR_RETURN(std::vector<v1::Job> jobs,
                   catalog_->jobs().List(request.agent(), ListLimit(request.limit()), false));
  v1::ListJobsResponse response;
  for (v1::Job& j : jobs) *response.add_jobs() = std::move(j);
  return response;
}

absl::StatusOr<v1::GetJobResponse> OrderService::GetJob(const Caller&,
                                                        const v1::GetJobRequest& request) {
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(request.job_id()));
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", request.job_id()));
  v1::GetJobResponse response;
  *response.mutable_job() = *std::move(job);
  return response;
}

absl::Status OrderService::WatchJob(const Caller&, const v1::GetJobRequest& request,
                                    absl::FunctionRef<bool(const v1::Job&)> emit,
                                    absl::FunctionRef<bool()> cancelled) {
  std::string last;
  uint64_t version = jobs_->version();
  while (!cancelled()) {
    ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(request.job_id()));
    if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", request.job_id()));
    std::string now = job->SerializeAsString();
    if (now != last) {
      if (!emit(*job)) return absl::CancelledError("the watcher went away");
      last = std::move(now);
    }
    if (IsFinished(job->state())) return absl::OkStatus();
    version = jobs_->WaitForChange(version, absl::Milliseconds(500));
  }
  return absl::CancelledError("the watcher went away");
}

absl::Status OrderService::FinishJob(const Caller& caller, const v1::FinishJobRequest& request) {
  if (!IsFinished(request.state())) return absl::InvalidArgumentError("FinishJob needs a final state");
  if (static_cast<size_t>(request.file_errors_size()) > kMaxFileErrors ||
      request.error().size() > 4096) {
    return absl::ResourceExhaustedError("too many file errors or an over-long error");
  }
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(request.job_id()));
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", request.job_id()));
  if (!caller.MayActAsAgent(job->agent())) {
    return absl::PermissionDeniedError(
        absl::StrCat(caller.Describe(), " may not finish job ", request.job_id()));
  }
  if (IsFinished(job->state())) return absl::OkStatus();  // retried
  job->set_state(request.state());
  job->set_error(request.error());
  *job->mutable_file_errors() = request.file_errors();
  if (request.has_progress()) {
    v1::JobProgress progress = request.progress();
    if (progress.files_total() == 0) progress.set_files_total(job->progress().files_total());
    if (progress.bytes_total() == 0) progress.set_bytes_total(job->progress().bytes_total());
    *job->mutable_progress() = progress;
  }
  job->set_finished_unix_ms(absl::ToUnixMillis(clock_()));
  return jobs_->Update(*job);
}

}  // namespace cairn

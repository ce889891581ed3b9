#include "server/rpc/admin_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/status_macros.h"
#include "server/maintenance/garbage_collector.h"
#include "server/maintenance/pack_verifier.h"
#include "server/schedule/policy_rules.h"
#include "server/maintenance/retention.h"
#include "server/browse/snapshot_browser.h"

namespace cairn {
namespace {

using grpc::ServerContext;

uint32_t ListLimit(uint32_t requested) {
  if (requested == 0) return kDefaultListLimit;
  return std::min(requested, kMaxListLimit);
}

bool IsFinished(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_PARTIAL ||
         state == v1::JOB_STATE_FAILED || state == v1::JOB_STATE_CANCELLED;
}

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  AdminServiceImpl(Repository* repository, JobBoard* jobs, absl::Time started)
      : repository_(repository),
        catalog_(repository->catalog()),
        jobs_(jobs),
        browser_(repository->catalog()),
        started_(started) {}

  grpc::Status GetStatus(ServerContext*, const v1::GetStatusRequest*,
                         v1::GetStatusResponse* response) override {
    return ReplyWith(Status(), response);
  }

  grpc::Status ListAgents(ServerContext*, const v1::ListAgentsRequest*,
                          v1::ListAgentsResponse* response) override {
    absl::StatusOr<std::vector<v1::AgentInfo>> agents = Agents();
    if (!agents.ok()) return ToGrpcStatus(agents.status());
    for (v1::AgentInfo& a : *agents) *response->add_agents() = std::move(a);
    return grpc::Status::OK;
  }

  grpc::Status ListJobs(ServerContext*, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override {
    absl::StatusOr<std::vector<v1::Job>> jobs =
        catalog_->jobs().List(request->agent(), ListLimit(request->limit()), false);
    if (!jobs.ok()) return ToGrpcStatus(jobs.status());
    for (v1::Job& j : *jobs) *response->add_jobs() = std::move(j);
    return grpc::Status::OK;
  }

  grpc::Status GetJob(ServerContext*, const v1::GetJobRequest* request,
                      v1::GetJobResponse* response) override {
    absl::StatusOr<std::optional<v1::Job>> job = catalog_->jobs().Get(request->job_id());
    if (!job.ok()) return ToGrpcStatus(job.status());
    if (!job->has_value()) {
      return ToGrpcStatus(absl::NotFoundError(absl::StrCat("no job ", request->job_id())));
    }
    *response->mutable_job() = **job;
    return grpc::Status::OK;
  }

  grpc::Status WatchJob(ServerContext* context, const v1::GetJobRequest* request,
                        grpc::ServerWriter<v1::Job>* writer) override {
    std::string last;
    uint64_t version = jobs_->version();
    while (!context->IsCancelled()) {
      absl::StatusOr<std::optional<v1::Job>> job = catalog_->jobs().Get(request->job_id());
      if (!job.ok()) return ToGrpcStatus(job.status());
      if (!job->has_value()) {
        return ToGrpcStatus(absl::NotFoundError(absl::StrCat("no job ", request->job_id())));
      }
      std::string now = (*job)->SerializeAsString();
      if (now != last) {
        if (!writer->Write(**job)) return grpc::Status::CANCELLED;
        last = std::move(now);
      }
      if (IsFinished((*job)->state())) return grpc::Status::OK;
      version = jobs_->WaitForChange(version, absl::Milliseconds(500));
    }
    return grpc::Status::CANCELLED;
  }

  grpc::Status ListSnapshots(ServerContext*, const v1::ListSnapshotsRequest* request,
                             v1::ListSnapshotsResponse* response) override {
    absl::StatusOr<std::vector<v1::Snapshot>> snapshots =
        catalog_->snapshots().List(request->agent(), ListLimit(request->limit()));
    if (!snapshots.ok()) return ToGrpcStatus(snapshots.status());
    for (v1::Snapshot& s : *snapshots) *response->add_snapshots() = std::move(s);
    return grpc::Status::OK;
  }

  grpc::Status ListFiles(ServerContext*, const v1::ListFilesRequest* request,
                         v1::ListFilesResponse* response) override {
    return ReplyWith(browser_.ListFiles(*request), response);
  }

  grpc::Status DiffSnapshots(ServerContext*, const v1::DiffSnapshotsRequest* request,
                             v1::DiffSnapshotsResponse* response) override {
    return ReplyWith(browser_.Diff(*request), response);
  }

  grpc::Status OrderRestore(ServerContext*, const v1::OrderRestoreRequest* request,
                            v1::OrderResponse* response) override {
    return ReplyWith(Restore(request->order()), response);
  }

  grpc::Status OrderBackup(ServerContext*, const v1::OrderBackupRequest* request,
                           v1::OrderResponse* response) override {
    return ReplyWith(Backup(*request), response);
  }

  grpc::Status ListPolicies(ServerContext*, const v1::ListPoliciesRequest*,
                            v1::ListPoliciesResponse* response) override {
    absl::StatusOr<std::vector<v1::Policy>> policies = catalog_->policies().List();
    if (!policies.ok()) return ToGrpcStatus(policies.status());
    for (v1::Policy& p : *policies) *response->add_policies() = std::move(p);
    return grpc::Status::OK;
  }

  grpc::Status GetPolicy(ServerContext*, const v1::GetPolicyRequest* request,
                         v1::Policy* response) override {
    absl::StatusOr<std::optional<v1::Policy>> policy = catalog_->policies().Get(request->name());
    if (!policy.ok()) return ToGrpcStatus(policy.status());
    if (!policy->has_value()) {
      return ToGrpcStatus(absl::NotFoundError(
          absl::StrCat("no policy ", request->name(), "; see `cairnctl policy list`")));
    }
    *response = **policy;
    return grpc::Status::OK;
  }

  grpc::Status SetPolicy(ServerContext*, const v1::Policy* request,
                         v1::Policy* response) override {
    v1::Policy policy = *request;
    absl::Status status = NormalizePolicy(&policy);
    if (status.ok()) status = catalog_->policies().Put(policy);
    if (!status.ok()) return ToGrpcStatus(status);
    jobs_->Notify();  // control streams push the change to agents
    *response = std::move(policy);
    return grpc::Status::OK;
  }

  grpc::Status DeletePolicy(ServerContext*, const v1::GetPolicyRequest* request,
                            v1::DeletePolicyResponse*) override {
    absl::Status status = catalog_->policies().Delete(request->name());
    if (status.ok()) jobs_->Notify();
    return ToGrpcStatus(status);
  }

  grpc::Status Verify(ServerContext*, const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override {
    std::vector<Tier*> tiers;
    for (const auto& t : repository_->tiers()) tiers.push_back(t.get());
    PackVerifier verifier(catalog_, tiers);
    absl::StatusOr<VerifyReport> report = verifier.VerifyAll(request->read_data());
    if (!report.ok()) return ToGrpcStatus(report.status());
    response->set_packs_checked(report->packs_checked);
    response->set_chunks_checked(report->chunks_checked);
    for (std::string& p : report->problems) response->add_problems(std::move(p));
    return grpc::Status::OK;
  }

  grpc::Status Prune(ServerContext*, const v1::PruneRequest* request,
                     v1::PruneResponse* response) override {
    absl::StatusOr<std::vector<v1::Policy>> policies = catalog_->policies().List();
    if (!policies.ok()) return ToGrpcStatus(policies.status());
    return ReplyWith(PruneSnapshots(catalog_, *policies, *request, repository_->options().clock()),
                     response);
  }

  grpc::Status CollectGarbage(ServerContext*, const v1::GcRequest* request,
                              v1::GcResponse* response) override {
    GcOptions options;
    options.dry_run = request->dry_run();
    // proto3 cannot tell 0 from unset: 0 means the default.
    if (request->compact_below() != 0) options.compact_below = request->compact_below();
    options.grace = repository_->options().gc_grace;
    absl::StatusOr<GcReport> report = GarbageCollector(repository_).Run(options);
    if (!report.ok()) return ToGrpcStatus(report.status());
    *response = report->ToProto();
    return grpc::Status::OK;
  }

 private:
  absl::StatusOr<std::vector<v1::AgentInfo>> Agents() {
    ASSIGN_OR_RETURN(std::vector<v1::AgentInfo> agents, catalog_->agents().List());
    ASSIGN_OR_RETURN(std::vector<v1::Policy> policies, catalog_->policies().List());
    int64_t now = absl::ToUnixMillis(absl::Now());
    for (v1::AgentInfo& a : agents) {
      AgentPresence presence = jobs_->Presence(a.name());
      a.set_online(presence.online);
      a.set_pending_files(presence.pending_files);
      a.set_pending_bytes(presence.pending_bytes);
      a.set_last_change_unix_ms(presence.last_change_unix_ms);
      a.set_watch_overflows(presence.watch_overflows);
      a.set_watcher_problem(presence.watcher_problem);
      // RPO: the tightest objective of the agent's policies, against its
      // newest snapshot (server clock).
      for (const v1::Policy& p : PoliciesForAgent(policies, a.name())) {
        a.add_policies(p.name());
        if (p.rpo_seconds() > 0 &&
            now - a.last_backup_unix_ms() > static_cast<int64_t>(p.rpo_seconds()) * 1000) {
          a.set_rpo_violated(true);
        }
      }
    }
    return agents;
  }

  absl::StatusOr<v1::GetStatusResponse> Status() {
    v1::GetStatusResponse response;
    response.set_version(CAIRN_VERSION);
    response.set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - started_));
    for (const auto& tier : repository_->tiers()) {
      v1::TierStatus* t = response.add_tiers();
      t->set_name(tier->name());
      t->set_kind(tier->kind());
      absl::StatusOr<TierSpace> space = tier->Space();
      if (!space.ok()) {
        response.add_problems(absl::StrCat("tier ", tier->name(), ": ", space.status().message()));
        continue;
      }
      t->set_used_bytes(space->used_bytes);
      t->set_free_bytes(space->free_bytes);
      t->set_packs(space->objects);
    }
    ASSIGN_OR_RETURN(CatalogTotals totals, catalog_->Totals());
    response.set_logical_bytes(totals.logical_bytes);
    response.set_unique_bytes(totals.unique_bytes);
    response.set_stored_bytes(totals.stored_bytes);
    response.set_chunks(totals.chunks);
    response.set_snapshots(totals.snapshots);
    if (totals.unique_bytes > 0) {
      response.set_dedup_ratio(static_cast<double>(totals.logical_bytes) / totals.unique_bytes);
    }
    if (totals.stored_bytes > 0) {
      response.set_compression_ratio(static_cast<double>(totals.unique_bytes) /
                                     totals.stored_bytes);
    }
    ASSIGN_OR_RETURN(std::vector<v1::AgentInfo> agents, Agents());
    for (v1::AgentInfo& a : agents) {
      if (a.rpo_violated()) {
        response.add_problems(absl::StrCat("agent ", a.name(), " is past its RPO (last backup ",
                                           a.last_backup_unix_ms() == 0 ? "never" : "too old",
                                           ")"));
      }
      *response.add_agents() = std::move(a);
    }
    ASSIGN_OR_RETURN(std::vector<v1::Job> running, catalog_->jobs().List("", 100, true));
    for (v1::Job& j : running) *response.add_running_jobs() = std::move(j);
    ASSIGN_OR_RETURN(std::vector<v1::Job> recent, catalog_->jobs().List("", 10, false));
    for (v1::Job& j : recent) *response.add_recent_jobs() = std::move(j);
    response.set_healthy(response.problems_size() == 0);
    return response;
  }

  absl::StatusOr<v1::OrderResponse> Restore(const v1::RestoreOrder& order) {
    ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot,
                     catalog_->snapshots().Get(order.snapshot_id()));
    if (!snapshot.has_value()) {
      return absl::NotFoundError(absl::StrCat("no snapshot ", order.snapshot_id(),
                                              "; see `cairnctl snapshots`"));
    }
    std::string target_agent = order.target_agent().empty() ? snapshot->agent()
                                                            : order.target_agent();
    ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(target_agent));
    if (!agent.has_value()) {
      return absl::NotFoundError(absl::StrCat("no agent ", target_agent,
                                              "; see `cairnctl agents`"));
    }
    if (agent->tenant() != snapshot->tenant()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "agent ", target_agent, " is of tenant ", agent->tenant(), " and cannot read ",
          snapshot->tenant(), "'s snapshot (it lacks the key)"));
    }
    const std::string& target = order.target_directory();
    if (target.empty() || target[0] != '/' || target.size() > kMaxPathTotalBytes ||
        target.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("the target directory must be an absolute path");
    }
    if (target.find_first_not_of('/') == std::string::npos) {
      return absl::InvalidArgumentError("restoring into / is refused; name a directory");
    }
    if (order.paths_size() > 1000) {
      return absl::InvalidArgumentError("at most 1000 paths per restore");
    }
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

  absl::StatusOr<v1::OrderResponse> Backup(const v1::OrderBackupRequest& request) {
    ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(request.agent()));
    if (!agent.has_value()) {
      return absl::NotFoundError(absl::StrCat("no agent ", request.agent(),
                                              "; see `cairnctl agents`"));
    }
    std::vector<std::string> roots(request.order().roots().begin(),
                                   request.order().roots().end());
    if (roots.empty()) roots.assign(agent->roots().begin(), agent->roots().end());
    if (roots.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "agent ", request.agent(), " has no configured roots; name the roots to back up"));
    }
    v1::OrderResponse response;
    for (const std::string& root : roots) {
      if (root.empty() || root[0] != '/' || root.size() > kMaxPathTotalBytes) {
        return absl::InvalidArgumentError("roots must be absolute paths");
      }
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

  Repository* repository_;
  Catalog* catalog_;
  JobBoard* jobs_;
  SnapshotBrowser browser_;
  absl::Time started_;
};

}  // namespace

std::unique_ptr<v1::AdminService::Service> NewAdminService(Repository* repository,
                                                           JobBoard* jobs,
                                                           absl::Time started) {
  return std::make_unique<AdminServiceImpl>(repository, jobs, started);
}

}  // namespace cairn

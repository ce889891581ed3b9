#include "server/rpc/agent_service.h"

#include <atomic>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/limits.h"
#include "server/schedule/policy_rules.h"

namespace cairn {
namespace {

using grpc::ServerContext;

class AgentServiceImpl final : public v1::AgentService::Service {
 public:
  AgentServiceImpl(Repository* repository, JobBoard* jobs)
      : repository_(repository), jobs_(jobs) {}

  grpc::Status Hello(ServerContext*, const v1::HelloRequest* request,
                     v1::HelloResponse* response) override {
    return ReplyWith(repository_->Hello(*request), response);
  }

  grpc::Status BeginBackup(ServerContext*, const v1::BeginBackupRequest* request,
                           v1::BeginBackupResponse* response) override {
    return ReplyWith(repository_->BeginBackup(*request), response);
  }

  grpc::Status FindMissingChunks(ServerContext*, const v1::FindMissingChunksRequest* request,
                                 v1::FindMissingChunksResponse* response) override {
    return ReplyWith(repository_->FindMissingChunks(*request), response);
  }

  grpc::Status UploadChunks(ServerContext* context,
                            grpc::ServerReader<v1::UploadChunkRequest>* reader,
                            v1::UploadChunksResponse* response) override {
    v1::UploadChunkRequest chunk;
    if (!reader->Read(&chunk)) return grpc::Status::OK;  // an empty stream stores nothing
    absl::StatusOr<std::unique_ptr<PackIngest>> ingest = repository_->StartUpload(chunk.job_id());
    if (!ingest.ok()) return ToGrpcStatus(ingest.status());
    do {
      absl::Status status = (*ingest)->Add(chunk.id(), chunk.size(), chunk.sealed());
      if (!status.ok()) return ToGrpcStatus(status);
    } while (reader->Read(&chunk));
    // A stream the client abandoned half-way stores nothing unfinished.
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    absl::Status status = (*ingest)->Finish();
    if (!status.ok()) return ToGrpcStatus(status);
    const IngestStats& stats = (*ingest)->stats();
    response->set_chunks_stored(stats.chunks_stored);
    response->set_chunks_already_present(stats.chunks_already_present);
    response->set_bytes_stored(stats.bytes_stored);
    return grpc::Status::OK;
  }

  grpc::Status FindMissingTrees(ServerContext*, const v1::FindMissingTreesRequest* request,
                                v1::FindMissingTreesResponse* response) override {
    return ReplyWith(repository_->FindMissingTrees(*request), response);
  }

  grpc::Status PutTrees(ServerContext*, const v1::PutTreesRequest* request,
                        v1::PutTreesResponse* response) override {
    return ReplyWith(repository_->PutTrees(*request), response);
  }

  grpc::Status GetTree(ServerContext*, const v1::GetTreeRequest* request,
                       v1::GetTreeResponse* response) override {
    return ReplyWith(repository_->GetTree(*request), response);
  }

  grpc::Status CommitSnapshot(ServerContext*, const v1::CommitSnapshotRequest* request,
                              v1::CommitSnapshotResponse* response) override {
    return ReplyWith(repository_->CommitSnapshot(*request), response);
  }

  grpc::Status FinishJob(ServerContext*, const v1::FinishJobRequest* request,
                         v1::FinishJobResponse*) override {
    return ToGrpcStatus(repository_->FinishJob(*request));
  }

  grpc::Status ReadChunks(ServerContext* context, const v1::ReadChunksRequest* request,
                          grpc::ServerWriter<v1::ReadChunkResponse>* writer) override {
    if (static_cast<size_t>(request->ids_size()) > kMaxReadIdsPerCall) {
      return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
          request->ids_size(), " ids in one call; at most ", kMaxReadIdsPerCall)));
    }
    absl::StatusOr<int64_t> tenant = repository_->SnapshotTenant(request->snapshot_id());
    if (!tenant.ok()) return ToGrpcStatus(tenant.status());
    v1::ReadChunkResponse chunk;
    for (const std::string& id : request->ids()) {
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      absl::StatusOr<std::string> sealed = repository_->ReadChunk(*tenant, id);
      if (!sealed.ok()) return ToGrpcStatus(sealed.status());
      chunk.set_id(id);
      chunk.set_sealed(*std::move(sealed));
      if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }

  grpc::Status Control(ServerContext* context,
                       grpc::ServerReaderWriter<v1::ServerOrder, v1::AgentEvent>* stream) override {
    v1::AgentEvent event;
    if (!stream->Read(&event) || !event.has_hello()) {
      return ToGrpcStatus(absl::InvalidArgumentError("the control stream starts with hello"));
    }
    absl::StatusOr<v1::HelloResponse> hello = repository_->Hello(event.hello());
    if (!hello.ok()) return ToGrpcStatus(hello.status());
    const std::string agent = event.hello().agent();
    jobs_->SetPresence(agent, AgentPresence{.online = true});

    std::atomic<bool> stop{false};
    absl::flat_hash_set<std::string> dispatched;
    std::thread writer([&] {
      std::string sent_policies;
      absl::Time last_ping = absl::Now();
      while (!stop && !context->IsCancelled()) {
        // The agent's policies, whenever they differ from what it has.
        absl::StatusOr<std::vector<v1::Policy>> all = repository_->catalog()->policies().List();
        if (all.ok()) {
          v1::ServerOrder order;
          for (v1::Policy& p : PoliciesForAgent(*all, agent)) {
            *order.mutable_policies()->add_policy() = std::move(p);
          }
          if (!order.has_policies()) order.mutable_policies();
          std::string serialized = order.SerializeAsString();
          if (serialized != sent_policies) {
            if (!stream->Write(order)) break;
            sent_policies = std::move(serialized);
          }
        }
        for (v1::Job& job : jobs_->WaitForOrders(agent, absl::Seconds(5), &stop)) {
          v1::ServerOrder order;
          order.set_job_id(job.id());
          if (job.kind() == v1::JOB_KIND_RESTORE) {
            *order.mutable_restore() = job.restore();
          } else if (job.kind() == v1::JOB_KIND_BACKUP) {
            *order.mutable_backup() = job.backup();
          } else {
            continue;
          }
          job.set_state(v1::JOB_STATE_RUNNING);
          job.set_started_unix_ms(absl::ToUnixMillis(absl::Now()));
          if (!jobs_->Update(job).ok()) continue;
          dispatched.insert(job.id());
          if (!stream->Write(order)) {
            stop = true;
            break;
          }
        }
        if (stop) break;
        // A ping now and then keeps the stream honest: a dead agent makes
        // Write fail.
        if (absl::Now() - last_ping > absl::Seconds(5)) {
          v1::ServerOrder ping;
          ping.mutable_ping();
          if (!stream->Write(ping)) break;
          last_ping = absl::Now();
        }
      }
    });

    while (stream->Read(&event)) {
      int64_t now = absl::ToUnixMillis(absl::Now());
      repository_->catalog()->agents().Touch(agent, now).IgnoreError();
      if (event.has_heartbeat()) {
        const v1::Heartbeat& beat = event.heartbeat();
        jobs_->SetPresence(agent,
                           AgentPresence{.online = true,
                                         .pending_files = beat.pending_files(),
                                         .pending_bytes = beat.pending_bytes(),
                                         .last_change_unix_ms = beat.last_change_unix_ms(),
                                         .watch_overflows = beat.watch_overflows(),
                                         .watcher_problem = beat.watcher_problem().substr(0, 512)});
      } else if (event.has_job_update()) {
        UpdateProgress(agent, event.job_update());
      }
    }
    stop = true;
    jobs_->WakeAll();
    writer.join();
    jobs_->SetPresence(agent, AgentPresence{.online = false});
    // Orders this stream carried that never finished cannot finish now.
    for (const std::string& id : dispatched) {
      absl::StatusOr<std::optional<v1::Job>> job = repository_->catalog()->jobs().Get(id);
      if (job.ok() && job->has_value() && (*job)->state() == v1::JOB_STATE_RUNNING &&
          (*job)->kind() == v1::JOB_KIND_RESTORE) {
        (*job)->set_state(v1::JOB_STATE_FAILED);
        (*job)->set_error("the agent disconnected before the job finished");
        (*job)->set_finished_unix_ms(absl::ToUnixMillis(absl::Now()));
        jobs_->Update(**job).IgnoreError();
      }
    }
    return grpc::Status::OK;
  }

 private:
  void UpdateProgress(const std::string& agent, const v1::JobUpdate& update) {
    absl::StatusOr<std::optional<v1::Job>> job = repository_->catalog()->jobs().Get(update.job_id());
    if (!job.ok() || !job->has_value() || (*job)->agent() != agent ||
        (*job)->state() != v1::JOB_STATE_RUNNING) {
      return;
    }
    v1::JobProgress progress = update.progress();
    // Totals the server knew (from the snapshot) stay unless the agent knows better.
    if (progress.files_total() == 0) progress.set_files_total((*job)->progress().files_total());
    if (progress.bytes_total() == 0) progress.set_bytes_total((*job)->progress().bytes_total());
    *(*job)->mutable_progress() = progress;
    if ((*job)->progress().current_path().size() > 4096) {
      (*job)->mutable_progress()->mutable_current_path()->resize(4096);
    }
    jobs_->Update(**job).IgnoreError();
  }

  Repository* repository_;
  JobBoard* jobs_;
};

}  // namespace

std::unique_ptr<v1::AgentService::Service> NewAgentService(Repository* repository,
                                                           JobBoard* jobs) {
  return std::make_unique<AgentServiceImpl>(repository, jobs);
}

}  // namespace cairn

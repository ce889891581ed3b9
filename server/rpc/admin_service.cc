#include "server/rpc/admin_service.h"

#include "common/grpc_status.h"
#include "server/rpc/admission.h"

namespace cairn {
namespace {

using grpc::ServerContext;

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(ServerCore* core) : core_(core), gate_(core) {}

  grpc::Status GetStatus(ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, GetStatus), *request, response,
                       [&](const Caller& c) { return core_->status().GetStatus(c); });
  }

  grpc::Status ListAgents(ServerContext* context, const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, ListAgents), *request, response,
                       [&](const Caller& c) { return core_->status().ListAgents(c); });
  }

  grpc::Status ListJobs(ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, ListJobs), *request, response,
                       [&](const Caller& c) { return core_->orders().ListJobs(c, *request); });
  }

  grpc::Status GetJob(ServerContext* context, const v1::GetJobRequest* request,
                      v1::GetJobResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, GetJob), *request, response,
                       [&](const Caller& c) { return core_->orders().GetJob(c, *request); });
  }

  grpc::Status WatchJob(ServerContext* context, const v1::GetJobRequest* request,
                        grpc::ServerWriter<v1::Job>* writer) override {
    absl::StatusOr<Caller> caller =
        gate_.Admit(context, CAIRN_METHOD(AdminService, WatchJob), request);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    return ToGrpcStatus(core_->orders().WatchJob(
        *caller, *request, [&](const v1::Job& job) { return writer->Write(job); },
        [&] { return context->IsCancelled(); }));
  }

  grpc::Status ListTiers(ServerContext* context, const v1::ListTiersRequest* request,
                         v1::ListTiersResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, ListTiers), *request, response,
                       [&](const Caller& c) { return core_->status().ListTiers(c); });
  }

  grpc::Status MoveTier(ServerContext* context, const v1::MoveTierRequest* request,
                        grpc::ServerWriter<v1::MoveTierProgress>* writer) override {
    absl::StatusOr<Caller> caller =
        gate_.Admit(context, CAIRN_METHOD(AdminService, MoveTier), request);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    absl::StatusOr<v1::MoveTierProgress> done = core_->maintenance().MoveTier(
        *caller, *request,
        [&](const v1::MoveTierProgress& p) { return !context->IsCancelled() && writer->Write(p); });
    if (!done.ok()) return ToGrpcStatus(done.status());
    writer->Write(*done);
    return grpc::Status::OK;
  }

  grpc::Status ListSnapshots(ServerContext* context, const v1::ListSnapshotsRequest* request,
                             v1::ListSnapshotsResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, ListSnapshots), *request, response,
                       [&](const Caller& c) { return core_->browse().ListSnapshots(c, *request); });
  }

  grpc::Status ListFiles(ServerContext* context, const v1::ListFilesRequest* request,
                         v1::ListFilesResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, ListFiles), *request, response,
                       [&](const Caller& c) { return core_->browse().ListFiles(c, *request); });
  }

  grpc::Status DiffSnapshots(ServerContext* context, const v1::DiffSnapshotsRequest* request,
                             v1::DiffSnapshotsResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, DiffSnapshots), *request, response,
                       [&](const Caller& c) { return core_->browse().Diff(c, *request); });
  }

  grpc::Status GetStorageStats(ServerContext* context, const v1::StorageStatsRequest* request,
                               v1::StorageStatsResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, GetStorageStats), *request, response,
                       [&](const Caller& c) { return core_->browse().StorageStats(c, *request); });
  }

  grpc::Status OrderRestore(ServerContext* context, const v1::OrderRestoreRequest* request,
                            v1::OrderResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, OrderRestore), *request, response,
                       [&](const Caller& c) { return core_->orders().OrderRestore(c, *request); });
  }

  grpc::Status OrderBackup(ServerContext* context, const v1::OrderBackupRequest* request,
                           v1::OrderResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, OrderBackup), *request, response,
                       [&](const Caller& c) { return core_->orders().OrderBackup(c, *request); });
  }

  grpc::Status ListPolicies(ServerContext* context, const v1::ListPoliciesRequest* request,
                            v1::ListPoliciesResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, ListPolicies), *request, response,
                       [&](const Caller& c) { return core_->policies().List(c); });
  }

  grpc::Status GetPolicy(ServerContext* context, const v1::GetPolicyRequest* request,
                         v1::Policy* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, GetPolicy), *request, response,
                       [&](const Caller& c) { return core_->policies().Get(c, request->name()); });
  }

  grpc::Status SetPolicy(ServerContext* context, const v1::Policy* request,
                         v1::Policy* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, SetPolicy), *request, response,
                       [&](const Caller& c) { return core_->policies().Set(c, *request); });
  }

  grpc::Status DeletePolicy(ServerContext* context, const v1::GetPolicyRequest* request,
                            v1::DeletePolicyResponse*) override {
    return gate_.UnaryStatus(
        context, CAIRN_METHOD(AdminService, DeletePolicy), *request,
        [&](const Caller& c) { return core_->policies().Delete(c, request->name()); });
  }

  grpc::Status Verify(ServerContext* context, const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, Verify), *request, response,
                       [&](const Caller& c) -> absl::StatusOr<v1::VerifyResponse> {
                         // With an agent: the agent verifies with its key.
                         if (!request->agent().empty())
                           return core_->orders().OrderVerify(c, *request);
                         return core_->maintenance().Verify(c, *request);
                       });
  }

  grpc::Status DeleteSnapshot(ServerContext* context, const v1::DeleteSnapshotRequest* request,
                              v1::DeleteSnapshotResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AdminService, DeleteSnapshot), *request, response,
        [&](const Caller& c) { return core_->maintenance().DeleteSnapshot(c, *request); });
  }

  grpc::Status ProtectSnapshot(ServerContext* context, const v1::ProtectSnapshotRequest* request,
                               v1::ProtectSnapshotResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AdminService, ProtectSnapshot), *request, response,
        [&](const Caller& c) { return core_->maintenance().ProtectSnapshot(c, *request); });
  }

  grpc::Status Prune(ServerContext* context, const v1::PruneRequest* request,
                     v1::PruneResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AdminService, Prune), *request, response,
                       [&](const Caller& c) { return core_->maintenance().Prune(c, *request); });
  }

  grpc::Status CollectGarbage(ServerContext* context, const v1::GcRequest* request,
                              v1::GcResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AdminService, CollectGarbage), *request, response,
        [&](const Caller& c) { return core_->maintenance().CollectGarbage(c, *request); });
  }

 private:
  ServerCore* core_;
  Admission gate_;
};

}  // namespace

std::unique_ptr<v1::AdminService::Service> NewAdminService(ServerCore* core) {
  return std::make_unique<AdminServiceImpl>(core);
}

}  // namespace cairn

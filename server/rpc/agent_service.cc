#include "server/rpc/agent_service.h"

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "server/rpc/admission.h"
#include "server/rpc/chunk_read.h"
#include "server/rpc/chunk_upload.h"
#include "server/rpc/control_pump.h"
#include "server/rpc/control_reactor.h"
#include "server/rpc/data_service.h"

namespace cairn {
namespace {

using grpc::ServerContext;

constexpr char kUploadChunksPath[] = "/cairn.v1.AgentService/UploadChunks";

// UploadChunks is served by a handler of raw byte buffers (the generated,
// typed one is marked generic, so the server does not register it): the
// request is parsed in place and its sealed chunk handed on as the slices
// gRPC received (upload_request.h), not copied into a parsed message.
class AgentServiceImpl final
    : public v1::AgentService::WithGenericMethod_UploadChunks<
          v1::AgentService::WithCallbackMethod_Control<v1::AgentService::Service>> {
 public:
  explicit AgentServiceImpl(ServerCore* core) : core_(core), gate_(core) {
    AddMethod(new grpc::internal::RpcServiceMethod(
        kUploadChunksPath, grpc::internal::RpcMethod::CLIENT_STREAMING,
        new grpc::internal::ClientStreamingHandler<AgentServiceImpl, grpc::ByteBuffer,
                                                   v1::UploadChunksResponse>(
            [](AgentServiceImpl* self, ServerContext* context,
               grpc::ServerReader<grpc::ByteBuffer>* reader, v1::UploadChunksResponse* response) {
              return self->UploadChunkBuffers(context, reader, response);
            },
            this)));
  }

  grpc::Status Hello(ServerContext* context, const v1::HelloRequest* request,
                     v1::HelloResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AgentService, Hello), *request, response,
                       [&](const Caller& c) { return core_->control().Hello(c, *request); });
  }

  grpc::Status BeginBackup(ServerContext* context, const v1::BeginBackupRequest* request,
                           v1::BeginBackupResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AgentService, BeginBackup), *request, response,
                       [&](const Caller& c) { return core_->ingest().BeginBackup(c, *request); });
  }

  grpc::Status FindMissingChunks(ServerContext* context,
                                 const v1::FindMissingChunksRequest* request,
                                 v1::FindMissingChunksResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AgentService, FindMissingChunks), *request, response,
        [&](const Caller& c) { return core_->ingest().FindMissingChunks(c, *request); });
  }

  grpc::Status UploadChunkBuffers(ServerContext* context,
                                  grpc::ServerReader<grpc::ByteBuffer>* reader,
                                  v1::UploadChunksResponse* response) {
    absl::StatusOr<Caller> caller =
        gate_.Admit(context, CAIRN_METHOD(AgentService, UploadChunks), nullptr);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    return ServeUploadChunks(core_, *caller, context, reader, response, nullptr);
  }

  grpc::Status FindMissingTrees(ServerContext* context, const v1::FindMissingTreesRequest* request,
                                v1::FindMissingTreesResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AgentService, FindMissingTrees), *request, response,
        [&](const Caller& c) { return core_->ingest().FindMissingTrees(c, *request); });
  }

  grpc::Status PutTrees(ServerContext* context, const v1::PutTreesRequest* request,
                        v1::PutTreesResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AgentService, PutTrees), *request, response,
                       [&](const Caller& c) { return core_->ingest().PutTrees(c, *request); });
  }

  grpc::Status GetTree(ServerContext* context, const v1::GetTreeRequest* request,
                       v1::GetTreeResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AgentService, GetTree), *request, response,
                       [&](const Caller& c) { return core_->reader().GetTree(c, *request); });
  }

  grpc::Status GetTrees(ServerContext* context, const v1::GetTreesRequest* request,
                        v1::GetTreesResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AgentService, GetTrees), *request, response,
                       [&](const Caller& c) { return core_->reader().GetTrees(c, *request); });
  }

  grpc::Status CommitSnapshot(ServerContext* context, const v1::CommitSnapshotRequest* request,
                              v1::CommitSnapshotResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AgentService, CommitSnapshot), *request, response,
        [&](const Caller& c) { return core_->ingest().CommitSnapshot(c, *request); });
  }

  grpc::Status FinishJob(ServerContext* context, const v1::FinishJobRequest* request,
                         v1::FinishJobResponse*) override {
    return gate_.UnaryStatus(
        context, CAIRN_METHOD(AgentService, FinishJob), *request,
        [&](const Caller& c) { return core_->orders().FinishJob(c, *request); });
  }

  grpc::Status ReadChunks(ServerContext* context, const v1::ReadChunksRequest* request,
                          grpc::ServerWriter<v1::ReadChunkResponse>* writer) override {
    absl::StatusOr<Caller> caller =
        gate_.Admit(context, CAIRN_METHOD(AgentService, ReadChunks), request);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    return ServeReadChunks(core_, *caller, context, *request, writer, nullptr);
  }

  grpc::Status ReportDamagedChunks(ServerContext* context,
                                   const v1::ReportDamagedChunksRequest* request,
                                   v1::ReportDamagedChunksResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AgentService, ReportDamagedChunks), *request, response,
                       [&](const Caller& c) -> absl::StatusOr<v1::ReportDamagedChunksResponse> {
                         absl::StatusOr<v1::ReportDamagedChunksResponse> r =
                             core_->reader().ReportDamagedChunks(c, *request);
                         if (r.ok()) core_->metrics().DamageReported(r->forgotten());
                         return r;
                       });
  }

  grpc::Status OpenDataSession(ServerContext* context, const v1::OpenDataSessionRequest* request,
                               v1::OpenDataSessionResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AgentService, OpenDataSession), *request, response,
                       [&](const Caller& c) { return OpenDataSessionFor(core_, c); });
  }

  grpc::Status RenewCertificate(ServerContext* context, const v1::RenewCertificateRequest* request,
                                v1::RenewCertificateResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AgentService, RenewCertificate), *request, response,
        [&](const Caller& c) { return core_->access().RenewCertificate(c, *request); });
  }

  // The control stream: no thread of its own (control_reactor.h); one
  // pump thread serves every agent's.
  grpc::ServerBidiReactor<v1::AgentEvent, v1::ServerOrder>* Control(
      grpc::CallbackServerContext* context) override {
    return new ControlReactor(core_, &gate_, &pump_, context);
  }

 private:
  ServerCore* core_;
  Admission gate_;
  ControlPump pump_{&core_->jobs()};
};

}  // namespace

std::unique_ptr<v1::AgentService::Service> NewAgentService(ServerCore* core) {
  return std::make_unique<AgentServiceImpl>(core);
}

}  // namespace cairn

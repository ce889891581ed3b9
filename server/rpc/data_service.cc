#include "server/rpc/data_service.h"

#include "absl/strings/str_cat.h"
#include "common/data_mac.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "server/rpc/admission.h"
#include "server/rpc/chunk_read.h"
#include "server/rpc/chunk_upload.h"

namespace cairn {
namespace {

constexpr char kUploadChunksPath[] = "/cairn.v1.AgentService/UploadChunks";

// UploadChunks from raw buffers, as on the TLS port (agent_service.cc).
class DataServiceImpl final
    : public v1::AgentService::WithGenericMethod_UploadChunks<v1::AgentService::Service> {
 public:
  explicit DataServiceImpl(ServerCore* core) : core_(core), gate_(core) {
    AddMethod(new grpc::internal::RpcServiceMethod(
        kUploadChunksPath, grpc::internal::RpcMethod::CLIENT_STREAMING,
        new grpc::internal::ClientStreamingHandler<DataServiceImpl, grpc::ByteBuffer,
                                                   v1::UploadChunksResponse>(
            [](DataServiceImpl* self, grpc::ServerContext* context,
               grpc::ServerReader<grpc::ByteBuffer>* reader, v1::UploadChunksResponse* response) {
              absl::StatusOr<DataCallGrant> call =
                  self->gate_.AdmitData(context, CAIRN_METHOD(AgentService, UploadChunks));
              if (!call.ok()) return ToGrpcStatus(call.status());
              return ServeUploadChunks(self->core_, call->caller, context, reader, response,
                                       &*call);
            },
            this)));
  }

  grpc::Status ReadChunks(grpc::ServerContext* context, const v1::ReadChunksRequest* request,
                          grpc::ServerWriter<v1::ReadChunkResponse>* writer) override {
    absl::StatusOr<DataCallGrant> call =
        gate_.AdmitData(context, CAIRN_METHOD(AgentService, ReadChunks));
    if (!call.ok()) return ToGrpcStatus(call.status());
    if (!DataMacMatches(request->mac(), ReadRequestMac(*call->key, call->call, *request))) {
      return ToGrpcStatus(absl::UnauthenticatedError(absl::StrCat(
          "data call ", call->call, ": the ReadChunks request's tag ",
          request->mac().empty() ? "is missing" : "does not match (altered or moved)")));
    }
    return ServeReadChunks(core_, call->caller, context, *request, writer, &*call);
  }

 private:
  ServerCore* core_;
  Admission gate_;
};

}  // namespace

std::unique_ptr<v1::AgentService::Service> NewDataService(ServerCore* core) {
  return std::make_unique<DataServiceImpl>(core);
}

absl::StatusOr<v1::OpenDataSessionResponse> OpenDataSessionFor(ServerCore* core,
                                                               const Caller& caller) {
  v1::OpenDataSessionResponse response;
  std::string address = core->data_sessions().address();
  if (address.empty()) return response;
  ASSIGN_OR_RETURN(DataSessionGrant grant, core->data_sessions().Open(caller));
  response.set_address(std::move(address));
  response.set_session_id(grant.id);
  response.set_key(std::string(grant.key->view()));
  response.set_expires_unix_ms(absl::ToUnixMillis(grant.expires));
  return response;
}

}  // namespace cairn

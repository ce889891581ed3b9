// The RPC boundary's one gate. For every call: who is calling (the client
// certificate of the TLS connection, through the core's Authenticator),
// whether the method's rule (server/auth/method_access.h) lets them, and the
// audit log entry the call owes (refusals always; admin actions always).
// Unary handlers go through Unary(), which also converts the core's status
// once.
//
//   grpc::Status Prune(ServerContext* context, const v1::PruneRequest* request,
//                      v1::PruneResponse* response) override {
//     return gate_.Unary(context, CAIRN_METHOD(AdminService, Prune), *request, response,
//                        [&](const Caller& c) { return core_->maintenance().Prune(c, *request); });
//   }
#ifndef CAIRN_SERVER_RPC_ADMISSION_H_
#define CAIRN_SERVER_RPC_ADMISSION_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/grpc_status.h"
#include "server/auth/caller.h"
#include "server/auth/data_sessions.h"
#include "server/core/server_core.h"

// "/cairn.v1.<service>/<method>", the full name gRPC and the access table use.
#define CAIRN_METHOD(service, method) "/cairn.v1." #service "/" #method

namespace cairn {

// What an audit entry says a call acted on: the request's identifying fields
// ("agent=gpu-07 snapshot_id=s-..."), never secrets or bulk data.
std::string AuditResource(const google::protobuf::Message& request);

class Admission final {
 public:
  explicit Admission(ServerCore* core) : core_(core) {}

  // The caller of this call, if it may call `method`; Unauthenticated or
  // PermissionDenied (audited) otherwise. `request` may be null (streams
  // whose first message comes later).
  absl::StatusOr<Caller> Admit(grpc::ServerContextBase* context, absl::string_view method,
                               const google::protobuf::Message* request);
  // The same for a call on the data port: the session and call number its
  // metadata names (server/auth/data_sessions.h), then the method's rule.
  // Never the local socket's or a certificate's identity: the data port has
  // neither.
  absl::StatusOr<DataCallGrant> AdmitData(grpc::ServerContextBase* context,
                                          absl::string_view method);
  // Records the outcome of an admitted call when the audit log wants it (an
  // audited method, or a refusal by the core's resource checks).
  void Done(const Caller& caller, grpc::ServerContextBase* context, absl::string_view method,
            const google::protobuf::Message* request, const absl::Status& outcome);

  template <typename Response, typename Fn>
  grpc::Status Unary(grpc::ServerContext* context, absl::string_view method,
                     const google::protobuf::Message& request, Response* response, Fn call) {
    absl::StatusOr<Caller> caller = Admit(context, method, &request);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    absl::StatusOr<Response> result = call(*caller);
    Done(*caller, context, method, &request, result.status());
    return ReplyWith(std::move(result), response);
  }

  // For calls that answer with an empty message.
  template <typename Fn>
  grpc::Status UnaryStatus(grpc::ServerContext* context, absl::string_view method,
                           const google::protobuf::Message& request, Fn call) {
    absl::StatusOr<Caller> caller = Admit(context, method, &request);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    absl::Status result = call(*caller);
    Done(*caller, context, method, &request, result);
    return ToGrpcStatus(result);
  }

 private:
  ServerCore* core_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_ADMISSION_H_

// The RPC boundary's one gate: who is calling (from the transport) and
// whether the method's access rule (server/auth/method_access.h) lets them.
// Every handler starts here, and the unary ones go through Unary(), which
// also converts the core's status once.
//
//   grpc::Status Prune(ServerContext* context, const v1::PruneRequest* request,
//                      v1::PruneResponse* response) override {
//     return Unary(context, CAIRN_METHOD(AdminService, Prune), response,
//                  [&](const Caller& c) { return core_->maintenance().Prune(c, *request); });
//   }
#ifndef CAIRN_SERVER_RPC_ADMISSION_H_
#define CAIRN_SERVER_RPC_ADMISSION_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/grpc_status.h"
#include "server/auth/caller.h"

// "/cairn.v1.<service>/<method>", the full name gRPC and the access table use.
#define CAIRN_METHOD(service, method) "/cairn.v1." #service "/" #method

namespace cairn {

// The caller of this call, if it may call `method`; PermissionDenied (or
// Unauthenticated) otherwise.
absl::StatusOr<Caller> Admit(grpc::ServerContext* context, absl::string_view method);

template <typename Response, typename Fn>
grpc::Status Unary(grpc::ServerContext* context, absl::string_view method, Response* response,
                   Fn call) {
  absl::StatusOr<Caller> caller = Admit(context, method);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ReplyWith(call(*caller), response);
}

// For calls that answer with an empty message.
template <typename Fn>
grpc::Status UnaryStatus(grpc::ServerContext* context, absl::string_view method, Fn call) {
  absl::StatusOr<Caller> caller = Admit(context, method);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(call(*caller));
}

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_ADMISSION_H_

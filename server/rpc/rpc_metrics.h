// Counts every gRPC call and times it, by method and status code, through a
// server interceptor: one place, whatever the service or the API (sync,
// callback, generic) that serves the method. A method name that is not in
// the access table (server/auth/method_access.h) is counted as "unknown",
// so that a caller cannot grow the label set.
//
//   builder.experimental().SetInterceptorCreators(RpcMetricsInterceptors(&core->metrics()));
#ifndef CAIRN_SERVER_RPC_RPC_METRICS_H_
#define CAIRN_SERVER_RPC_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "server/metrics/server_metrics.h"

namespace cairn {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcMetricsInterceptors(ServerMetrics* metrics);

// "OK", "NOT_FOUND", ...: the names gRPC's documentation uses.
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_RPC_METRICS_H_

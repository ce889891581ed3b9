// The agent's channel to cairn-server: one gRPC channel with cairn's message
// bounds, a stub, and unary calls with a deadline that retry with backoff
// while the server is unreachable.
//
//   ServerConnection conn(config.server());
//   ASSIGN_OR_RETURN(auto hello, conn.Hello(request));
#ifndef CAIRN_AGENT_SERVER_CONNECTION_H_
#define CAIRN_AGENT_SERVER_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "common/grpc_status.h"

namespace cairn {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

class ServerConnection final {
 public:
  explicit ServerConnection(const std::string& address);

  v1::AgentService::Stub* stub() { return stub_.get(); }

  // Calls `method` with a fresh context and `deadline`, retrying UNAVAILABLE
  // and DEADLINE_EXCEEDED with exponential backoff for up to `give_up_after`.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (v1::AgentService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                     Response*),
      const Request& request, absl::Duration deadline = absl::Seconds(60),
      absl::Duration give_up_after = absl::Seconds(30)) {
    absl::Duration backoff = absl::Milliseconds(100);
    absl::Time stop = absl::Now() + give_up_after;
    while (true) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
      Response response;
      grpc::Status status = (stub_.get()->*method)(&context, request, &response);
      if (status.ok()) return response;
      bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
      if (!transient || absl::Now() + backoff > stop) return FromGrpcStatus(status);
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_SERVER_CONNECTION_H_

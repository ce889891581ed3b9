// The agent's channel to cairn-server: one TLS channel with cairn's message
// bounds that checks the server against the cairn CA and presents the
// agent's certificate (its identity), a stub, and unary calls with a
// deadline that retry with backoff while the server is unreachable. A
// renewed certificate replaces the channel for calls made after it. And the
// data channel (docs/security.md): a session opened over TLS whose chunk
// streams go to the server's plaintext data port, every message tagged under
// its key.
//
//   ServerConnection conn(config.server(), credentials);
//   ASSIGN_OR_RETURN(auto hello, conn.Call(&v1::AgentService::Stub::Hello, request));
#ifndef CAIRN_AGENT_SERVER_CONNECTION_H_
#define CAIRN_AGENT_SERVER_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "cairn/v1/security.pb.h"
#include "common/data_mac.h"
#include "common/grpc_status.h"

namespace cairn {

class ServerConnection final {
 public:
  ServerConnection(const std::string& address, const v1::ClientCredentials& credentials);

  // The current stub. Stubs of channels a renewal replaced stay valid for
  // calls already started with them (they live as long as this connection).
  v1::AgentService::Stub* stub() { return stub_.load(); }
  const std::string& address() const { return address_; }
  // Uses `credentials` (a renewed certificate) for calls from now on.
  void UseCredentials(const v1::ClientCredentials& credentials);

  // A call on the data port: its stub, the session (hex id, key) and a call
  // number not used before in the session.
  struct DataCall {
    std::shared_ptr<v1::AgentService::Stub> stub;  // kept by the call while it runs
    std::string session_hex;
    std::shared_ptr<const DataKey> key;
    uint64_t call = 0;
  };
  // The next data call, opening a session over TLS when there is none or it
  // is within 5 minutes of expiring. nullopt when the server has no data
  // port, or this connection is the local socket (plaintext already): upload
  // over TLS then. A failed open is not tried again for 5 minutes.
  std::optional<DataCall> StartDataCall();
  // After the data port refused a call as unauthenticated (the server
  // restarted, or the session expired): the next call opens a new session.
  void ForgetDataSession();

  // Told of every attempt of every unary call: the request's message name
  // ("FindMissingChunksRequest"), its latency and whether it succeeded. For
  // load runs (bench/loadgen); set before any call is made.
  using CallObserver =
      std::function<void(absl::string_view request, absl::Duration latency, bool ok)>;
  void set_call_observer(CallObserver observer) { observer_ = std::move(observer); }

  // Calls `method` with a fresh context and `deadline`, retrying UNAVAILABLE
  // and DEADLINE_EXCEEDED with exponential backoff for up to `give_up_after`.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (v1::AgentService::Stub::*method)(grpc::ClientContext*,
                                                                               const Request&,
                                                                               Response*),
                                const Request& request, absl::Duration deadline = absl::Seconds(60),
                                absl::Duration give_up_after = absl::Seconds(30)) {
    absl::Duration backoff = absl::Milliseconds(100);
    absl::Time stop = absl::Now() + give_up_after;
    while (true) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
      Response response;
      const absl::Time began = absl::Now();
      grpc::Status status = (stub()->*method)(&context, request, &response);
      if (observer_) observer_(Request::descriptor()->name(), absl::Now() - began, status.ok());
      if (status.ok()) return response;
      bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
      if (!transient || absl::Now() + backoff > stop) return FromGrpcStatus(status);
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }

 private:
  const std::string address_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<v1::AgentService::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
  std::atomic<v1::AgentService::Stub*> stub_{nullptr};
  CallObserver observer_;

  void ForgetDataSessionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(data_mu_);

  struct DataSession {
    std::shared_ptr<v1::AgentService::Stub> stub;
    std::string hex;
    std::shared_ptr<const DataKey> key;
    absl::Time expires;
    uint64_t calls = 0;
  };
  absl::Mutex data_mu_;
  std::unique_ptr<DataSession> data_ ABSL_GUARDED_BY(data_mu_);
  absl::Time no_data_until_ ABSL_GUARDED_BY(data_mu_) = absl::InfinitePast();
};

}  // namespace cairn

#endif  // CAIRN_AGENT_SERVER_CONNECTION_H_

// The control stream of one agent without a thread of its own (the gRPC
// callback API): the first event is the agent's hello, which opens its
// ControlSession; later events (heartbeats, job progress) go to the
// session as they are read; what the session has for the agent (orders,
// policies, pings) is written when the ControlPump polls this stream. A
// thousand connected agents cost a thousand of these objects, not two
// thousand blocked threads.
//
// Lifetime: gRPC owns it from Control() until OnDone, which leaves the pump
// and deletes it.
#ifndef CAIRN_SERVER_RPC_CONTROL_REACTOR_H_
#define CAIRN_SERVER_RPC_CONTROL_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "server/core/server_core.h"
#include "server/rpc/admission.h"

namespace cairn {

class ControlPump;

class ControlReactor final : public grpc::ServerBidiReactor<v1::AgentEvent, v1::ServerOrder> {
 public:
  ControlReactor(ServerCore* core, Admission* gate, ControlPump* pump,
                 grpc::CallbackServerContext* context);

  // Called by the pump (one thread): writes what the session has for the
  // agent unless a write is still in flight.
  void Poll();
  // The agent this stream is for ("" until its hello was accepted).
  const std::string& agent() const { return agent_; }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Opened();  // the hello: admit, open the session, join the pump
  // Finishes the stream once (any thread; not under mu_).
  void End(grpc::Status status);

  ServerCore* core_;
  Admission* gate_;
  ControlPump* pump_;
  grpc::CallbackServerContext* context_;
  v1::AgentEvent event_;                     // the read in flight
  std::string agent_;                        // set before the pump knows this stream
  std::unique_ptr<ControlSession> session_;  // likewise; reset in OnDone
  std::atomic<bool> opened_{false};          // session_ is set (OnCancel may race)
  bool in_pump_ = false;

  absl::Mutex mu_;
  std::deque<v1::ServerOrder> outbox_ ABSL_GUARDED_BY(mu_);  // front: being written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool repoll_ ABSL_GUARDED_BY(mu_) = false;  // a poll came while writing
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_CONTROL_REACTOR_H_

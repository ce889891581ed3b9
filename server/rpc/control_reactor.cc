#include "server/rpc/control_reactor.h"

#include <utility>
#include <vector>

#include "common/grpc_status.h"
#include "server/rpc/control_pump.h"

namespace cairn {

ControlReactor::ControlReactor(ServerCore* core, Admission* gate, ControlPump* pump,
                               grpc::CallbackServerContext* context)
    : core_(core), gate_(gate), pump_(pump), context_(context) {
  StartRead(&event_);
}

void ControlReactor::End(grpc::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  Finish(std::move(status));
}

void ControlReactor::Opened() {
  absl::StatusOr<Caller> caller =
      gate_->Admit(context_, CAIRN_METHOD(AgentService, Control), nullptr);
  if (!caller.ok()) return End(ToGrpcStatus(caller.status()));
  if (!event_.has_hello()) {
    return End(ToGrpcStatus(absl::InvalidArgumentError("the control stream starts with hello")));
  }
  absl::StatusOr<std::unique_ptr<ControlSession>> session =
      core_->control().Connect(*caller, event_.hello());
  if (!session.ok()) return End(ToGrpcStatus(session.status()));
  session_ = *std::move(session);
  agent_ = session_->agent();
  opened_ = true;
  in_pump_ = true;
  pump_->Add(this);
  StartRead(&event_);
}

void ControlReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The agent closed its side, or the stream broke.
    if (session_ == nullptr) {
      return End(ToGrpcStatus(absl::InvalidArgumentError("the control stream starts with hello")));
    }
    session_->Stop();
    return End(grpc::Status::OK);
  }
  if (session_ == nullptr) return Opened();
  session_->OnEvent(event_);
  StartRead(&event_);
}

void ControlReactor::Poll() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (writing_) {
      repoll_ = true;  // asked again once this write is done
      return;
    }
  }
  absl::StatusOr<std::vector<v1::ServerOrder>> orders = session_->NextOrders(absl::ZeroDuration());
  if (!orders.ok()) {
    // Replaced by a newer stream, revoked, or stopping: end this one.
    return End(absl::IsCancelled(orders.status()) ? grpc::Status::OK
                                                  : ToGrpcStatus(orders.status()));
  }
  const v1::ServerOrder* first = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || orders->empty()) return;
    for (v1::ServerOrder& order : *orders) outbox_.push_back(std::move(order));
    writing_ = true;
    first = &outbox_.front();
  }
  StartWrite(first);  // last: gRPC may run the reactions inline
}

void ControlReactor::OnWriteDone(bool ok) {
  const v1::ServerOrder* next = nullptr;
  bool repoll = false;
  {
    absl::MutexLock lock(&mu_);
    outbox_.pop_front();
    writing_ = false;
    if (!ok || finished_) return;  // the stream broke: the read ends it
    if (!outbox_.empty()) {
      writing_ = true;
      next = &outbox_.front();
    } else {
      repoll = repoll_;
      repoll_ = false;
    }
  }
  if (repoll) core_->jobs().WakeAgent(agent_);  // the pump polls this stream again
  if (next != nullptr) StartWrite(next);
}

void ControlReactor::OnCancel() {
  if (opened_) session_->Stop();
  End(grpc::Status::CANCELLED);
}

void ControlReactor::OnDone() {
  if (in_pump_) pump_->Remove(this);
  session_.reset();  // the agent is offline; restores it carried fail
  delete this;
}

}  // namespace cairn

#include "server/rpc/control_pump.h"

#include <vector>

#include "absl/time/clock.h"
#include "server/rpc/control_reactor.h"

namespace cairn {

ControlPump::ControlPump(JobBoard* jobs, absl::Duration ping_every)
    : jobs_(jobs), ping_every_(ping_every) {
  thread_ = std::thread([this] { Loop(); });
}

ControlPump::~ControlPump() {
  stop_ = true;
  jobs_->WakeAll();
  thread_.join();
}

void ControlPump::Add(ControlReactor* reactor) {
  {
    absl::MutexLock lock(&mu_);
    streams_[reactor] = Stream{.seen = 0, .next_poll = absl::InfinitePast()};
  }
  jobs_->WakeAgent(reactor->agent());  // the pump looks at once
}

void ControlPump::Remove(ControlReactor* reactor) {
  absl::MutexLock lock(&mu_);
  streams_.erase(reactor);
  // A stream that ends inside its own poll (gRPC finishing inline) must not
  // wait for itself.
  if (std::this_thread::get_id() == thread_.get_id()) return;
  auto done = [this, reactor]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return polling_ != reactor; };
  mu_.Await(absl::Condition(&done));
}

void ControlPump::Loop() {
  uint64_t seen = 0;
  std::vector<ControlReactor*> due;
  while (!stop_) {
    seen = jobs_->WaitForAnyOrders(seen, absl::Seconds(1));
    if (stop_) break;
    due.clear();
    {
      absl::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      for (auto& [reactor, stream] : streams_) {
        const uint64_t version = jobs_->OrdersVersion(reactor->agent());
        if (version == stream.seen && now < stream.next_poll) continue;
        stream.seen = version;
        stream.next_poll = now + ping_every_;
        due.push_back(reactor);
      }
    }
    for (ControlReactor* reactor : due) {
      {
        absl::MutexLock lock(&mu_);
        if (!streams_.contains(reactor)) continue;  // it ended meanwhile
        polling_ = reactor;
      }
      reactor->Poll();
      absl::MutexLock lock(&mu_);
      polling_ = nullptr;
    }
  }
}

}  // namespace cairn

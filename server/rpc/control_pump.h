// One thread that serves every agent's control stream (control_reactor.h):
// it sleeps until some agent's orders change (JobBoard::WaitForAnyOrders),
// or a second passes, and polls the streams whose agent's OrdersVersion
// moved, plus each stream at least every `ping_every` (so the session sends
// its ping and a dead agent is noticed). Polling a stream asks its session
// for what to send; nothing waits per stream.
//
//   ControlPump pump(&core->jobs());
//   pump.Add(reactor);  ... pump.Remove(reactor);  // before it is deleted
#ifndef CAIRN_SERVER_RPC_CONTROL_PUMP_H_
#define CAIRN_SERVER_RPC_CONTROL_PUMP_H_

#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/schedule/job_board.h"

namespace cairn {

class ControlReactor;

class ControlPump final {
 public:
  explicit ControlPump(JobBoard* jobs, absl::Duration ping_every = absl::Seconds(5));
  ~ControlPump();  // stops the thread; every stream must have left
  ControlPump(const ControlPump&) = delete;
  ControlPump& operator=(const ControlPump&) = delete;

  // `reactor` (its agent known) is polled from now on, first at once.
  void Add(ControlReactor* reactor);
  // Not polled any more once this returns (waits for a poll of it to end).
  void Remove(ControlReactor* reactor);

 private:
  struct Stream {
    uint64_t seen = 0;  // its agent's OrdersVersion at the last poll
    absl::Time next_poll;
  };
  void Loop();

  JobBoard* jobs_;
  const absl::Duration ping_every_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  absl::flat_hash_map<ControlReactor*, Stream> streams_ ABSL_GUARDED_BY(mu_);
  ControlReactor* polling_ ABSL_GUARDED_BY(mu_) = nullptr;  // Remove waits for it
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_CONTROL_PUMP_H_

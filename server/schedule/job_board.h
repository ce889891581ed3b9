// Jobs as the server sees them: creation (with ids and server-clock times),
// updates, which agents are online, and waiting for change. The control
// stream of each agent waits here for orders; WatchJob waits here for
// progress. The catalog is the record; this adds notification.
#ifndef CAIRN_SERVER_SCHEDULE_JOB_BOARD_H_
#define CAIRN_SERVER_SCHEDULE_JOB_BOARD_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/agent.pb.h"
#include "server/catalog/catalog.h"
#include "server/metrics/server_metrics.h"

namespace cairn {

struct AgentPresence {
  bool online = false;
  uint64_t pending_files = 0;
  uint64_t pending_bytes = 0;
  int64_t last_change_unix_ms = 0;
  uint64_t watch_overflows = 0;
  std::string watcher_problem;
};

class JobBoard final {
 public:
  JobBoard(Catalog* catalog, absl::Duration lease, std::function<absl::Time()> clock = absl::Now);
  // Where finished jobs are counted (set once, before use; null: nowhere).
  void SetMetrics(ServerMetrics* metrics) { metrics_ = metrics; }
  // Counts and logs `job`, which the caller finished in the catalog by
  // other means than Update (a commit writes the job with its snapshot).
  void CountFinished(const v1::Job& job);

  // Assigns the id and creation time and stores the job. A queued job (an
  // order) wakes its agent's session only.
  absl::StatusOr<v1::Job> Create(v1::Job job);
  absl::Status Update(const v1::Job& job);
  // Records a commit's job change and wakes watchers (WaitForChange), not
  // control sessions.
  void Notify();

  // The jobs queued for `agent`; if none, blocks until an order for `agent`
  // is made or updated, WakeAgent(agent) or WakeAll, or `timeout` passes,
  // and looks once more. Returns at once when `*stop`. Other agents' jobs
  // and backup commits do not wake it: a thousand sessions must not all
  // query the catalog whenever one job changes.
  std::vector<v1::Job> WaitForOrders(absl::string_view agent, absl::Duration timeout,
                                     const std::atomic<bool>* stop);
  // What `agent`'s session must look at again has changed this many times
  // (its orders, WakeAgent, WakeAll): a session compares it with what it saw.
  uint64_t OrdersVersion(absl::string_view agent);
  // Wakes `agent`'s waiting session (it is ending or was replaced).
  void WakeAgent(absl::string_view agent);
  // Blocks until some agent's OrdersVersion moved after `seen` (a count of
  // all such moves), or `timeout`; returns the count. One thread serving
  // every session (server/rpc/control_pump.h) waits here.
  uint64_t WaitForAnyOrders(uint64_t seen, absl::Duration timeout);
  // Blocks until the board changes after `seen_version`, or `timeout`.
  uint64_t WaitForChange(uint64_t seen_version, absl::Duration timeout);
  uint64_t version();

  void SetPresence(absl::string_view agent, const AgentPresence& presence);
  AgentPresence Presence(absl::string_view agent);
  // Wakes every waiter and every session (shutdown, a policy change).
  void WakeAll();

  absl::Duration lease() const { return lease_; }

 private:
  Catalog* catalog_;
  absl::Duration lease_;
  std::function<absl::Time()> clock_;
  ServerMetrics* metrics_ = nullptr;
  absl::Mutex mu_;
  void Changed(const v1::Job& job);
  uint64_t OrdersVersionLocked(absl::string_view agent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;     // every change
  uint64_t wake_all_ ABSL_GUARDED_BY(mu_) = 0;    // WakeAll calls
  uint64_t any_orders_ ABSL_GUARDED_BY(mu_) = 0;  // moves of any OrdersVersion
  absl::flat_hash_map<std::string, uint64_t> orders_ ABSL_GUARDED_BY(mu_);  // per agent
  absl::flat_hash_map<std::string, AgentPresence> presence_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_JOB_BOARD_H_

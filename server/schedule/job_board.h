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
  JobBoard(Catalog* catalog, absl::Duration lease,
           std::function<absl::Time()> clock = absl::Now);

  // Assigns the id and creation time and stores the job.
  absl::StatusOr<v1::Job> Create(v1::Job job);
  absl::Status Update(const v1::Job& job);
  // Records a commit's job change and wakes watchers.
  void Notify();

  // The jobs queued for `agent`; if none, blocks until the board changes or
  // `timeout` passes and looks once more. Returns at once when `*stop`.
  std::vector<v1::Job> WaitForOrders(absl::string_view agent, absl::Duration timeout,
                                     const std::atomic<bool>* stop);
  // Blocks until the board changes after `seen_version`, or `timeout`.
  uint64_t WaitForChange(uint64_t seen_version, absl::Duration timeout);
  uint64_t version();

  void SetPresence(absl::string_view agent, const AgentPresence& presence);
  AgentPresence Presence(absl::string_view agent);
  // Wakes every waiter (shutdown, or an agent's stream closing).
  void WakeAll();

  absl::Duration lease() const { return lease_; }

 private:
  Catalog* catalog_;
  absl::Duration lease_;
  std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, AgentPresence> presence_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_JOB_BOARD_H_

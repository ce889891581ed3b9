// Agents' sessions with the server: Hello records who an agent is, and its
// long-lived control session carries orders to it. A session sends the
// agent's policies whenever they change, the jobs queued for it (marking
// them running), and a ping now and then; it takes heartbeats (presence,
// backlog, watcher problems) and job progress. One session per agent: a new
// one replaces the old, whose NextOrders then fails with Aborted. When a
// session ends the agent is offline and the restores it was carrying fail.
//
//   ASSIGN_OR_RETURN(auto session, control.Connect(caller, hello));
//   while (...) { ASSIGN_OR_RETURN(auto orders, session->NextOrders(absl::Seconds(5))); ... }
//   session->OnEvent(event);  // from the agent
#ifndef CAIRN_SERVER_SCHEDULE_CONTROL_SERVICE_H_
#define CAIRN_SERVER_SCHEDULE_CONTROL_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/agent.pb.h"
#include "server/auth/caller.h"
#include "server/catalog/catalog.h"
#include "server/schedule/job_board.h"
#include "server/schedule/policy_service.h"

namespace cairn {

class ControlSession;

class ControlService final {
 public:
  ControlService(Catalog* catalog, JobBoard* jobs, PolicyService* policies,
                 std::function<absl::Time()> clock = absl::Now)
      : catalog_(catalog), jobs_(jobs), policies_(policies), clock_(std::move(clock)) {}

  // Records the agent (tenant, host name, version, roots) and returns the
  // server's limits. An agent keeps its tenant for good.
  absl::StatusOr<v1::HelloResponse> Hello(const Caller& caller, const v1::HelloRequest& request);
  // Hello, then a session for the agent, replacing any it had.
  absl::StatusOr<std::unique_ptr<ControlSession>> Connect(const Caller& caller,
                                                          const v1::HelloRequest& hello);
  // Ends the agent's session, if it has one (the agent was revoked): its
  // NextOrders fails with Aborted.
  void Disconnect(const std::string& agent);

 private:
  friend class ControlSession;
  // Whether `generation` is still the agent's newest session.
  bool IsCurrent(const std::string& agent, uint64_t generation);
  // Forgets the session if it is the newest; true if it was.
  bool End(const std::string& agent, uint64_t generation);

  Catalog* catalog_;
  JobBoard* jobs_;
  PolicyService* policies_;
  std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<std::string, uint64_t> current_ ABSL_GUARDED_BY(mu_);
};

class ControlSession final {
 public:
  ~ControlSession();
  ControlSession(const ControlSession&) = delete;
  ControlSession& operator=(const ControlSession&) = delete;

  // Waits up to `wait` for something to send the agent and returns it (empty
  // when there was nothing). Aborted once a newer session replaced this one;
  // Cancelled after Stop().
  absl::StatusOr<std::vector<v1::ServerOrder>> NextOrders(absl::Duration wait);
  // Something the agent sent: a heartbeat or job progress.
  void OnEvent(const v1::AgentEvent& event);
  // Makes a waiting NextOrders return; the session is ending.
  void Stop();
  const std::string& agent() const { return agent_; }

 private:
  friend class ControlService;
  ControlSession(ControlService* service, std::string agent, uint64_t generation)
      : service_(service), agent_(std::move(agent)), generation_(generation) {}
  void UpdateProgress(const v1::JobUpdate& update);

  ControlService* service_;
  const std::string agent_;
  const uint64_t generation_;
  std::atomic<bool> stop_{false};
  uint64_t sent_policy_version_ = 0;
  std::string sent_policies_;
  absl::Time last_ping_ = absl::Now();
  absl::Time last_touch_ = absl::InfinitePast();  // OnEvent's thread only
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> dispatched_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_CONTROL_SERVICE_H_

// One simulated agent of a load run: the real agent code (enrollment with a
// join token, a TLS connection of its own, the control stream a daemon
// holds, RunBackup and RunRestore) under its own name and state directory,
// with the tenant key every agent of the run shares. Many live in one
// process.
//
//   ASSIGN_OR_RETURN(auto agent, SimAgent::Enroll(setup, "load-0007"));
//   RETURN_IF_ERROR(agent->Connect());               // control stream, Hello
//   ASSIGN_OR_RETURN(BackupResult b, agent->Backup(root, v1::BACKUP_LEVEL_FULL));
#ifndef CAIRN_BENCH_LOADGEN_SIM_AGENT_H_
#define CAIRN_BENCH_LOADGEN_SIM_AGENT_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_config.h"
#include "agent/backup_runner.h"
#include "agent/restore_executor.h"
#include "agent/server_connection.h"
#include "cairn/v1/config.pb.h"
#include "cairn/v1/security.pb.h"

namespace cairn {

// What every agent of a run shares.
struct SimSetup {
  std::string server;  // host:port
  std::string token;   // a join token for the tenant, good for every agent
  std::string tenant;
  std::string dir;       // agents' state directories go under <dir>/agents
  std::string key_file;  // the tenant key, shared
  const AgentCrypto* crypto = nullptr;
  int workers = 1;  // seal workers per backup
  ServerConnection::CallObserver observer;
};

class SimAgent final {
 public:
  static absl::StatusOr<std::unique_ptr<SimAgent>> Enroll(const SimSetup& setup,
                                                          const std::string& name);
  ~SimAgent();  // closes the control stream
  SimAgent(const SimAgent&) = delete;
  SimAgent& operator=(const SimAgent&) = delete;

  const std::string& name() const { return config_.name(); }
  // Opens the control stream with its Hello, as the daemon does; a thread
  // reads (and drops) what the server sends until the stream ends.
  absl::Status Connect();
  bool connected() const { return connected_.load(); }
  // One heartbeat on the control stream, if it is open.
  void Heartbeat();

  absl::StatusOr<BackupResult> Backup(const std::string& root, v1::BackupLevel level);
  absl::StatusOr<RestoreResult> Restore(const std::string& snapshot, const std::string& target);
  ServerConnection* connection() { return connection_.get(); }

 private:
  SimAgent() = default;

  v1::AgentConfig config_;
  const AgentCrypto* crypto_ = nullptr;
  int workers_ = 1;
  std::unique_ptr<ServerConnection> connection_;
  grpc::ClientContext control_context_;
  absl::Mutex write_mu_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentEvent, v1::ServerOrder>> control_
      ABSL_GUARDED_BY(write_mu_);
  std::atomic<bool> connected_{false};
  std::thread reader_;
};

}  // namespace cairn

#endif  // CAIRN_BENCH_LOADGEN_SIM_AGENT_H_

// Daemon mode: keeps a control stream open to the server (reconnecting with
// backoff), sends heartbeats and job progress, carries out the backups and
// restores the server orders, one at a time, in order of arrival, and renews
// its certificate before it expires.
#ifndef CAIRN_AGENT_AGENT_DAEMON_H_
#define CAIRN_AGENT_AGENT_DAEMON_H_

#include <atomic>
#include <deque>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_config.h"
#include "agent/root_protector.h"
#include "agent/server_connection.h"

namespace cairn {

class AgentDaemon final {
 public:
  AgentDaemon(const v1::AgentConfig& config, const AgentCrypto& crypto,
              v1::ClientCredentials credentials, std::vector<std::string> protected_paths);
  // Runs until `*stop` turns true.
  void Run(const std::atomic<bool>* stop);

 private:
  // One connected session; returns when the stream ends.
  absl::Status Session(const std::atomic<bool>* stop);
  void WorkLoop(const std::atomic<bool>* stop);
  void Execute(const v1::ServerOrder& order);
  void SendUpdate(const std::string& job_id, v1::JobState state, const v1::JobProgress& progress);
  void FinishJob(const std::string& job_id, v1::JobState state, const std::string& error,
                 const std::vector<v1::FileError>& errors, const v1::JobProgress& progress);
  // Starts, updates or stops root protectors to match the config's roots and
  // the policies the server sent.
  void ApplyPolicies(const v1::PolicySet& policies);
  RootProtector* ProtectorFor(const std::string& root);
  v1::Heartbeat Heartbeat();
  // Renews the certificate when it is due (checked at most hourly).
  void RenewCertificateIfDue();

  const v1::AgentConfig& config_;
  const AgentCrypto& crypto_;
  std::vector<std::string> protected_paths_;
  v1::ClientCredentials credentials_;  // renewals: only RenewCertificateIfDue, one thread at a time
  absl::Mutex renew_mu_;
  absl::Time next_renewal_check_ ABSL_GUARDED_BY(renew_mu_) = absl::InfinitePast();
  ServerConnection connection_;

  absl::Mutex mu_;
  std::deque<v1::ServerOrder> orders_ ABSL_GUARDED_BY(mu_);
  grpc::ClientReaderWriter<v1::AgentEvent, v1::ServerOrder>* stream_ ABSL_GUARDED_BY(mu_) =
      nullptr;

  absl::Mutex protectors_mu_;
  std::map<std::string, std::unique_ptr<RootProtector>> protectors_
      ABSL_GUARDED_BY(protectors_mu_);
};

}  // namespace cairn

#endif  // CAIRN_AGENT_AGENT_DAEMON_H_

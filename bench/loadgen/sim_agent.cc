#include "bench/loadgen/sim_agent.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/agent_identity.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<SimAgent>> SimAgent::Enroll(const SimSetup& setup,
                                                           const std::string& name) {
  std::unique_ptr<SimAgent> agent(new SimAgent());
  v1::AgentConfig raw;
  raw.set_server(setup.server);
  raw.set_name(name);
  raw.set_tenant(setup.tenant);
  raw.set_state_dir(absl::StrCat(setup.dir, "/agents/", name, "/state"));
  raw.set_key_file(setup.key_file);
  raw.set_workers(static_cast<uint32_t>(setup.workers));
  ASSIGN_OR_RETURN(agent->config_, ResolveAgentConfig(raw));
  agent->crypto_ = setup.crypto;
  agent->workers_ = setup.workers;
  ASSIGN_OR_RETURN(v1::ClientCredentials credentials,
                   EnrollAgent(agent->config_, setup.server, setup.token, setup.crypto->key_check));
  agent->connection_ = std::make_unique<ServerConnection>(setup.server, credentials);
  if (setup.observer) agent->connection_->set_call_observer(setup.observer);
  return agent;
}

SimAgent::~SimAgent() {
  control_context_.TryCancel();
  if (reader_.joinable()) reader_.join();
  absl::MutexLock lock(&write_mu_);
  if (control_ != nullptr) {
    grpc::Status ended = control_->Finish();  // CANCELLED: we ended it
    (void)ended;
  }
}

absl::Status SimAgent::Connect() {
  // Hello first (BeginBackup needs the agent known), then the session.
  ASSIGN_OR_RETURN(v1::HelloResponse answered,
                   connection_->Call(&v1::AgentService::Stub::Hello,
                                     MakeHello(config_, *crypto_, /*with_roots=*/false)));
  (void)answered;
  absl::MutexLock lock(&write_mu_);
  control_ = connection_->stub()->Control(&control_context_);
  v1::AgentEvent hello;
  *hello.mutable_hello() = MakeHello(config_, *crypto_, /*with_roots=*/false);
  if (!control_->Write(hello)) {
    return absl::UnavailableError(absl::StrCat(name(), ": the control stream did not open"));
  }
  connected_ = true;
  reader_ = std::thread([this, stream = control_.get()] {
    v1::ServerOrder order;
    while (stream->Read(&order)) {
    }
    connected_ = false;
  });
  return absl::OkStatus();
}

void SimAgent::Heartbeat() {
  if (!connected_) return;
  v1::AgentEvent beat;
  beat.mutable_heartbeat()->set_agent_time_unix_ms(absl::ToUnixMillis(absl::Now()));
  absl::MutexLock lock(&write_mu_);
  if (control_ != nullptr) control_->Write(beat);
}

absl::StatusOr<BackupResult> SimAgent::Backup(const std::string& root, v1::BackupLevel level) {
  BackupOptions options;
  options.root = root;
  options.level = level;
  options.workers = static_cast<uint32_t>(workers_);
  return RunBackup(connection_.get(), *crypto_, config_, options);
}

absl::StatusOr<RestoreResult> SimAgent::Restore(const std::string& snapshot,
                                                const std::string& target) {
  RestoreOptions options;
  options.snapshot_id = snapshot;
  options.target = target;
  options.workers = workers_;
  return RunRestore(connection_.get(), *crypto_, options);
}

}  // namespace cairn

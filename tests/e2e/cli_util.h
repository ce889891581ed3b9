// The command lines of the end-to-end tests: an agent's identity on the
// cairn-agent command line, cairnctl's (with the server's first admin
// credential), and the agent commands the tests run (init, enroll, backup,
// restore, daemon) with what their --json output says.
//
//   AgentIdentity agent = NewAgentIdentity(*server, dir, "gpu-1");
//   ASSERT_OK(SetUpAgent(agent));  // init + a join token + enroll
//   BackupOutcome b = AgentBackup(agent, src, "full");
#ifndef CAIRN_TESTS_E2E_CLI_UTIL_H_
#define CAIRN_TESTS_E2E_CLI_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/e2e/process_util.h"

namespace cairn::e2e {

// What identifies one agent on the command line.
struct AgentIdentity {
  std::string server;  // HOST:PORT
  std::string name;
  std::string state_dir;
  std::string key_file;
  std::string admin_credentials;  // the server's, for `cairnctl token create`
  std::string tenant = "default";
};

// {cairn-agent, command, --server ..., --name ..., --state-dir ..., --key-file ..., extra...}
std::vector<std::string> AgentArgs(const AgentIdentity& agent, absl::string_view command,
                                   const std::vector<std::string>& extra = {});
// {cairnctl, --server ADDRESS, --credentials STATE_DIR/admin.credentials, args...}
std::vector<std::string> CtlArgs(const ServerProcess& server, const std::vector<std::string>& args);
// {cairnctl, --server ADDRESS, [--credentials FILE,] args...}
std::vector<std::string> CtlArgsAt(const std::string& address, const std::string& credentials,
                                   const std::vector<std::string>& args);

// An agent named `name` of `server` with state under `dir`/`name`; the key
// file defaults to STATE_DIR/tenant.key. Nothing is run.
AgentIdentity NewAgentIdentity(const ServerProcess& server, const std::string& dir,
                               absl::string_view name, const std::string& key_file = "");
// `cairn-agent init`: creates the tenant key file.
absl::Status InitAgentKey(const AgentIdentity& agent);
// A one-use join token for the agent's tenant (`cairnctl token create`),
// then `cairn-agent enroll` with it.
absl::Status EnrollAgentCli(const AgentIdentity& agent);
// InitAgentKey, then EnrollAgentCli: an agent ready to back up.
absl::Status SetUpAgent(const AgentIdentity& agent);

// One `cairn-agent backup --json` and what its output says.
struct BackupOutcome {
  CommandResult command;
  std::string snapshot;  // "" unless the backup was acknowledged
  int64_t bytes_uploaded = -1;
  int64_t files = -1;
};
BackupOutcome AgentBackup(const AgentIdentity& agent, const std::string& root,
                          absl::string_view level, absl::Duration timeout = absl::Seconds(60));
// `cairn-agent restore --snapshot S --target DIR --json`.
CommandResult AgentRestore(const AgentIdentity& agent, const std::string& snapshot,
                           const std::string& target);

// `cairn-agent daemon` in the background, stderr to a log file.
class AgentDaemonProcess final {
 public:
  static absl::StatusOr<std::unique_ptr<AgentDaemonProcess>> Start(const AgentIdentity& agent);
  void Kill() { child_->Kill(); }
  // SIGTERM and wait; an error unless it exits 0 within 15 s.
  absl::Status Stop();
  std::string Log() const { return child_->Stderr(); }

 private:
  explicit AgentDaemonProcess(std::unique_ptr<ChildProcess> child) : child_(std::move(child)) {}
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace cairn::e2e

#endif  // CAIRN_TESTS_E2E_CLI_UTIL_H_

#include "tests/e2e/cli_util.h"

#include <signal.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tests/e2e/json_util.h"

namespace cairn::e2e {

std::vector<std::string> AgentArgs(const AgentIdentity& agent, absl::string_view command,
                                   const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      CAIRN_AGENT_BIN, std::string(command), "--server",      agent.server, "--name",
      agent.name,      "--state-dir",        agent.state_dir, "--key-file", agent.key_file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::vector<std::string> CtlArgs(const ServerProcess& server, const std::vector<std::string>& args) {
  return CtlArgsAt(server.address(), server.state_dir() + "/admin.credentials", args);
}

std::vector<std::string> CtlArgsAt(const std::string& address, const std::string& credentials,
                                   const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CAIRNCTL_BIN, "--server", address};
  if (!credentials.empty()) {
    argv.push_back("--credentials");
    argv.push_back(credentials);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

AgentIdentity NewAgentIdentity(const ServerProcess& server, const std::string& dir,
                               absl::string_view name, const std::string& key_file) {
  AgentIdentity agent;
  agent.server = server.address();
  agent.name = std::string(name);
  agent.state_dir = absl::StrCat(dir, "/", name);
  agent.key_file = key_file.empty() ? absl::StrCat(agent.state_dir, "/tenant.key") : key_file;
  agent.admin_credentials = server.state_dir() + "/admin.credentials";
  return agent;
}

absl::Status InitAgentKey(const AgentIdentity& agent) {
  CommandResult r = RunCommand(AgentArgs(agent, "init"));
  if (r.exit_code != 0) return absl::InternalError(r.Describe());
  return absl::OkStatus();
}

absl::Status EnrollAgentCli(const AgentIdentity& agent) {
  CommandResult token = RunCommand(CtlArgsAt(agent.server, agent.admin_credentials,
                                             {"token", "create", "--tenant", agent.tenant,
                                              "--agents", agent.name, "--uses", "1"}));
  if (token.exit_code != 0) return absl::InternalError(token.Describe());
  std::string text(absl::StripAsciiWhitespace(token.out));
  CommandResult enrolled = RunCommand(AgentArgs(agent, "enroll", {"--token", text}));
  if (enrolled.exit_code != 0) return absl::InternalError(enrolled.Describe());
  return absl::OkStatus();
}

absl::Status SetUpAgent(const AgentIdentity& agent) {
  RETURN_IF_ERROR(InitAgentKey(agent));
  return EnrollAgentCli(agent);
}

BackupOutcome AgentBackup(const AgentIdentity& agent, const std::string& root,
                          absl::string_view level, absl::Duration timeout) {
  BackupOutcome outcome;
  outcome.command = RunCommand(
      AgentArgs(agent, "backup", {"--root", root, "--level", std::string(level), "--json"}),
      timeout);
  if (outcome.command.exit_code == 0) outcome.snapshot = FirstSnapshotId(outcome.command.out);
  std::vector<int64_t> uploaded = JsonInts(outcome.command.out, "bytes_uploaded");
  if (!uploaded.empty()) outcome.bytes_uploaded = uploaded[0];
  std::vector<int64_t> files = JsonInts(outcome.command.out, "files");
  if (!files.empty()) outcome.files = files[0];
  return outcome;
}

CommandResult AgentRestore(const AgentIdentity& agent, const std::string& snapshot,
                           const std::string& target) {
  return RunCommand(
      AgentArgs(agent, "restore", {"--snapshot", snapshot, "--target", target, "--json"}));
}

absl::StatusOr<std::unique_ptr<AgentDaemonProcess>> AgentDaemonProcess::Start(
    const AgentIdentity& agent) {
  std::string log = absl::StrCat(agent.state_dir, ".daemon.log");
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child,
                   ChildProcess::Spawn(AgentArgs(agent, "daemon"), log + ".out", log));
  return std::unique_ptr<AgentDaemonProcess>(new AgentDaemonProcess(std::move(child)));
}

absl::Status AgentDaemonProcess::Stop() {
  child_->Signal(SIGTERM);
  if (!child_->Wait(absl::Seconds(15))) {
    child_->Kill();
    return absl::DeadlineExceededError("cairn-agent daemon did not stop within 15 s of SIGTERM");
  }
  if (child_->exit_code() != 0) {
    return absl::InternalError(
        absl::StrCat("cairn-agent daemon exited with ", child_->exit_code(), "; log:\n", Log()));
  }
  return absl::OkStatus();
}

}  // namespace cairn::e2e

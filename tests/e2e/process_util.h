// Processes for the end-to-end tests: one command run to completion with
// its output captured, a process left running in the background, and a
// cairn-server process that can be killed and restarted on the same port.
//
//   CommandResult r = RunCommand({CAIRNCTL_BIN, "--help"});
//   ASSERT_EQ(r.exit_code, 0) << r.Describe();
#ifndef CAIRN_TESTS_E2E_PROCESS_UTIL_H_
#define CAIRN_TESTS_E2E_PROCESS_UTIL_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cairn::e2e {

// The fields of each line of a daemon's log (common/log/log.h) whose event is
// `event`, oldest first. Lines that are not log lines are skipped.
std::vector<std::map<std::string, std::string>> LogEvents(absl::string_view log,
                                                          absl::string_view event);

struct CommandResult {
  std::string command;  // argv joined, for messages
  int exit_code = -1;   // -1 when the process died of a signal
  int term_signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
  // The command line, exit status and both outputs, for failure messages.
  std::string Describe() const;
};

// Runs argv[0] (a path, no $PATH search) with stdin from /dev/null and both
// outputs captured; SIGKILLs it when `timeout` passes.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Seconds(60));

// A process running in the background with stdout and stderr sent to files.
// The destructor SIGKILLs and reaps it if it is still running.
class ChildProcess final {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                             const std::string& stdout_path,
                                                             const std::string& stderr_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps without blocking; false once the process has exited.
  bool Running();
  void Signal(int sig);
  // Waits for the exit; false if `timeout` passed first (the process runs on).
  bool Wait(absl::Duration timeout);
  // SIGKILL and reap.
  void Kill();
  // After the exit: the exit code, or -1 when a signal ended it.
  int exit_code() const { return exit_code_; }
  int term_signal() const { return term_signal_; }
  // Output so far.
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  ChildProcess(pid_t pid, std::string stdout_path, std::string stderr_path)
      : pid_(pid), stdout_path_(std::move(stdout_path)), stderr_path_(std::move(stderr_path)) {}
  void Reaped(int wait_status);

  pid_t pid_;
  bool exited_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  std::string stdout_path_;
  std::string stderr_path_;
};

// cairn-server on 127.0.0.1 with its state in `state_dir`. The first start
// takes a free port; Restart() comes back on the same port so agents and
// daemons that know the old address reach the new process.
class ServerProcess final {
 public:
  // `config_file` may be empty. Returns once the server logs its port.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(const std::string& state_dir,
                                                              const std::string& config_file = "");
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string address() const;
  const std::string& state_dir() const { return state_dir_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  bool Running() { return child_ != nullptr && child_->Running(); }
  // SIGKILL, no chance to clean up.
  void Kill();
  // SIGTERM and wait; an error unless it exits 0 within 15 s.
  absl::Status Stop();
  // Starts again (after Kill or Stop) on the same state dir and port.
  absl::Status Restart();
  // Everything the current process wrote to stderr.
  std::string Log() const;

 private:
  ServerProcess(std::string state_dir, std::string config_file)
      : state_dir_(std::move(state_dir)), config_file_(std::move(config_file)) {}
  absl::Status Launch(int port);

  std::string state_dir_;
  std::string config_file_;
  int port_ = 0;
  int starts_ = 0;
  std::string log_path_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace cairn::e2e

#endif  // CAIRN_TESTS_E2E_PROCESS_UTIL_H_

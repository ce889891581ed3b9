#include "tests/e2e/process_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/log/log.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "tests/e2e/e2e_util.h"

namespace cairn::e2e {

std::vector<std::map<std::string, std::string>> LogEvents(absl::string_view log,
                                                          absl::string_view event) {
  std::vector<std::map<std::string, std::string>> events;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    absl::StatusOr<std::map<std::string, std::string>> fields = log::ParseLine(line);
    if (fields.ok() && (*fields)["event"] == event) events.push_back(*std::move(fields));
  }
  return events;
}
namespace {

// Owns a NULL-terminated argv for execv, built before fork() so the child
// only makes async-signal-safe calls.
class ExecArgv final {
 public:
  explicit ExecArgv(const std::vector<std::string>& args) : args_(args) {
    for (std::string& a : args_) ptrs_.push_back(a.data());
    ptrs_.push_back(nullptr);
  }
  char* const* get() const { return ptrs_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> ptrs_;
};

[[noreturn]] void ExecInChild(const ExecArgv& argv, int in_fd, int out_fd, int err_fd) {
  ::dup2(in_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  ::execv(argv.get()[0], argv.get());
  static constexpr char kMsg[] = "execv failed\n";
  (void)!::write(2, kMsg, sizeof(kMsg) - 1);
  ::_exit(127);
}

std::string ReadWholeFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, size_t{1} << 30);
  return text.ok() ? *std::move(text) : std::string();
}

}  // namespace

std::string CommandResult::Describe() const {
  std::string status = timed_out     ? "timed out"
                       : term_signal ? absl::StrCat("killed by signal ", term_signal)
                                     : absl::StrCat("exit ", exit_code);
  return absl::StrCat("$ ", command, "\n  -> ", status, "\n  stdout: ", out.substr(0, 4000),
                      "\n  stderr: ", err.substr(0, 4000));
}

CommandResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout) {
  CommandResult result;
  result.command = absl::StrJoin(argv, " ");
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = absl::StrCat("pipe: ", std::strerror(errno));
    return result;
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ExecArgv exec_argv(argv);
  pid_t pid = ::fork();
  if (pid == 0) ExecInChild(exec_argv, devnull, out_pipe[1], err_pipe[1]);
  ::close(devnull);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    result.err = absl::StrCat("fork: ", std::strerror(errno));
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }
  absl::Time deadline = absl::Now() + timeout;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buffer[65536];
  while (open_count > 0) {
    int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || fds[k].revents == 0) continue;
      ssize_t got = ::read(fds[k].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[k]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_count;
      }
    }
  }
  for (struct pollfd& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  return result;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::string& stdout_path,
    const std::string& stderr_path) {
  ASSIGN_OR_RETURN(UniqueFd out, OpenFile(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ASSIGN_OR_RETURN(UniqueFd err, OpenFile(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ASSIGN_OR_RETURN(UniqueFd in, OpenFile("/dev/null", O_RDONLY));
  ExecArgv exec_argv(argv);
  pid_t pid = ::fork();
  if (pid == 0) ExecInChild(exec_argv, in.get(), out.get(), err.get());
  if (pid < 0) return PosixError(errno, "fork", argv[0]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, stdout_path, stderr_path));
}

ChildProcess::~ChildProcess() { Kill(); }

void ChildProcess::Reaped(int wait_status) {
  exited_ = true;
  if (WIFEXITED(wait_status)) exit_code_ = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) term_signal_ = WTERMSIG(wait_status);
}

bool ChildProcess::Running() {
  if (exited_) return false;
  int status = 0;
  pid_t got = ::waitpid(pid_, &status, WNOHANG);
  if (got == pid_) Reaped(status);
  return !exited_;
}

void ChildProcess::Signal(int sig) {
  if (!exited_) ::kill(pid_, sig);
}

bool ChildProcess::Wait(absl::Duration timeout) {
  return WaitFor([this] { return !Running(); }, timeout, absl::Milliseconds(5));
}

void ChildProcess::Kill() {
  if (exited_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  Reaped(status);
}

std::string ChildProcess::Stdout() const { return ReadWholeFile(stdout_path_); }
std::string ChildProcess::Stderr() const { return ReadWholeFile(stderr_path_); }

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& state_dir, const std::string& config_file) {
  std::unique_ptr<ServerProcess> server(new ServerProcess(state_dir, config_file));
  RETURN_IF_ERROR(server->Launch(0));
  return server;
}

ServerProcess::~ServerProcess() { Kill(); }

std::string ServerProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::Status ServerProcess::Launch(int port) {
  // A restart may race the kernel releasing the old socket: retry briefly.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (true) {
    std::vector<std::string> argv = {CAIRN_SERVER_BIN, "--listen", absl::StrCat("127.0.0.1:", port),
                                     "--state-dir", state_dir_};
    if (!config_file_.empty()) {
      argv.push_back("--config");
      argv.push_back(config_file_);
    }
    log_path_ = absl::StrCat(state_dir_, ".server-", starts_++, ".log");
    ASSIGN_OR_RETURN(child_, ChildProcess::Spawn(argv, log_path_ + ".out", log_path_));
    int found = 0;
    WaitFor(
        [&] {
          for (const auto& fields : LogEvents(Log(), "server.listening")) {
            auto port = fields.find("port");
            if (port != fields.end() && absl::SimpleAtoi(port->second, &found)) return true;
          }
          return !child_->Running();
        },
        absl::Seconds(20), absl::Milliseconds(10));
    if (found > 0) {
      port_ = found;
      return absl::OkStatus();
    }
    bool exited = !child_->Running();
    std::string log = Log();
    child_->Kill();
    if (exited && port != 0 && log.find("cannot listen") != std::string::npos &&
        absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    return absl::InternalError(absl::StrCat("cairn-server did not come up (",
                                            exited ? "it exited" : "no port in its log",
                                            "); its log:\n", log));
  }
}

void ServerProcess::Kill() {
  if (child_ != nullptr) child_->Kill();
}

absl::Status ServerProcess::Stop() {
  if (child_ == nullptr || !child_->Running()) {
    return absl::FailedPreconditionError("cairn-server is not running");
  }
  child_->Signal(SIGTERM);
  if (!child_->Wait(absl::Seconds(15))) {
    child_->Kill();
    return absl::DeadlineExceededError("cairn-server did not stop within 15 s of SIGTERM");
  }
  if (child_->exit_code() != 0) {
    return absl::InternalError(absl::StrCat("cairn-server exited with ", child_->exit_code(),
                                            " (signal ", child_->term_signal(), "); log:\n",
                                            Log()));
  }
  return absl::OkStatus();
}

absl::Status ServerProcess::Restart() {
  if (child_ != nullptr && child_->Running()) {
    return absl::FailedPreconditionError("cairn-server is still running; Kill or Stop first");
  }
  return Launch(port_);
}

std::string ServerProcess::Log() const { return ReadWholeFile(log_path_); }

}  // namespace cairn::e2e

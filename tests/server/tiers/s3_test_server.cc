// Runs s3rver (tests/tools/s3rver/launch.js) under node for the S3 tier
// tests; see s3_test_server.h.
#include "tests/server/tiers/s3_test_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

extern char** environ;

namespace cairn {
namespace {

constexpr char kBucket[] = "cairn-test";
constexpr char kInstallHint[] = "run `make test` (it installs s3rver with npm)";
constexpr absl::Duration kStartTimeout = absl::Seconds(20);

bool IsFile(const std::string& path, int mode) { return ::access(path.c_str(), mode) == 0; }

// node on $PATH (or in the usual places): execve does not search.
std::string FindNode() {
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs = absl::StrSplit(path ? path : "", ':', absl::SkipEmpty());
  dirs.push_back("/usr/local/bin");
  dirs.push_back("/usr/bin");
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/node");
    if (IsFile(candidate, X_OK)) return candidate;
  }
  return "";
}

// A NULL-terminated array of C strings owning its storage, built before
// fork() so the child only makes async-signal-safe calls.
class CStrings final {
 public:
  explicit CStrings(std::vector<std::string> strings) : strings_(std::move(strings)) {
    for (std::string& s : strings_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  char* const* get() const { return ptrs_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> ptrs_;
};

// The test's environment with node's module path and the legacy OpenSSL
// provider (s3rver encrypts listing continuation tokens with DES).
std::vector<std::string> ChildEnvironment(const std::string& modules_dir) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "NODE_PATH=") || absl::StartsWith(*e, "NODE_OPTIONS=")) continue;
    env.emplace_back(*e);
  }
  env.push_back(absl::StrCat("NODE_PATH=", modules_dir));
  env.push_back("NODE_OPTIONS=--openssl-legacy-provider");
  return env;
}

// Reads what the launcher prints until a full "PORT <n>" line, its exit
// (EOF) or `deadline`. Returns the port, 0 if none came.
int ReadPort(int fd, absl::Time deadline, std::string* out) {
  while (true) {
    size_t newline = out->find('\n');
    if (newline != std::string::npos) {
      int port = 0;
      absl::string_view line = absl::string_view(*out).substr(0, newline);
      if (absl::ConsumePrefix(&line, "PORT ") && absl::SimpleAtoi(line, &port)) return port;
      return 0;
    }
    int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) return 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 0;
    if (n == 0) continue;
    char buffer[256];
    ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return 0;  // the launcher exited
    out->append(buffer, static_cast<size_t>(got));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<S3TestServer>> S3TestServer::Start(const std::string& data_dir) {
  return Start(data_dir, CAIRN_S3RVER_LAUNCHER, CAIRN_S3RVER_MODULES);
}

absl::StatusOr<std::unique_ptr<S3TestServer>> S3TestServer::Start(const std::string& data_dir,
                                                                  const std::string& launcher,
                                                                  const std::string& modules_dir) {
  if (!IsFile(absl::StrCat(modules_dir, "/@20minutes/s3rver/package.json"), R_OK)) {
    return absl::FailedPreconditionError(
        absl::StrCat("s3rver is not installed in ", modules_dir, ": ", kInstallHint));
  }
  if (!IsFile(launcher, R_OK)) {
    return absl::FailedPreconditionError(absl::StrCat("no s3rver launcher at ", launcher));
  }
  const std::string node = FindNode();
  if (node.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node (Node.js) is not on $PATH: ", kInstallHint));
  }
  const std::string log_path = absl::StrCat(data_dir, ".s3rver.log");
  ASSIGN_OR_RETURN(UniqueFd log, OpenFile(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return PosixError(errno, "pipe2", "s3rver stdin");
  UniqueFd in_read(in_pipe[0]), in_write(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return PosixError(errno, "pipe2", "s3rver stdout");
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);

  CStrings argv({node, launcher, data_dir, kBucket});
  CStrings envp(ChildEnvironment(modules_dir));
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_read.get(), 0);
    ::dup2(out_write.get(), 1);
    ::dup2(log.get(), 2);
    ::execve(argv.get()[0], argv.get(), envp.get());
    static constexpr char kMsg[] = "execve node failed\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  if (pid < 0) return PosixError(errno, "fork", node);
  in_read.reset();
  out_write.reset();
  std::unique_ptr<S3TestServer> server(
      new S3TestServer(data_dir, pid, in_write.release(), out_read.release()));

  std::string printed;
  server->port_ = ReadPort(server->stdout_fd_, absl::Now() + kStartTimeout, &printed);
  if (server->port_ > 0) return server;
  int status = 0;
  std::string why = absl::StrCat("no PORT line within ", absl::FormatDuration(kStartTimeout));
  pid_t reaped = 0;  // an exit closes stdout a moment before the process can be reaped
  for (absl::Time by = absl::Now() + absl::Seconds(1);
       (reaped = ::waitpid(pid, &status, WNOHANG)) == 0 && absl::Now() < by;) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (reaped == pid) {
    server->pid_ = -1;
    why = WIFEXITED(status) ? absl::StrCat("node exited with code ", WEXITSTATUS(status))
                            : absl::StrCat("node was killed by signal ", WTERMSIG(status));
  }
  return absl::InternalError(absl::StrCat("s3rver did not come up (", why, "); it printed \"",
                                          printed, "\"; its log (", log_path, "):\n", server->Log(),
                                          "\nIf modules are missing: ", kInstallHint));
}

S3TestServer::S3TestServer(std::string data_dir, pid_t pid, int stdin_fd, int stdout_fd)
    : data_dir_(std::move(data_dir)),
      bucket_(kBucket),
      pid_(pid),
      stdin_fd_(stdin_fd),
      stdout_fd_(stdout_fd) {}

S3TestServer::~S3TestServer() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);  // the launcher exits on EOF
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    int status = 0;
    pid_t got = 0;
    while ((got = ::waitpid(pid_, &status, WNOHANG)) == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (got == 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::string S3TestServer::endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

std::string S3TestServer::Log() const {
  absl::StatusOr<std::string> text =
      ReadFileToString(absl::StrCat(data_dir_, ".s3rver.log"), size_t{1} << 24);
  return text.ok() ? *std::move(text) : std::string();
}

S3TierOptions S3TestServer::Options(const std::string& prefix) const {
  return OptionsVia(endpoint(), prefix);
}

S3TierOptions S3TestServer::OptionsVia(const std::string& endpoint,
                                       const std::string& prefix) const {
  S3TierOptions options;
  options.endpoint = endpoint;
  options.region = "us-east-1";
  options.bucket = bucket_;
  options.prefix = prefix;
  options.path_style = true;
  options.access_key_id = "S3RVER";
  options.secret_access_key = "S3RVER";
  options.backoff_base = absl::Milliseconds(5);
  options.backoff_max = absl::Milliseconds(50);
  return options;
}

}  // namespace cairn

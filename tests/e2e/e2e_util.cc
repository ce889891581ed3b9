#include "tests/e2e/e2e_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <tuple>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"

namespace cairn::e2e {
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

// splitmix64: fast, deterministic, good enough to defeat compression and dedup.
class ByteStream final {
 public:
  explicit ByteStream(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  void Fill(char* out, size_t n, bool compressible) {
    static constexpr absl::string_view kWords[] = {"epoch ",       "loss=0.",    "step ", "lr ",
                                                   "checkpoint\n", "grad_norm ", "42 ",   "ok "};
    size_t i = 0;
    if (compressible) {
      while (i < n) {
        absl::string_view w = kWords[Next() % 8];
        size_t take = std::min(w.size(), n - i);
        std::memcpy(out + i, w.data(), take);
        i += take;
      }
      return;
    }
    for (; i + 8 <= n; i += 8) {
      uint64_t v = Next();
      std::memcpy(out + i, &v, 8);
    }
    uint64_t v = Next();
    std::memcpy(out + i, &v, n - i);
  }

 private:
  uint64_t state_;
};

std::string Printable(absl::string_view path) { return absl::CHexEscape(path); }

absl::StatusOr<std::string> FileDigest(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  absl::Cleanup free_ctx = [ctx] { EVP_MD_CTX_free(ctx); };
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string buffer(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(errno, "read", path);
    if (n == 0) break;
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator<(const InodeKey& o) const { return std::tie(dev, ino) < std::tie(o.dev, o.ino); }
};

absl::Status CaptureDir(const std::string& root, const std::string& rel, TreeManifest* tree,
                        std::map<InodeKey, std::vector<std::string>>* inodes) {
  std::string dir = rel.empty() ? root : absl::StrCat(root, "/", rel);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return PosixError(errno, "opendir", dir);
  absl::Cleanup close_dir = [d] { ::closedir(d); };
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string child_rel = rel.empty() ? name : absl::StrCat(rel, "/", name);
    std::string path = absl::StrCat(root, "/", child_rel);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return PosixError(errno, "lstat", path);
    EntryRecord r;
    r.mode = st.st_mode & 07777;
    r.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    if (S_ISREG(st.st_mode)) {
      r.type = 'f';
      r.size = static_cast<uint64_t>(st.st_size);
      ASSIGN_OR_RETURN(r.digest, FileDigest(path));
      if (st.st_nlink > 1) (*inodes)[InodeKey{st.st_dev, st.st_ino}].push_back(child_rel);
    } else if (S_ISDIR(st.st_mode)) {
      r.type = 'd';
    } else if (S_ISLNK(st.st_mode)) {
      r.type = 'l';
      std::string target(4096, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return PosixError(errno, "readlink", path);
      target.resize(static_cast<size_t>(n));
      r.link_target = std::move(target);
    } else {
      r.type = 'o';
    }
    (*tree)[child_rel] = r;
    if (r.type == 'd') RETURN_IF_ERROR(CaptureDir(root, child_rel, tree, inodes));
  }
  return absl::OkStatus();
}

// A checker for RFC 8259 JSON, enough to tell a script it can parse our output.
class JsonChecker final {
 public:
  explicit JsonChecker(absl::string_view s) : s_(s) {}

  bool Sequence() {
    Whitespace();
    if (i_ >= s_.size()) return false;
    while (i_ < s_.size()) {
      if (!Value(0)) return false;
      Whitespace();
    }
    return true;
  }

 private:
  void Whitespace() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) {
      ++i_;
    }
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Value(int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    if (c == '"') return String();
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c == 'n') return Literal("null");
    return Number();
  }
  bool Object(int depth) {
    Eat('{');
    Whitespace();
    if (Eat('}')) return true;
    while (true) {
      Whitespace();
      if (!String()) return false;
      Whitespace();
      if (!Eat(':')) return false;
      Whitespace();
      if (!Value(depth + 1)) return false;
      Whitespace();
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }
  bool Array(int depth) {
    Eat('[');
    Whitespace();
    if (Eat(']')) return true;
    while (true) {
      Whitespace();
      if (!Value(depth + 1)) return false;
      Whitespace();
      if (Eat(']')) return true;
      if (!Eat(',')) return false;
    }
  }
  bool String() {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        char e = s_[i_++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_++]))) {
              return false;
            }
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool Literal(absl::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool Digits() {
    size_t start = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ > start;
  }
  bool Number() {
    Eat('-');
    if (Eat('0')) {
      // no leading zeros
    } else if (!Digits()) {
      return false;
    }
    if (Eat('.') && !Digits()) return false;
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    return true;
  }

  absl::string_view s_;
  size_t i_ = 0;
};

// Positions just past `"key":` (and any spaces) for every occurrence.
std::vector<size_t> ValuePositions(absl::string_view json, absl::string_view key) {
  std::vector<size_t> positions;
  std::string needle = absl::StrCat("\"", key, "\"");
  size_t at = 0;
  while ((at = json.find(needle, at)) != absl::string_view::npos) {
    size_t i = at + needle.size();
    at = i;
    while (i < json.size() && json[i] == ' ') ++i;
    if (i >= json.size() || json[i] != ':') continue;
    ++i;
    while (i < json.size() && json[i] == ' ') ++i;
    positions.push_back(i);
  }
  return positions;
}

// Directories made by NewTestDir during the current test.
std::vector<std::string>& CurrentTestDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

int RemoveEntry(const char* path, const struct stat*, int flag, struct FTW*) {
  if (flag == FTW_DP) {
    ::rmdir(path);
  } else {
    ::unlink(path);
  }
  return 0;
}

// Removes a passing test's directories (a failing test's stay for a look;
// CAIRN_E2E_KEEP=1 keeps them all). Never crosses into a mount left behind.
class TestDirCleaner final : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    std::vector<std::string> dirs = std::move(CurrentTestDirs());
    CurrentTestDirs().clear();
    if (info.result()->Failed() || std::getenv("CAIRN_E2E_KEEP") != nullptr) return;
    for (const std::string& dir : dirs) {
      ::nftw(dir.c_str(), RemoveEntry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    }
  }
};

[[maybe_unused]] const bool kCleanerInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new TestDirCleaner());
  return true;
}();

}  // namespace

std::string NewTestDir(absl::string_view label) {
  static std::atomic<int> counter{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = info != nullptr ? absl::StrCat(info->test_suite_name(), ".", info->name())
                                     : std::string("none");
  std::string base = ::testing::TempDir();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string dir =
      absl::StrCat(base, "/cairn_e2e_", label, "_", test, "_", ::getpid(), "_", counter++);
  absl::Status made = MakeDirectories(dir, 0755);
  EXPECT_TRUE(made.ok()) << made;
  CurrentTestDirs().push_back(dir);
  return dir;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout, absl::Duration interval) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

// ---------------------------------------------------------------------------
// Processes.

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
          std::string log = Log();
          size_t at = log.find("listening on port ");
          if (at != std::string::npos) {
            size_t start = at + strlen("listening on port ");
            size_t end = log.find_first_not_of("0123456789", start);
            if (end != std::string::npos &&
                absl::SimpleAtoi(log.substr(start, end - start), &found)) {
              return true;
            }
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

std::vector<std::string> AgentArgs(const AgentIdentity& agent, absl::string_view command,
                                   const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      CAIRN_AGENT_BIN, std::string(command), "--server",      agent.server, "--name",
      agent.name,      "--state-dir",        agent.state_dir, "--key-file", agent.key_file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::vector<std::string> CtlArgs(const std::string& server, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CAIRNCTL_BIN, "--server", server};
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
  return agent;
}

absl::Status InitAgentKey(const AgentIdentity& agent) {
  CommandResult r = RunCommand(AgentArgs(agent, "init"));
  if (r.exit_code != 0) return absl::InternalError(r.Describe());
  return absl::OkStatus();
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

// ---------------------------------------------------------------------------
// File trees.

absl::Status WriteRandomFile(const std::string& path, uint64_t size, uint64_t seed, mode_t mode,
                             bool compressible) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  ByteStream bytes(seed);
  std::string block;
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(size - done, 1 << 20));
    block.resize(n);
    bytes.Fill(block.data(), n, compressible);
    RETURN_IF_ERROR(WriteFully(fd.get(), block, path));
    done += n;
  }
  if (::fchmod(fd.get(), mode) != 0) return PosixError(errno, "fchmod", path);
  return fd.Close(path);
}

absl::Status OverwriteRange(const std::string& path, uint64_t offset, uint64_t length,
                            uint64_t seed) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY));
  std::string block(static_cast<size_t>(length), '\0');
  ByteStream(seed).Fill(block.data(), block.size(), false);
  if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) {
    return PosixError(errno, "lseek", path);
  }
  RETURN_IF_ERROR(WriteFully(fd.get(), block, path));
  return fd.Close(path);
}

absl::Status SetMtime(const std::string& path, int64_t unix_seconds, int64_t nanos) {
  struct timespec times[2];
  times[0].tv_sec = unix_seconds;
  times[0].tv_nsec = nanos;
  times[1] = times[0];
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return PosixError(errno, "utimensat", path);
  }
  return absl::OkStatus();
}

absl::Status BuildSampleTree(const std::string& root, uint64_t seed, uint64_t large_bytes) {
  auto at = [&root](absl::string_view rel) { return absl::StrCat(root, "/", rel); };
  auto symlink = [&](absl::string_view target, absl::string_view rel) -> absl::Status {
    std::string t(target);
    if (::symlink(t.c_str(), at(rel).c_str()) != 0) return PosixError(errno, "symlink", at(rel));
    return absl::OkStatus();
  };
  auto hardlink = [&](absl::string_view existing, absl::string_view rel) -> absl::Status {
    if (::link(at(existing).c_str(), at(rel).c_str()) != 0) {
      return PosixError(errno, "link", at(rel));
    }
    return absl::OkStatus();
  };
  ByteStream pick(seed ^ 0x5eed);
  uint64_t s = seed * 1000;
  RETURN_IF_ERROR(MakeDirectories(root, 0755));
  for (const char* dir :
       {"a/b/c/d/e", "empty_dir", "dir with space", "private", "hl", "many", "odd"}) {
    RETURN_IF_ERROR(MakeDirectories(at(dir), 0755));
  }
  // Sizes on and around the edges a chunker or reader might get wrong.
  const std::pair<const char*, uint64_t> sized[] = {
      {"empty", 0},
      {"one", 1},
      {"b4095", 4095},
      {"b4096", 4096},
      {"b4097", 4097},
      {"b65536", 65536},
      {"mib_plus_7", 1048583},
      {"a/b/c/d/e/deep.txt", 777},
      {"dir with space/file name.txt", 1234},
  };
  for (const auto& [rel, size] : sized) RETURN_IF_ERROR(WriteRandomFile(at(rel), size, ++s));
  if (large_bytes > 0) RETURN_IF_ERROR(WriteRandomFile(at("large.bin"), large_bytes, ++s));
  RETURN_IF_ERROR(WriteRandomFile(at("log.txt"), 300000, ++s, 0644, /*compressible=*/true));
  for (int i = 0; i < 120; ++i) {
    RETURN_IF_ERROR(WriteRandomFile(at(absl::StrFormat("many/f%03d", i)), pick.Next() % 9000, ++s));
  }
  // Modes.
  RETURN_IF_ERROR(WriteRandomFile(at("ro.txt"), 100, ++s, 0400));
  RETURN_IF_ERROR(WriteRandomFile(at("exec.sh"), 200, ++s, 0755));
  RETURN_IF_ERROR(WriteRandomFile(at("group.txt"), 300, ++s, 0640));
  RETURN_IF_ERROR(WriteRandomFile(at("private/secret"), 400, ++s, 0600));
  // Symlinks: relative, upward, absolute, dangling, to a directory.
  RETURN_IF_ERROR(symlink("one", "link_rel"));
  RETURN_IF_ERROR(symlink("../../one", "a/b/link_up"));
  RETURN_IF_ERROR(symlink("/etc/hostname", "link_abs"));
  RETURN_IF_ERROR(symlink("no/such/file", "dangling"));
  RETURN_IF_ERROR(symlink("a/b", "link_dir"));
  // Hardlinks, one of them across directories.
  RETURN_IF_ERROR(WriteRandomFile(at("hl/orig"), 100000, ++s));
  RETURN_IF_ERROR(hardlink("hl/orig", "hl/second"));
  RETURN_IF_ERROR(hardlink("hl/orig", "a/b/third_link"));
  // Names that break quoting, encodings and length assumptions.
  const std::string odd_names[] = {
      "\xc3\xbc"
      "n\xc3\xaf"
      "c\xc3\xb6"
      "d\xc3\xa9.txt",  // üïcödé.txt
      "new\nline",
      "tab\tname",
      "-leading-dash",
      "quote'\"both",
      "*?[glob]",
      ".hidden",
      "..dots",
      "back\\slash",
      "%s%n",
      "\xff\xfe-not-utf8",
      std::string(255, 'n'),
  };
  for (const std::string& name : odd_names) {
    RETURN_IF_ERROR(WriteRandomFile(at(absl::StrCat("odd/", name)), pick.Next() % 3000, ++s));
  }
  // Times: old, with nanoseconds; set last so creating children does not move them.
  RETURN_IF_ERROR(WriteRandomFile(at("old.txt"), 50, ++s));
  RETURN_IF_ERROR(SetMtime(at("old.txt"), 1000000000, 123456789));
  RETURN_IF_ERROR(SetMtime(at("link_rel"), 1100000000, 5));
  RETURN_IF_ERROR(SetMtime(at("empty_dir"), 1200000000, 999999999));
  RETURN_IF_ERROR(SetMtime(at("a/b/c"), 1300000000, 1));
  if (::chmod(at("private").c_str(), 0700) != 0) return PosixError(errno, "chmod", at("private"));
  return absl::OkStatus();
}

absl::StatusOr<TreeManifest> CaptureTree(const std::string& root) {
  TreeManifest tree;
  std::map<InodeKey, std::vector<std::string>> inodes;
  RETURN_IF_ERROR(CaptureDir(root, "", &tree, &inodes));
  for (auto& [key, paths] : inodes) {
    if (paths.size() < 2) continue;
    std::string first = *std::min_element(paths.begin(), paths.end());
    for (const std::string& p : paths) tree[p].hardlink_group = first;
  }
  return tree;
}

std::vector<std::string> CompareTrees(const TreeManifest& expected, const TreeManifest& actual,
                                      const CompareOptions& options) {
  std::vector<std::string> out;
  for (const auto& [path, want] : expected) {
    auto it = actual.find(path);
    std::string p = Printable(path);
    if (it == actual.end()) {
      out.push_back(absl::StrCat("missing: ", p));
      continue;
    }
    const EntryRecord& got = it->second;
    if (got.type != want.type) {
      out.push_back(absl::StrCat(p, ": type ", std::string(1, got.type), ", want ",
                                 std::string(1, want.type)));
      continue;
    }
    if (got.type != 'l' && got.mode != want.mode) {
      out.push_back(absl::StrFormat("%s: mode %04o, want %04o", p, got.mode, want.mode));
    }
    if (got.size != want.size) {
      out.push_back(absl::StrCat(p, ": size ", got.size, ", want ", want.size));
    } else if (got.digest != want.digest) {
      out.push_back(absl::StrCat(p, ": content differs"));
    }
    if (got.link_target != want.link_target) {
      out.push_back(absl::StrCat(p, ": link target \"", Printable(got.link_target), "\", want \"",
                                 Printable(want.link_target), "\""));
    }
    if (got.hardlink_group != want.hardlink_group) {
      out.push_back(absl::StrCat(p, ": hardlinked with \"", Printable(got.hardlink_group),
                                 "\", want \"", Printable(want.hardlink_group), "\""));
    }
    bool check_mtime = options.mtimes && (got.type != 'd' || options.directory_mtimes);
    if (check_mtime && got.mtime_ns != want.mtime_ns) {
      out.push_back(absl::StrCat(p, ": mtime ", got.mtime_ns, " ns, want ", want.mtime_ns));
    }
  }
  for (const auto& [path, got] : actual) {
    if (!expected.contains(path)) out.push_back(absl::StrCat("unexpected: ", Printable(path)));
  }
  return out;
}

std::vector<std::string> CompareDirectories(const std::string& expected_root,
                                            const std::string& actual_root,
                                            const CompareOptions& options) {
  absl::StatusOr<TreeManifest> expected = CaptureTree(expected_root);
  if (!expected.ok())
    return {absl::StrCat("reading expected tree: ", expected.status().ToString())};
  absl::StatusOr<TreeManifest> actual = CaptureTree(actual_root);
  if (!actual.ok()) return {absl::StrCat("reading actual tree: ", actual.status().ToString())};
  return CompareTrees(*expected, *actual, options);
}

std::string FormatDifferences(const std::vector<std::string>& differences, size_t max) {
  std::vector<std::string> shown(differences.begin(),
                                 differences.begin() + std::min(max, differences.size()));
  std::string text =
      absl::StrCat(differences.size(), " differences:\n  ", absl::StrJoin(shown, "\n  "));
  if (differences.size() > max) absl::StrAppend(&text, "\n  ...");
  return text;
}

uint64_t TotalFileBytes(const TreeManifest& tree) {
  uint64_t total = 0;
  for (const auto& [path, r] : tree) {
    if (r.type != 'f') continue;
    if (!r.hardlink_group.empty() && r.hardlink_group != path) continue;
    total += r.size;
  }
  return total;
}

// ---------------------------------------------------------------------------
// Server state.

std::vector<std::string> CatalogProblems(const std::string& catalog_path,
                                         const std::string& pack_dir) {
  std::vector<std::string> problems;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(catalog_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  absl::Cleanup close_db = [db] { sqlite3_close(db); };
  if (rc != SQLITE_OK) {
    problems.push_back(absl::StrCat("cannot open ", catalog_path, ": ", sqlite3_errstr(rc)));
    return problems;
  }
  // Runs `sql`; each row's columns joined by '|'.
  auto query = [&](const char* sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      problems.push_back(absl::StrCat(sql, ": ", sqlite3_errmsg(db)));
      return rows;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> cols;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* text = sqlite3_column_text(stmt, i);
        cols.push_back(text == nullptr ? "NULL" : reinterpret_cast<const char*>(text));
      }
      rows.push_back(absl::StrJoin(cols, "|"));
    }
    if (rc != SQLITE_DONE) problems.push_back(absl::StrCat(sql, ": ", sqlite3_errmsg(db)));
    sqlite3_finalize(stmt);
    return rows;
  };
  std::vector<std::string> integrity = query("PRAGMA integrity_check");
  if (integrity != std::vector<std::string>{"ok"}) {
    problems.push_back(absl::StrCat("integrity_check: ", absl::StrJoin(integrity, "; ")));
  }
  for (const std::string& row : query("PRAGMA foreign_key_check")) {
    problems.push_back(absl::StrCat("foreign_key_check: ", row));
  }
  for (const std::string& row : query("SELECT count(*) FROM chunks WHERE pack_id NOT IN "
                                      "(SELECT id FROM packs)")) {
    if (row != "0") problems.push_back(absl::StrCat(row, " chunk rows name no pack row"));
  }
  std::map<std::string, uint64_t> files = ListPackFiles(pack_dir);
  for (const std::string& row : query("SELECT name, size FROM packs")) {
    std::vector<std::string> cols = absl::StrSplit(row, '|');
    uint64_t size = 0;
    if (cols.size() != 2 || !absl::SimpleAtoi(cols[1], &size)) {
      problems.push_back(absl::StrCat("odd pack row: ", row));
      continue;
    }
    auto it = files.find(cols[0]);
    if (it == files.end()) {
      problems.push_back(
          absl::StrCat("pack ", cols[0], " is in the catalog but not in ", pack_dir));
    } else if (it->second != size) {
      problems.push_back(absl::StrCat("pack ", cols[0], " is ", it->second,
                                      " bytes on disk, the catalog says ", size));
    }
  }
  return problems;
}

std::map<std::string, uint64_t> ListPackFiles(const std::string& pack_dir) {
  std::map<std::string, uint64_t> files;
  DIR* d = ::opendir(pack_dir.c_str());
  if (d == nullptr) return files;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || absl::StrContains(name, "~")) continue;
    struct stat st;
    if (::stat(absl::StrCat(pack_dir, "/", name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      files[name] = static_cast<uint64_t>(st.st_size);
    }
  }
  ::closedir(d);
  return files;
}

// ---------------------------------------------------------------------------
// JSON.

bool IsValidJson(absl::string_view text) { return JsonChecker(text).Sequence(); }

std::vector<std::string> JsonStrings(absl::string_view json, absl::string_view key) {
  std::vector<std::string> values;
  for (size_t i : ValuePositions(json, key)) {
    if (i >= json.size() || json[i] != '"') continue;
    std::string value;
    for (++i; i < json.size() && json[i] != '"'; ++i) {
      if (json[i] == '\\' && i + 1 < json.size()) value += json[i++];
      value += json[i];
    }
    values.push_back(std::move(value));
  }
  return values;
}

std::vector<int64_t> JsonInts(absl::string_view json, absl::string_view key) {
  std::vector<int64_t> values;
  for (size_t i : ValuePositions(json, key)) {
    if (i < json.size() && json[i] == '"') ++i;
    size_t end = i;
    if (end < json.size() && json[end] == '-') ++end;
    while (end < json.size() && std::isdigit(static_cast<unsigned char>(json[end]))) ++end;
    int64_t v;
    if (absl::SimpleAtoi(json.substr(i, end - i), &v)) values.push_back(v);
  }
  return values;
}

std::vector<bool> JsonBools(absl::string_view json, absl::string_view key) {
  std::vector<bool> values;
  for (size_t i : ValuePositions(json, key)) {
    if (json.substr(i, 4) == "true") values.push_back(true);
    if (json.substr(i, 5) == "false") values.push_back(false);
  }
  return values;
}

std::vector<std::string> JsonArrayObjects(absl::string_view json, absl::string_view key) {
  std::vector<std::string> objects;
  std::vector<size_t> positions = ValuePositions(json, key);
  if (positions.empty() || positions[0] >= json.size() || json[positions[0]] != '[') {
    return objects;
  }
  int depth = 0;
  bool in_string = false;
  size_t start = 0;
  for (size_t i = positions[0]; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (depth == 1 && c == '{') start = i;
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
      if (depth == 1 && c == '}') objects.emplace_back(json.substr(start, i - start + 1));
      if (depth == 0) break;
    }
  }
  return objects;
}

std::string FirstSnapshotId(absl::string_view json) {
  size_t at = 0;
  while ((at = json.find("\"s-", at)) != absl::string_view::npos) {
    size_t end = at + 3;
    while (end < json.size() && std::isxdigit(static_cast<unsigned char>(json[end]))) ++end;
    if (end > at + 3 && end < json.size() && json[end] == '"') {
      return std::string(json.substr(at + 1, end - at - 1));
    }
    at = end;
  }
  return "";
}

}  // namespace cairn::e2e

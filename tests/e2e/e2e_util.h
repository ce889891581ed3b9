// End-to-end test harness: real cairn-server, cairn-agent and cairnctl
// processes on loopback, a fresh directory per test, generated file trees and
// an exact comparison of two trees (content, type, mode, link target, mtime).
//
//   std::string dir = NewTestDir("backup");
//   auto server = ServerProcess::Start(dir + "/server");  // StatusOr
//   CommandResult r = RunCommand(CtlArgs((*server)->address(), {"status", "--json"}));
#ifndef CAIRN_TESTS_E2E_E2E_UTIL_H_
#define CAIRN_TESTS_E2E_E2E_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cairn::e2e {

// A new empty directory under ::testing::TempDir(), unique to this process,
// test and call. Left in place so a failing test can be inspected.
std::string NewTestDir(absl::string_view label);

// Polls `done` every `interval` until it returns true or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout,
             absl::Duration interval = absl::Milliseconds(20));

// ---------------------------------------------------------------------------
// Processes.

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

// What identifies one agent on the command line.
struct AgentIdentity {
  std::string server;  // HOST:PORT
  std::string name;
  std::string state_dir;
  std::string key_file;
};

// {cairn-agent, command, --server ..., --name ..., --state-dir ..., --key-file ..., extra...}
std::vector<std::string> AgentArgs(const AgentIdentity& agent, absl::string_view command,
                                   const std::vector<std::string>& extra = {});
// {cairnctl, --server ADDRESS, args...}
std::vector<std::string> CtlArgs(const std::string& server, const std::vector<std::string>& args);

// An agent named `name` of `server` with state under `dir`/`name`; the key
// file defaults to STATE_DIR/tenant.key. Nothing is run.
AgentIdentity NewAgentIdentity(const ServerProcess& server, const std::string& dir,
                               absl::string_view name, const std::string& key_file = "");
// `cairn-agent init`: creates the tenant key file.
absl::Status InitAgentKey(const AgentIdentity& agent);

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

// ---------------------------------------------------------------------------
// File trees.

// Creates `path` (parents must exist) with `size` bytes derived from `seed`:
// incompressible unless `compressible`. Replaces an existing file's content.
absl::Status WriteRandomFile(const std::string& path, uint64_t size, uint64_t seed,
                             mode_t mode = 0644, bool compressible = false);
// Overwrites `length` bytes at `offset` in place (size grows only if needed).
absl::Status OverwriteRange(const std::string& path, uint64_t offset, uint64_t length,
                            uint64_t seed);
// Sets mtime (and atime) of `path`, without following a symlink.
absl::Status SetMtime(const std::string& path, int64_t unix_seconds, int64_t nanos);

// A tree meant to trip a backup system: empty and ~`large_bytes` files, sizes
// around block boundaries, deep and empty directories, symlinks (relative,
// absolute, dangling, to a directory), hardlinks across directories, odd
// names (spaces, newline, non-UTF-8, 255 bytes, leading dash), odd modes and
// old or nanosecond mtimes. Deterministic in `seed`.
absl::Status BuildSampleTree(const std::string& root, uint64_t seed, uint64_t large_bytes);

struct EntryRecord {
  char type = '?';  // 'f' file, 'd' directory, 'l' symlink, 'o' other
  mode_t mode = 0;  // permission bits only
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string link_target;
  std::string digest;  // SHA-256 of a file's content
  // For a file with several names in the tree: the smallest of those paths.
  std::string hardlink_group;
};
// Relative path -> record; the root itself is not included.
using TreeManifest = std::map<std::string, EntryRecord>;

absl::StatusOr<TreeManifest> CaptureTree(const std::string& root);

struct CompareOptions {
  bool mtimes = true;
  bool directory_mtimes = true;
};
// Every difference, human-readable; empty when the trees are identical.
std::vector<std::string> CompareTrees(const TreeManifest& expected, const TreeManifest& actual,
                                      const CompareOptions& options = {});
// CaptureTree of both and CompareTrees; a capture error is one difference.
std::vector<std::string> CompareDirectories(const std::string& expected_root,
                                            const std::string& actual_root,
                                            const CompareOptions& options = {});
// Joins differences for a failure message (at most `max` lines).
std::string FormatDifferences(const std::vector<std::string>& differences, size_t max = 20);

// Total bytes of regular files in a manifest (each hardlinked inode once).
uint64_t TotalFileBytes(const TreeManifest& tree);

// ---------------------------------------------------------------------------
// The server's state on disk (read only; stop the server first).

// Problems with a stopped server's catalog: PRAGMA integrity_check and
// foreign_key_check, and every pack row whose file is missing from
// `pack_dir` or has another size. Empty when all is well.
std::vector<std::string> CatalogProblems(const std::string& catalog_path,
                                         const std::string& pack_dir);
// Names of committed pack files in a local tier directory (temp files, whose
// names contain '~', left out) with their sizes.
std::map<std::string, uint64_t> ListPackFiles(const std::string& pack_dir);

// ---------------------------------------------------------------------------
// JSON, just enough for the CLI's output.

// True if `text` is one or more JSON values separated by whitespace (the
// one-object-per-line output of `cairnctl ls --json` included).
bool IsValidJson(absl::string_view text);
// Every string value of "key":"..." anywhere in `json` (escapes kept raw).
std::vector<std::string> JsonStrings(absl::string_view json, absl::string_view key);
// Every integer value of "key": N or "key":"N" (protobuf quotes int64s).
std::vector<int64_t> JsonInts(absl::string_view json, absl::string_view key);
// Every boolean value of "key": true|false.
std::vector<bool> JsonBools(absl::string_view json, absl::string_view key);
// The text of each object in the first array named `key` ("agents":[{...},...]).
std::vector<std::string> JsonArrayObjects(absl::string_view json, absl::string_view key);
// The first snapshot id ("s-" + hex) in `json`, or "".
std::string FirstSnapshotId(absl::string_view json);

}  // namespace cairn::e2e

#endif  // CAIRN_TESTS_E2E_E2E_UTIL_H_

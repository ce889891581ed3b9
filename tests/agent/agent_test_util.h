// Test fixtures for agent tests: a real cairn-server started in-process on a
// loopback port (TLS), an agent identity (config, fresh tenant key, enrolled
// with a join token through the real `EnrollAgent`, its own connection,
// Hello done), and
// helpers to back up and restore real temp directories, to plant tampered
// snapshots straight into the catalog, and small file helpers. Tree
// comparison (CaptureTree, DiffManifests) is in tree_manifest_util.h.
//
//   CAIRN_ASSERT_OK_AND_ASSIGN(auto env, AgentTestEnv::Start("roundtrip"));
//   CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult b, env->Backup(src, v1::BACKUP_LEVEL_FULL));
#ifndef CAIRN_TESTS_AGENT_AGENT_TEST_UTIL_H_
#define CAIRN_TESTS_AGENT_AGENT_TEST_UTIL_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/agent_config.h"
#include "agent/backup_runner.h"
#include "agent/restore_executor.h"
#include "agent/server_connection.h"
#include "cairn/v1/config.pb.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/agent/tree_manifest_util.h"  // tests compare trees with these
#include "tests/test_status.h"

namespace cairn {

// A new, empty directory under ::testing::TempDir(), unique to this process
// and call. Tests leave it behind on failure for inspection and remove it
// themselves on success (RemoveTree).
std::string MakeTestDir(absl::string_view label);
// rm -rf without following symlinks; ignores errors.
void RemoveTree(const std::string& path);

// One agent: its resolved config, its tenant crypto, its credentials and
// its own connection to the server (which knows it by its certificate).
struct AgentIdentity {
  v1::AgentConfig config;
  std::unique_ptr<AgentCrypto> crypto;
  v1::ClientCredentials credentials;
  std::unique_ptr<ServerConnection> connection;
};

class AgentTestEnv final {
 public:
  static constexpr char kTenant[] = "t1";
  static constexpr char kAgentName[] = "agent-a";

  // Starts a server in <base>/server and agent `kAgentName` with a fresh key
  // in <base>/agent-a, and says Hello.
  static absl::StatusOr<std::unique_ptr<AgentTestEnv>> Start(absl::string_view label);
  // The same with the server's core options (clock, SQLite VFS, ...).
  static absl::StatusOr<std::unique_ptr<AgentTestEnv>> Start(absl::string_view label,
                                                             CoreOptions options);
  ~AgentTestEnv();
  // Stops the server (as a crash would: no clean-up beyond its destructor)
  // and starts a new one on the same state directory with `options`; the
  // agent reconnects to it.
  absl::Status RestartServer(CoreOptions options = CoreOptions());
  // Stops the server for good (RestartServer brings one back).
  void StopServer();
  // Stops the server but keeps the agent's connection, which then points at
  // nothing: what an agent sees when its server dies.
  void KillServer();
  AgentTestEnv(const AgentTestEnv&) = delete;
  AgentTestEnv& operator=(const AgentTestEnv&) = delete;

  const std::string& base() const { return base_; }
  CairnServer* server() { return server_.get(); }
  // Small-file bundles (agent/file_bundles.h) of this env's agent; 0 stores
  // every file in chunks of its own, as tests of chunk-level paths need.
  void SetBundleFileBytes(uint32_t bytes) {
    agent_.crypto->bundle_file_bytes = bytes;
    agent_.config.set_bundle_file_bytes(bytes);
  }
  // Agent-a's connection.
  ServerConnection* connection() { return agent_.connection.get(); }
  const AgentIdentity& agent() const { return agent_; }
  std::string server_state_dir() const { return base_ + "/server"; }

  // Another agent of the same tenant, with a copy of the tenant key in its
  // own state directory; enrolled, Hello done.
  absl::StatusOr<AgentIdentity> AddAgent(const std::string& name);
  // A join token for `tenant` (default kTenant) that enrolls agents named
  // `glob`, made as the server itself would for an admin.
  absl::StatusOr<std::string> MakeJoinToken(const std::string& glob,
                                            const std::string& tenant = kTenant);

  absl::StatusOr<BackupResult> Backup(const std::string& root, v1::BackupLevel level);
  absl::StatusOr<RestoreResult> Restore(const RestoreOptions& options);
  absl::StatusOr<RestoreResult> Restore(const std::string& snapshot_id, const std::string& target);

  // Tampering, bypassing the server's validation.
  // Stores `tree` under the SHA-256 of its bytes (the honest id); returns it.
  absl::StatusOr<std::string> PutRawTree(const v1::Tree& tree);
  // Stores `data` under an arbitrary id.
  absl::Status PutRawTreeAs(const std::string& id, const std::string& data);
  // A committed snapshot of agent-a whose root is `root_tree_id`, its
  // manifest signed with the tenant key unless `signed_manifest` is false
  // (then it carries a MAC made with another key: a forgery). With
  // `signed_as_id`, the MAC names that snapshot id instead of its own (an
  // older snapshot's manifest shown under a newer id).
  absl::StatusOr<std::string> CommitRawSnapshot(const std::string& root_tree_id,
                                                bool signed_manifest = true,
                                                const std::string& signed_as_id = "");
  absl::StatusOr<v1::Tree> GetRawTree(const std::string& id);
  // Every entry of the directory whose tree is `id`, its pages read in order.
  absl::StatusOr<std::vector<v1::TreeEntry>> ReadDirectory(const std::string& id);

 private:
  AgentTestEnv() = default;
  absl::Status Hello(const AgentIdentity& agent);
  absl::StatusOr<AgentIdentity> MakeAgent(const std::string& name, bool new_key);
  std::string address() const;

  std::string base_;
  std::unique_ptr<CairnServer> server_;
  AgentIdentity agent_;
};

// Small file helpers; each returns a Status that names the path.
absl::Status WriteFile(const std::string& path, absl::string_view data, mode_t mode = 0644);
absl::Status AppendFile(const std::string& path, absl::string_view data);
absl::StatusOr<std::string> ReadFile(const std::string& path);
absl::Status SetMtime(const std::string& path, int64_t seconds);
// Deterministic pseudo-random bytes.
std::string RandomBytes(size_t n, uint64_t seed);
// Every name in `dir` except "." and "..", sorted.
std::vector<std::string> ListDir(const std::string& dir);
// True when some error's path equals `path`.
bool HasErrorFor(const std::vector<v1::FileError>& errors, absl::string_view path);
std::string DescribeErrors(const std::vector<v1::FileError>& errors);

// Restores `snapshot` whole into `target` (a new directory) through `env`
// and adds a test failure unless it has no errors and is exactly `want`.
void ExpectRestoresTo(AgentTestEnv* env, const std::string& snapshot, const TreeManifest& want,
                      const std::string& target);

// A fixture around one AgentTestEnv (the subclass starts it in SetUp): its
// base directory is removed when the test passed; restores go to numbered
// directories in it.
class AgentEnvTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }
  void ExpectRestoresTo(const std::string& snapshot, const TreeManifest& want) {
    cairn::ExpectRestoresTo(env_.get(), snapshot, want,
                            env_->base() + "/restore-" + std::to_string(targets_++));
  }

  std::unique_ptr<AgentTestEnv> env_;
  std::string src_;  // what the test backs up
  int targets_ = 0;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_AGENT_AGENT_TEST_UTIL_H_

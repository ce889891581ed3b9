#include "tests/agent/agent_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/agent_identity.h"
#include "agent/tree_spool.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "common/tree_id.h"
#include "common/tree_pages.h"
#include "tests/test_dir.h"

namespace cairn {

std::string MakeTestDir(absl::string_view label) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return NewTempDir(absl::StrCat(label, "_", info != nullptr ? info->name() : "x"));
}

void RemoveTree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

absl::StatusOr<std::unique_ptr<AgentTestEnv>> AgentTestEnv::Start(absl::string_view label) {
  return Start(label, CoreOptions{.run_scheduler = true});
}

absl::StatusOr<std::unique_ptr<AgentTestEnv>> AgentTestEnv::Start(absl::string_view label,
                                                                  CoreOptions options) {
  // gRPC shuts its library down when its last object goes, and that can wait
  // ~10 s for an executor thread's timed poll: keep it initialised for the
  // whole test binary so a test's teardown is quick.
  static const bool grpc_kept_alive = [] {
    grpc_init();
    return true;
  }();
  (void)grpc_kept_alive;
  std::unique_ptr<AgentTestEnv> env(new AgentTestEnv());
  env->base_ = MakeTestDir(label);
  RETURN_IF_ERROR(env->RestartServer(std::move(options)));
  ASSIGN_OR_RETURN(env->agent_, env->MakeAgent(kAgentName, /*new_key=*/true));
  return env;
}

void AgentTestEnv::KillServer() {
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
}

void AgentTestEnv::StopServer() {
  agent_.connection.reset();
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
}

std::string AgentTestEnv::address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

absl::Status AgentTestEnv::RestartServer(CoreOptions options) {
  StopServer();
  v1::ServerConfig server_config;
  server_config.set_listen("127.0.0.1:0");
  server_config.set_state_dir(base_ + "/server");
  ASSIGN_OR_RETURN(server_, CairnServer::Start(server_config, std::move(options)));
  if (agent_.crypto != nullptr) {
    // The same state directory: the same CA, so the agent's certificate holds.
    agent_.config.set_server(address());
    agent_.connection = std::make_unique<ServerConnection>(address(), agent_.credentials);
    RETURN_IF_ERROR(Hello(agent_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AgentTestEnv::MakeJoinToken(const std::string& glob,
                                                        const std::string& tenant) {
  v1::CreateJoinTokenRequest request;
  request.set_tenant(tenant);
  request.set_agent_glob(glob);
  ASSIGN_OR_RETURN(v1::CreateJoinTokenResponse token,
                   server_->core()->access().CreateJoinToken(Caller::Internal(), request));
  return token.token();
}

AgentTestEnv::~AgentTestEnv() { StopServer(); }

absl::StatusOr<AgentIdentity> AgentTestEnv::MakeAgent(const std::string& name, bool new_key) {
  v1::AgentConfig raw;
  raw.set_server(absl::StrCat("127.0.0.1:", server_->port()));
  raw.set_name(name);
  raw.set_tenant(kTenant);
  raw.set_state_dir(absl::StrCat(base_, "/agent-", name));
  raw.set_key_file(absl::StrCat(base_, "/agent-", name, "/tenant.key"));
  raw.set_workers(2);
  AgentIdentity identity;
  ASSIGN_OR_RETURN(identity.config, ResolveAgentConfig(raw));
  if (new_key) {
    RETURN_IF_ERROR(CreateKeyFile(identity.config.key_file(), ""));
  } else {
    ASSIGN_OR_RETURN(std::string key, ReadFileToString(agent_.config.key_file(), 1 << 20));
    RETURN_IF_ERROR(MakeDirectories(identity.config.state_dir(), 0700));
    RETURN_IF_ERROR(WriteFileAtomically(identity.config.key_file(), key, 0600));
  }
  ASSIGN_OR_RETURN(identity.crypto, LoadAgentCrypto(identity.config));
  ASSIGN_OR_RETURN(std::string token, MakeJoinToken(name));
  ASSIGN_OR_RETURN(identity.credentials,
                   EnrollAgent(identity.config, address(), token, identity.crypto->key_check));
  identity.connection = std::make_unique<ServerConnection>(address(), identity.credentials);
  RETURN_IF_ERROR(Hello(identity));
  return identity;
}

absl::StatusOr<AgentIdentity> AgentTestEnv::AddAgent(const std::string& name) {
  return MakeAgent(name, /*new_key=*/false);
}

absl::Status AgentTestEnv::Hello(const AgentIdentity& agent) {
  return agent.connection
      ->Call(&v1::AgentService::Stub::Hello, MakeHello(agent.config, *agent.crypto, false))
      .status();
}

absl::StatusOr<BackupResult> AgentTestEnv::Backup(const std::string& root, v1::BackupLevel level) {
  BackupOptions options;
  options.root = root;
  options.level = level;
  return RunBackup(agent_.connection.get(), *agent_.crypto, agent_.config, options);
}

absl::StatusOr<RestoreResult> AgentTestEnv::Restore(const RestoreOptions& options) {
  return RunRestore(agent_.connection.get(), *agent_.crypto, options);
}

absl::StatusOr<RestoreResult> AgentTestEnv::Restore(const std::string& snapshot_id,
                                                    const std::string& target) {
  RestoreOptions options;
  options.snapshot_id = snapshot_id;
  options.target = target;
  return Restore(options);
}

absl::StatusOr<std::string> AgentTestEnv::PutRawTree(const v1::Tree& tree) {
  std::string data;
  tree.SerializeToString(&data);
  std::string id = TreeId(data);
  RETURN_IF_ERROR(PutRawTreeAs(id, data));
  return id;
}

absl::Status AgentTestEnv::PutRawTreeAs(const std::string& id, const std::string& data) {
  ASSIGN_OR_RETURN(int64_t tenant, server_->catalog()->agents().TenantId(kTenant));
  return server_->catalog()->trees().Put(tenant, {{std::string(id), std::string(data)}});
}

absl::StatusOr<v1::Tree> AgentTestEnv::GetRawTree(const std::string& id) {
  ASSIGN_OR_RETURN(int64_t tenant, server_->catalog()->agents().TenantId(kTenant));
  ASSIGN_OR_RETURN(std::optional<std::string> data, server_->catalog()->trees().Get(tenant, id));
  if (!data.has_value()) return absl::NotFoundError(absl::StrCat("no tree ", HexOf(id)));
  v1::Tree tree;
  if (!tree.ParseFromString(*data)) return absl::DataLossError("tree does not parse");
  return tree;
}

absl::StatusOr<std::vector<v1::TreeEntry>> AgentTestEnv::ReadDirectory(const std::string& id) {
  ASSIGN_OR_RETURN(v1::Tree top, GetRawTree(id));
  TreeIterator it(std::move(top), [this](const std::string& page) { return GetRawTree(page); });
  std::vector<v1::TreeEntry> entries;
  while (true) {
    ASSIGN_OR_RETURN(const v1::TreeEntry* e, it.Next());
    if (e == nullptr) return entries;
    entries.push_back(*e);
  }
}

absl::StatusOr<std::string> AgentTestEnv::CommitRawSnapshot(const std::string& root_tree_id,
                                                            bool signed_manifest,
                                                            const std::string& signed_as_id) {
  int64_t now = absl::ToUnixMillis(absl::Now());
  v1::Job job;
  job.set_id(NewJobId());
  job.set_kind(v1::JOB_KIND_BACKUP);
  job.set_state(v1::JOB_STATE_RUNNING);
  job.set_agent(kAgentName);
  job.set_created_unix_ms(now);
  job.mutable_backup()->add_roots("/tampered");
  job.mutable_backup()->set_level(v1::BACKUP_LEVEL_FULL);
  RETURN_IF_ERROR(server_->catalog()->jobs().Insert(job, 0));
  v1::Snapshot snapshot;
  snapshot.set_id(NewSnapshotId());
  snapshot.set_agent(kAgentName);
  snapshot.set_tenant(kTenant);
  snapshot.add_roots("/tampered");
  snapshot.set_level(v1::BACKUP_LEVEL_FULL);
  snapshot.set_root_tree_id(root_tree_id);
  snapshot.set_created_unix_ms(now);
  snapshot.set_job_id(job.id());
  // Signed with the tenant key, as a (hostile) holder of that key would.
  const SnapshotManifest manifest{kTenant, kAgentName, "/tampered", root_tree_id,
                                  signed_as_id.empty() ? snapshot.id() : signed_as_id};
  snapshot.set_manifest_mac(signed_manifest ? agent_.crypto->manifest.Mac(manifest)
                                            : ManifestKey(SecretKey::Random()).Mac(manifest));
  job.set_state(v1::JOB_STATE_SUCCEEDED);
  job.set_finished_unix_ms(now);
  job.set_snapshot_id(snapshot.id());
  ASSIGN_OR_RETURN(v1::Snapshot committed, server_->catalog()->snapshots().Commit(snapshot, job));
  return committed.id();
}

absl::Status WriteFile(const std::string& path, absl::string_view data, mode_t mode) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode));
  RETURN_IF_ERROR(WriteFully(fd.get(), data, path));
  if (fchmod(fd.get(), mode) != 0) return PosixError(errno, "chmod", path);
  return fd.Close(path);
}

absl::Status AppendFile(const std::string& path, absl::string_view data) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_APPEND | O_NOFOLLOW));
  RETURN_IF_ERROR(WriteFully(fd.get(), data, path));
  return fd.Close(path);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  return ReadFileToString(path, size_t{1} << 30);
}

absl::Status SetMtime(const std::string& path, int64_t seconds) {
  struct timespec times[2];
  times[0].tv_sec = seconds;
  times[0].tv_nsec = 0;
  times[1].tv_sec = seconds;
  times[1].tv_nsec = 123456789;
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return PosixError(errno, "utimensat", path);
  }
  return absl::OkStatus();
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<char>(rng());
  return out;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool HasErrorFor(const std::vector<v1::FileError>& errors, absl::string_view path) {
  for (const v1::FileError& e : errors) {
    if (e.path() == path) return true;
  }
  return false;
}

std::string DescribeErrors(const std::vector<v1::FileError>& errors) {
  std::string out;
  for (const v1::FileError& e : errors) {
    absl::StrAppend(&out, "  \"", absl::CHexEscape(e.path()), "\": ", e.error(), "\n");
  }
  return out;
}

void ExpectRestoresTo(AgentTestEnv* env, const std::string& snapshot, const TreeManifest& want,
                      const std::string& target) {
  absl::StatusOr<RestoreResult> result = env->Restore(snapshot, target);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->errors.empty()) << DescribeErrors(result->errors);
  absl::StatusOr<TreeManifest> got = CaptureTree(target);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(DiffManifests(want, *got), "");
}

}  // namespace cairn

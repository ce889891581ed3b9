#include "tests/agent/agent_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agent/tree_spool.h"
#include "common/tree_id.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kBlock = 4096;

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

char TypeChar(mode_t mode) {
  if (S_ISREG(mode)) return 'f';
  if (S_ISDIR(mode)) return 'd';
  if (S_ISLNK(mode)) return 'l';
  if (S_ISFIFO(mode)) return 'p';
  if (S_ISCHR(mode)) return 'c';
  if (S_ISBLK(mode)) return 'b';
  if (S_ISSOCK(mode)) return 's';
  return '?';
}

// Hashes the non-zero kBlock-aligned blocks of the file's data extents with
// their offsets: two files with the same logical bytes get the same digest
// whatever their hole layout, and a 5 GiB sparse file costs only its data.
absl::StatusOr<std::string> DigestFd(int fd, uint64_t size, const std::string& path) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> sha(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  std::string buffer(1u << 20, '\0');
  const std::string zeros(kBlock, '\0');
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;
      return PosixError(errno, "lseek(SEEK_DATA)", path);
    }
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return PosixError(errno, "lseek(SEEK_HOLE)", path);
    uint64_t start = static_cast<uint64_t>(data) / kBlock * kBlock;
    uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    while (start < end) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - start));
      want = (want + kBlock - 1) / kBlock * kBlock;
      ssize_t n = pread(fd, buffer.data(), want, static_cast<off_t>(start));
      if (n < 0) return PosixError(errno, "pread", path);
      if (n == 0) break;
      for (size_t off = 0; off < static_cast<size_t>(n); off += kBlock) {
        size_t len = std::min<size_t>(kBlock, static_cast<size_t>(n) - off);
        absl::string_view block(buffer.data() + off, len);
        if (block == absl::string_view(zeros).substr(0, len)) continue;
        uint64_t at = start + off;
        EVP_DigestUpdate(sha.get(), &at, sizeof(at));
        EVP_DigestUpdate(sha.get(), block.data(), block.size());
      }
      start += static_cast<uint64_t>(n);
    }
    pos = std::max<uint64_t>(end, pos + 1);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EVP_DigestFinal_ex(sha.get(), digest, &digest_size);
  return HexOf(absl::string_view(reinterpret_cast<const char*>(digest), digest_size));
}

absl::Status Walk(int dir_fd, const std::string& rel, TreeManifest* out,
                  std::map<std::pair<dev_t, ino_t>, std::string>* first_names) {
  int dup_fd = dup(dir_fd);
  if (dup_fd < 0) return PosixError(errno, "dup", rel);
  DIR* dir = fdopendir(dup_fd);
  if (dir == nullptr) {
    close(dup_fd);
    return PosixError(errno, "opendir", rel);
  }
  std::vector<std::string> names;
  while (struct dirent* d = readdir(dir)) {
    std::string name = d->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return PosixError(errno, "stat", path);
    }
    PathInfo info;
    info.type = TypeChar(st.st_mode);
    info.perms = st.st_mode & 07777;
    info.uid = st.st_uid;
    info.gid = st.st_gid;
    info.mtime_ns = Nanos(st.st_mtim);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) info.rdev = st.st_rdev;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, inserted] = first_names->try_emplace(std::make_pair(st.st_dev, st.st_ino), path);
      info.link_group = it->second;
    }
    if (S_ISREG(st.st_mode)) {
      info.size = static_cast<uint64_t>(st.st_size);
      int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return PosixError(errno, "open", path);
      UniqueFd file(fd);
      ASSIGN_OR_RETURN(info.digest, DigestFd(fd, info.size, path));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(4097, '\0');
      ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return PosixError(errno, "readlink", path);
      target.resize(static_cast<size_t>(n));
      info.link_target = target;
    }
    (*out)[path] = info;
    if (S_ISDIR(st.st_mode)) {
      int child = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) return PosixError(errno, "open directory", path);
      UniqueFd child_fd(child);
      RETURN_IF_ERROR(Walk(child, path, out, first_names));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string MakeTestDir(absl::string_view label) {
  static std::atomic<int> counter{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = absl::StrCat("cairn_", label, "_", ::getpid(), "_", counter++, "_",
                                  info != nullptr ? info->name() : "x");
  std::replace(name.begin(), name.end(), '/', '_');  // parameterized test names
  std::string temp = ::testing::TempDir();
  while (!temp.empty() && temp.back() == '/') temp.pop_back();
  std::string dir = temp + "/" + name;
  RemoveTree(dir);
  std::filesystem::create_directories(dir);
  return dir;
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
  connection_.reset();
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
}

absl::Status AgentTestEnv::RestartServer(CoreOptions options) {
  StopServer();
  v1::ServerConfig server_config;
  server_config.set_listen("127.0.0.1:0");
  server_config.set_state_dir(base_ + "/server");
  ASSIGN_OR_RETURN(server_, CairnServer::Start(server_config, std::move(options)));
  std::string address = absl::StrCat("127.0.0.1:", server_->port());
  connection_ = std::make_unique<ServerConnection>(address);
  if (agent_.crypto != nullptr) {
    agent_.config.set_server(address);
    RETURN_IF_ERROR(Hello(agent_.config));
  }
  return absl::OkStatus();
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
  RETURN_IF_ERROR(Hello(identity.config));
  return identity;
}

absl::StatusOr<AgentIdentity> AgentTestEnv::AddAgent(const std::string& name) {
  return MakeAgent(name, /*new_key=*/false);
}

absl::Status AgentTestEnv::Hello(const v1::AgentConfig& config) {
  v1::HelloRequest hello;
  hello.set_agent(config.name());
  hello.set_tenant(config.tenant());
  hello.set_version("test");
  hello.set_hostname("test-host");
  return connection_->Call(&v1::AgentService::Stub::Hello, hello).status();
}

absl::StatusOr<BackupResult> AgentTestEnv::Backup(const std::string& root, v1::BackupLevel level) {
  BackupOptions options;
  options.root = root;
  options.level = level;
  return RunBackup(connection_.get(), *agent_.crypto, agent_.config, options);
}

absl::StatusOr<RestoreResult> AgentTestEnv::Restore(const RestoreOptions& options) {
  return RunRestore(connection_.get(), *agent_.crypto, options);
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

absl::StatusOr<std::string> AgentTestEnv::CommitRawSnapshot(const std::string& root_tree_id) {
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
  job.set_state(v1::JOB_STATE_SUCCEEDED);
  job.set_finished_unix_ms(now);
  job.set_snapshot_id(snapshot.id());
  ASSIGN_OR_RETURN(v1::Snapshot committed, server_->catalog()->snapshots().Commit(snapshot, job));
  return committed.id();
}

std::string DescribePathInfo(const PathInfo& info) {
  return absl::StrCat(
      "type=", std::string(1, info.type), " perms=", absl::StrFormat("%04o", info.perms),
      " uid=", info.uid, " gid=", info.gid, " mtime_ns=", info.mtime_ns, " size=", info.size,
      " digest=", info.digest.substr(0, 16), " link=\"", absl::CHexEscape(info.link_target),
      "\" group=\"", absl::CHexEscape(info.link_group), "\" rdev=", info.rdev);
}

absl::StatusOr<TreeManifest> CaptureTree(const std::string& root) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError(errno, "open", root);
  UniqueFd dir(fd);
  TreeManifest manifest;
  std::map<std::pair<dev_t, ino_t>, std::string> first_names;
  RETURN_IF_ERROR(Walk(fd, "", &manifest, &first_names));
  return manifest;
}

TreeManifest SubManifest(const TreeManifest& manifest, const std::string& prefix) {
  if (prefix.empty()) return manifest;
  TreeManifest out;
  for (const auto& [path, info] : manifest) {
    if (path == prefix ||
        (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
         path[prefix.size()] == '/')) {
      out[path] = info;
    }
  }
  return out;
}

std::string DiffManifests(const TreeManifest& want, const TreeManifest& got,
                          bool ignore_dir_mtime) {
  std::string diff;
  for (const auto& [path, info] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      absl::StrAppend(&diff, "missing: \"", absl::CHexEscape(path), "\"\n");
      continue;
    }
    PathInfo a = info;
    PathInfo b = it->second;
    if (ignore_dir_mtime && a.type == 'd' && b.type == 'd') b.mtime_ns = a.mtime_ns;
    if (!(a == b)) {
      absl::StrAppend(&diff, "differs: \"", absl::CHexEscape(path), "\"\n  want ",
                      DescribePathInfo(a), "\n  got  ", DescribePathInfo(b), "\n");
    }
  }
  for (const auto& [path, info] : got) {
    if (want.find(path) == want.end()) {
      absl::StrAppend(&diff, "unexpected: \"", absl::CHexEscape(path), "\" ",
                      DescribePathInfo(info), "\n");
    }
  }
  return diff;
}

absl::StatusOr<std::string> ContentDigest(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_NOFOLLOW));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return PosixError(errno, "fstat", path);
  return DigestFd(fd.get(), static_cast<uint64_t>(st.st_size), path);
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

}  // namespace cairn

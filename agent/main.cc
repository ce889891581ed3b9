// cairn-agent: backs up this host's data to a cairn server and restores it.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "agent/agent_config.h"
#include "agent/agent_daemon.h"
#include "agent/agent_identity.h"
#include "agent/backup_runner.h"
#include "agent/restore_executor.h"
#include "agent/snapshot_verifier.h"
#include "cairn/v1/cli.pb.h"
#include "common/flag_names.h"
#include "common/json_output.h"
#include "common/log/grpc_log.h"
#include "common/log/log.h"
#include "common/path_text.h"
#include "common/text_config.h"

ABSL_FLAG(std::string, config, "", "config file (protobuf text format, cairn.v1.AgentConfig)");
ABSL_FLAG(std::string, server, "",
          "server address HOST:PORT (default: the one enrolled with), or local:PATH for the "
          "server's local socket on the same host");
ABSL_FLAG(std::string, name, "", "this agent's name (default: the host name)");
ABSL_FLAG(std::string, tenant, "", "tenant (default \"default\")");
ABSL_FLAG(std::string, state_dir, "", "agent state directory (default ./cairn-state/agent)");
ABSL_FLAG(std::string, key_file, "", "tenant key file (default STATE_DIR/tenant.key)");
ABSL_FLAG(std::vector<std::string>, root, {},
          "backup: directories to back up (default: the config's roots)");
ABSL_FLAG(std::string, level, "incremental", "backup: full, incremental or differential");
ABSL_FLAG(int32_t, delta_chain, -1,
          "backup: checkpoint deltas in a row before a whole copy, 0 (off) to 8 (default: the "
          "config's delta_chain, else 4)");
ABSL_FLAG(std::string, snapshot, "", "restore: the snapshot id (see `cairnctl snapshots`)");
ABSL_FLAG(std::string, target, "", "restore: the directory to restore into");
ABSL_FLAG(std::vector<std::string>, path, {}, "restore: snapshot paths to restore (default all)");
ABSL_FLAG(bool, overwrite, false, "restore: replace files that exist in the target");
ABSL_FLAG(bool, allow_special, false, "restore: keep set-id bits and create device nodes");
ABSL_FLAG(bool, json, false, "print the result as JSON");
ABSL_FLAG(std::string, log_level, "info",
          "daemon: the least level logged: debug, info, warn or error (the log is one "
          "key=value line per event on stderr; docs/operations.md lists the events)");
ABSL_FLAG(std::string, token, "", "enroll: the join token (cairnctl token create prints it)");
ABSL_FLAG(uint32_t, sample, 100, "verify: the percentage of chunks to read back (1-100)");

namespace {

constexpr char kUsage[] =
    "cairn-agent: backs up this host to a cairn server and restores from it.\n\n"
    "Usage:\n"
    "  cairn-agent init     [--key-file F]        create this tenant's key (once per tenant;\n"
    "                                              copy it to every agent of the tenant)\n"
    "  cairn-agent enroll   --server HOST:PORT --token TOKEN [--name NAME]\n"
    "                                              join the server (once per agent)\n"
    "  cairn-agent backup   --root DIR [--level full|incremental|differential] [--delta-chain N]\n"
    "  cairn-agent restore  --snapshot ID --target DIR [--path P ...] [--overwrite]\n"
    "  cairn-agent verify   --snapshot ID [--sample PCT]\n"
    "                                              read chunks back, check each with the key\n"
    "  cairn-agent daemon                          stay connected; run what the server orders\n\n"
    "Common flags: --config FILE --server HOST:PORT --name NAME --tenant T --state-dir DIR\n"
    "Set CAIRN_PASSPHRASE when the key file is passphrase-protected. See docs/operations.md.";

std::atomic<bool> g_stop{false};
// Whether --server or the config named the server (else the credentials do).
bool g_server_given = false;
void OnSignal(int) { g_stop = true; }

int Fail(const absl::Status& status) {
  std::cerr << "cairn-agent: " << status.message() << "\n";
  return 1;
}

// What every command that talks to the server needs: the resolved config
// (name and tenant from the certificate), the tenant key, the credentials.
struct Agent {
  cairn::v1::AgentConfig config;
  std::unique_ptr<cairn::AgentCrypto> crypto;
  cairn::v1::ClientCredentials credentials;
};

absl::StatusOr<Agent> LoadAgent(const cairn::v1::AgentConfig& config) {
  Agent agent;
  absl::StatusOr<cairn::v1::ClientCredentials> credentials = cairn::LoadAgentCredentials(config);
  if (!credentials.ok()) {
    // First things first: a tenant key (init), then credentials (enroll).
    if (absl::IsFailedPrecondition(credentials.status())) {
      absl::StatusOr<std::unique_ptr<cairn::AgentCrypto>> crypto = cairn::LoadAgentCrypto(config);
      if (!crypto.ok()) return crypto.status();
    }
    return credentials.status();
  }
  agent.credentials = *std::move(credentials);
  agent.config = cairn::ApplyIdentity(config, agent.credentials, g_server_given);
  absl::StatusOr<std::unique_ptr<cairn::AgentCrypto>> crypto = cairn::LoadAgentCrypto(agent.config);
  if (!crypto.ok()) return crypto.status();
  agent.crypto = *std::move(crypto);
  return agent;
}

absl::StatusOr<cairn::v1::AgentConfig> LoadConfig() {
  cairn::v1::AgentConfig config;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    absl::Status status = cairn::LoadTextConfig(absl::GetFlag(FLAGS_config), &config);
    if (!status.ok()) return status;
  }
  if (!absl::GetFlag(FLAGS_server).empty()) config.set_server(absl::GetFlag(FLAGS_server));
  if (!absl::GetFlag(FLAGS_name).empty()) config.set_name(absl::GetFlag(FLAGS_name));
  if (!absl::GetFlag(FLAGS_tenant).empty()) config.set_tenant(absl::GetFlag(FLAGS_tenant));
  if (!absl::GetFlag(FLAGS_state_dir).empty()) config.set_state_dir(absl::GetFlag(FLAGS_state_dir));
  if (!absl::GetFlag(FLAGS_key_file).empty()) config.set_key_file(absl::GetFlag(FLAGS_key_file));
  if (absl::GetFlag(FLAGS_delta_chain) >= 0) {
    config.set_delta_chain(static_cast<uint32_t>(absl::GetFlag(FLAGS_delta_chain)));
  }
  g_server_given = !config.server().empty();
  return cairn::ResolveAgentConfig(config);
}

absl::StatusOr<cairn::v1::BackupLevel> ParseLevel(const std::string& level) {
  if (level == "full") return cairn::v1::BACKUP_LEVEL_FULL;
  if (level == "incremental" || level == "incr") return cairn::v1::BACKUP_LEVEL_INCREMENTAL;
  if (level == "differential" || level == "diff") return cairn::v1::BACKUP_LEVEL_DIFFERENTIAL;
  return absl::InvalidArgumentError(
      absl::StrCat("--level ", level, " is not one of full, incremental, differential"));
}

std::vector<std::string> ProtectedPaths(const cairn::v1::AgentConfig& config) {
  std::vector<std::string> paths = {config.key_file(), config.state_dir()};
  if (!absl::GetFlag(FLAGS_config).empty()) paths.push_back(absl::GetFlag(FLAGS_config));
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) paths.emplace_back(exe, static_cast<size_t>(n));
  return paths;
}

bool Hello(cairn::ServerConnection* conn, const Agent& agent) {
  absl::StatusOr<cairn::v1::HelloResponse> response = conn->Call(
      &cairn::v1::AgentService::Stub::Hello, cairn::MakeHello(agent.config, *agent.crypto, true),
      absl::Seconds(10), absl::Seconds(10));
  if (!response.ok()) {
    if (absl::IsUnavailable(response.status()) || absl::IsDeadlineExceeded(response.status())) {
      std::cerr << "cairn-agent: cannot reach the server at " << agent.config.server() << ": "
                << response.status().message()
                << "\n  (is cairn-server running? check --server or the config's server key)\n";
    } else {
      std::cerr << "cairn-agent: the server at " << agent.config.server()
                << " refused this agent: " << response.status().message() << "\n";
    }
    return false;
  }
  if (response->pending_approval()) {
    std::cerr << "cairn-agent: " << agent.config.name()
              << " waits for approval: an admin runs `cairnctl agents approve "
              << agent.config.name() << "`\n";
    return false;
  }
  return true;
}

int Enroll(const cairn::v1::AgentConfig& config) {
  const std::string token = absl::GetFlag(FLAGS_token);
  if (token.empty() || absl::GetFlag(FLAGS_server).empty()) {
    return Fail(absl::InvalidArgumentError(
        "enroll needs --server HOST:PORT and --token TOKEN (an admin makes one: cairnctl token "
        "create --tenant T)"));
  }
  absl::StatusOr<std::unique_ptr<cairn::AgentCrypto>> crypto = cairn::LoadAgentCrypto(config);
  if (!crypto.ok()) return Fail(crypto.status());
  absl::StatusOr<cairn::v1::ClientCredentials> enrolled =
      cairn::EnrollAgent(config, config.server(), token, (*crypto)->key_check);
  if (!enrolled.ok()) return Fail(enrolled.status());
  std::cout << "enrolled " << enrolled->name() << " (tenant " << enrolled->tenant() << ") with "
            << config.server() << "; credentials in " << config.credentials_file() << "\n";
  return 0;
}

int Backup(const Agent& agent) {
  const cairn::v1::AgentConfig& config = agent.config;
  const cairn::AgentCrypto* crypto = agent.crypto.get();
  absl::StatusOr<cairn::v1::BackupLevel> level = ParseLevel(absl::GetFlag(FLAGS_level));
  if (!level.ok()) return Fail(level.status());
  std::vector<std::string> roots = absl::GetFlag(FLAGS_root);
  if (roots.empty()) roots.assign(config.roots().begin(), config.roots().end());
  if (roots.empty()) {
    return Fail(
        absl::InvalidArgumentError("name what to back up: --root DIR (or roots in the config)"));
  }
  cairn::ServerConnection conn(config.server(), agent.credentials);
  if (!Hello(&conn, agent)) return 1;
  bool json = absl::GetFlag(FLAGS_json);
  int rc = 0;
  std::vector<std::string> reports;  // JSON objects, printed as one array
  for (size_t i = 0; i < roots.size(); ++i) {
    std::string root = roots[i];
    if (!root.empty() && root[0] != '/') {
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) != nullptr) root = absl::StrCat(cwd, "/", root);
    }
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    cairn::BackupOptions options;
    options.root = root;
    options.level = *level;
    if (!json) {
      options.progress = [](const std::string&, const cairn::v1::JobProgress& p) {
        std::cerr << absl::StrFormat("\r  %d files, %.1f MiB ...", p.files_done(),
                                     p.bytes_done() / 1048576.0)
                  << std::flush;
      };
    }
    absl::StatusOr<cairn::BackupResult> result = cairn::RunBackup(&conn, *crypto, config, options);
    if (!result.ok()) {
      std::cerr << "cairn-agent: backup of " << root << " failed: " << result.status().message()
                << "\n";
      rc = 1;
      continue;
    }
    const cairn::v1::Snapshot& s = result->snapshot;
    const cairn::v1::BackupStats& st = s.stats();
    if (json) {
      cairn::v1::BackupReport report;
      report.set_snapshot(s.id());
      report.set_root(cairn::PathToText(root));
      report.set_files(st.files());
      report.set_directories(st.directories());
      report.set_bytes(st.bytes_scanned());
      report.set_bytes_read(st.bytes_read());
      report.set_chunks_new(st.chunks_new());
      report.set_chunks_as_deltas(st.chunks_as_deltas());
      report.set_chunks_waited(st.chunks_waited());
      report.set_files_rebundled(st.files_rebundled());
      report.set_bytes_uploaded(st.bytes_uploaded());
      report.set_files_failed(st.files_failed());
      report.set_seconds(st.seconds());
      for (const cairn::v1::FileError& e : result->errors) *report.add_errors() = e;
      absl::StatusOr<std::string> text = cairn::ToJson(report);
      if (!text.ok()) return Fail(text.status());
      reports.push_back(*std::move(text));
    } else {
      std::cerr << "\r";
      std::cout << absl::StrFormat(
          "snapshot %s of %s: %d files, %d dirs, %.1f MiB (read %.1f MiB, uploaded %.1f MiB in "
          "%d new chunks%s%s%s) in %.2fs\n",
          s.id(), root, st.files(), st.directories(), st.bytes_scanned() / 1048576.0,
          st.bytes_read() / 1048576.0, st.bytes_uploaded() / 1048576.0, st.chunks_new(),
          st.chunks_as_deltas() > 0 ? absl::StrFormat(", %d as deltas", st.chunks_as_deltas())
                                    : std::string(),
          st.chunks_waited() > 0
              ? absl::StrFormat(", %d sent by another backup", st.chunks_waited())
              : std::string(),
          st.files_rebundled() > 0
              ? absl::StrFormat(", %d small files moved to new bundles", st.files_rebundled())
              : std::string(),
          st.seconds());
    }
    for (const cairn::v1::FileError& e : result->errors) {
      std::cerr << "  not backed up: " << cairn::PathToText(e.path()) << ": " << e.error() << "\n";
    }
    if (!result->errors.empty()) rc = 3;
  }
  if (json) std::cout << "[" << absl::StrJoin(reports, ",") << "]\n";
  return rc;
}

int Restore(const Agent& agent) {
  const cairn::v1::AgentConfig& config = agent.config;
  cairn::RestoreOptions options;
  options.snapshot_id = absl::GetFlag(FLAGS_snapshot);
  options.target = absl::GetFlag(FLAGS_target);
  if (options.snapshot_id.empty() || options.target.empty()) {
    return Fail(absl::InvalidArgumentError(
        "restore needs --snapshot ID (see `cairnctl snapshots`) and --target DIR"));
  }
  if (options.target[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) != nullptr)
      options.target = absl::StrCat(cwd, "/", options.target);
  }
  options.paths = absl::GetFlag(FLAGS_path);
  options.overwrite = absl::GetFlag(FLAGS_overwrite);
  options.allow_special = absl::GetFlag(FLAGS_allow_special);
  options.protected_paths = ProtectedPaths(config);
  cairn::ServerConnection conn(config.server(), agent.credentials);
  if (!Hello(&conn, agent)) return 1;
  absl::StatusOr<cairn::RestoreResult> result = cairn::RunRestore(&conn, *agent.crypto, options);
  if (!result.ok()) return Fail(result.status());
  if (absl::GetFlag(FLAGS_json)) {
    cairn::v1::RestoreReport report;
    report.set_snapshot(options.snapshot_id);
    report.set_target(cairn::PathToText(options.target));
    report.set_files(result->files);
    report.set_directories(result->directories);
    report.set_bytes(result->bytes);
    report.set_failed(result->failed);
    for (const cairn::v1::FileError& e : result->errors) *report.add_errors() = e;
    absl::Status printed = cairn::PrintJson(report, std::cout);
    if (!printed.ok()) return Fail(printed);
  } else {
    std::cout << absl::StrFormat("restored %d files, %d dirs, %.1f MiB into %s\n", result->files,
                                 result->directories, result->bytes / 1048576.0, options.target);
  }
  for (const cairn::v1::FileError& e : result->errors) {
    std::cerr << "  not restored: " << cairn::PathToText(e.path()) << ": " << e.error() << "\n";
  }
  return result->failed == 0 ? 0 : 3;
}

int Verify(const Agent& agent) {
  cairn::VerifyOptions options;
  if (absl::GetFlag(FLAGS_snapshot).empty()) {
    return Fail(absl::InvalidArgumentError(
        "verify needs --snapshot ID (see `cairnctl snapshots --agent NAME`)"));
  }
  options.snapshot_ids.push_back(absl::GetFlag(FLAGS_snapshot));
  options.sample_percent = absl::GetFlag(FLAGS_sample);
  cairn::ServerConnection conn(agent.config.server(), agent.credentials);
  if (!Hello(&conn, agent)) return 1;
  absl::StatusOr<cairn::VerifyResult> result = cairn::RunVerify(&conn, *agent.crypto, options);
  if (!result.ok()) return Fail(result.status());
  std::cout << cairn::VerifySummary(*result) << "\n";
  for (const cairn::v1::FileError& e : result->problems) {
    std::cerr << "  " << e.path() << ": " << e.error() << "\n";
  }
  return result->damaged == 0 && result->missing == 0 ? 0 : 3;
}

int Daemon(const Agent& agent) {
  const cairn::v1::AgentConfig& config = agent.config;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  absl::StatusOr<cairn::log::Level> level = cairn::log::ParseLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail(level.status());
  cairn::log::SetMinLevel(*level);
  cairn::AgentDaemon daemon(config, *agent.crypto, agent.credentials, ProtectedPaths(config));
  cairn::log::Info("agent.started", {{"version", CAIRN_VERSION},
                                     {"agent", config.name()},
                                     {"tenant", config.tenant()},
                                     {"server", config.server()},
                                     {"roots", absl::StrJoin(config.roots(), ",")}});
  daemon.Run(&g_stop);
  cairn::log::Info("agent.stopped", {{"agent", config.name()}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cairn::log::RouteGrpcLogs();
  std::vector<std::string> flag_storage = cairn::NormalizeFlagNames(argc, argv);
  if (cairn::PrintHelpIfAsked(argc, argv, kUsage, "agent/main.cc", true)) return 0;
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  std::string command = args[1];
  absl::StatusOr<cairn::v1::AgentConfig> config = LoadConfig();
  if (!config.ok()) return Fail(config.status());
  if (command == "init") {
    absl::Status status = cairn::CreateKeyFile(
        config->key_file(),
        getenv("CAIRN_PASSPHRASE") != nullptr ? getenv("CAIRN_PASSPHRASE") : "");
    if (!status.ok()) return Fail(status);
    std::cout << "created tenant key " << config->key_file()
              << "\nKeep a copy somewhere safe: without it no backup of this tenant can be "
                 "restored.\n";
    return 0;
  }
  if (command == "enroll") return Enroll(*config);
  if (command == "backup" || command == "restore" || command == "verify" || command == "daemon") {
    absl::StatusOr<Agent> agent = LoadAgent(*config);
    if (!agent.ok()) return Fail(agent.status());
    if (command == "backup") return Backup(*agent);
    if (command == "restore") return Restore(*agent);
    if (command == "verify") return Verify(*agent);
    return Daemon(*agent);
  }
  std::cerr << "cairn-agent: unknown command \"" << command << "\"\n\n" << kUsage << "\n";
  return 2;
}

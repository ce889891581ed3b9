// cairn-server: the backup server. Keeps the catalog, stores packs on tiers,
// serves agents and admins over gRPC.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/file_util.h"
#include "common/flag_names.h"
#include "common/heap_settings.h"
#include "common/log/grpc_log.h"
#include "common/log/log.h"
#include "common/text_config.h"
#include "server/auth/first_admin.h"
#include "server/open_tiers.h"
#include "server/recovery/catalog_key.h"
#include "server/recovery/catalog_rebuild.h"
#include "server/recovery/state_recovery.h"
#include "server/server.h"

ABSL_FLAG(std::string, config, "", "config file (protobuf text format, cairn.v1.ServerConfig)");
ABSL_FLAG(std::string, listen, "",
          "address to listen on, overrides the config (default 127.0.0.1:7420)");
ABSL_FLAG(std::string, state_dir, "", "catalog and pack directory, overrides the config");
ABSL_FLAG(std::string, web_listen, "",
          "HOST:PORT of the HTTPS listener (/metrics), overrides the config's web.listen "
          "(default: listen's host and the next port)");
ABSL_FLAG(std::string, log_level, "info",
          "the least level logged: debug, info, warn or error (the log is one key=value line "
          "per event on stderr; docs/operations.md lists the events)");
ABSL_FLAG(bool, print_config, false, "print the effective config and exit");
ABSL_FLAG(std::string, recover_from_tier, "",
          "rebuild the state directory (catalog, TLS CA, admin credential) from the newest "
          "catalog bundle on this tier, then exit");
ABSL_FLAG(bool, rebuild_catalog, false,
          "when every catalog bundle is lost: build a new catalog from the packs, tree packs and "
          "snapshot records on every configured tier, then exit");
ABSL_FLAG(std::string, catalog_key, "",
          "with --recover-from-tier or --rebuild-catalog: the catalog key file (default: "
          "catalog_backup.key_file)");

namespace {

constexpr char kUsage[] =
    "cairn-server: the cairn backup server.\n\n"
    "  cairn-server [--config FILE] [--listen HOST:PORT] [--state-dir DIR]\n"
    "  cairn-server --config FILE --recover-from-tier NAME [--catalog-key FILE]\n"
    "  cairn-server --config FILE --rebuild-catalog [--catalog-key FILE]\n\n"
    "Without a config it listens on 127.0.0.1:7420 and keeps its catalog and packs\n"
    "under ./cairn-state/server. See docs/operations.md.";

std::vector<cairn::Tier*> Raw(const std::vector<std::unique_ptr<cairn::Tier>>& tiers) {
  std::vector<cairn::Tier*> raw;
  for (const auto& t : tiers) raw.push_back(t.get());
  return raw;
}

void PrintImport(const cairn::RebuildReport& r) {
  for (const std::string& p : r.problems) std::cerr << "problem: " << p << "\n";
  for (const std::string& s : r.skipped) std::cerr << "not brought back: " << s << "\n";
  std::cout << "read " << r.packs_indexed << " packs (" << r.chunks_indexed << " chunks), "
            << r.tree_packs_read << " tree packs (" << r.trees_imported << " trees); "
            << r.snapshots_restored.size() << " snapshots brought back, " << r.skipped.size()
            << " not\n";
}

// What the offline commands work with: the configured tiers and the catalog key.
struct Offline {
  std::vector<std::unique_ptr<cairn::Tier>> tiers;
  std::string key_file;
  std::optional<cairn::SecretKey> key;
};

// 0, or the exit status after saying what is wrong.
int OpenOffline(const cairn::v1::ServerConfig& config, const std::string& key_flag, Offline* out) {
  absl::StatusOr<std::vector<std::unique_ptr<cairn::Tier>>> tiers =
      cairn::OpenConfiguredTiers(config);
  if (!tiers.ok()) {
    std::cerr << "cairn-server: " << tiers.status().message() << "\n";
    return 2;
  }
  out->tiers = *std::move(tiers);
  out->key_file = key_flag.empty() ? config.catalog_backup().key_file() : key_flag;
  absl::StatusOr<cairn::SecretKey> key = cairn::LoadCatalogKey(out->key_file);
  if (!key.ok()) {
    std::cerr << "cairn-server: " << key.status().message()
              << " (give the copy you kept with --catalog-key FILE)\n";
    return 2;
  }
  out->key = *std::move(key);
  return 0;
}

// --rebuild-catalog: a new catalog from what the tiers hold.
int Rebuild(const cairn::v1::ServerConfig& config, const std::string& key_file) {
  Offline offline;
  if (int failed = OpenOffline(config, key_file, &offline); failed != 0) return failed;
  absl::StatusOr<cairn::RebuildReport> report =
      cairn::RebuildCatalog(Raw(offline.tiers), *offline.key, config.state_dir());
  if (!report.ok()) {
    std::cerr << "cairn-server: rebuild failed: " << report.status().message() << "\n";
    return 1;
  }
  PrintImport(*report);
  std::cout << "rebuilt " << config.state_dir() << "/catalog.db. Start cairn-server as usual: "
            << "it makes a new CA and admin credential, so enroll the agents again (their "
               "tenant keys still open every snapshot). Policies, schedules and job history "
               "are not on the tiers; set policies again.\n";
  return report->skipped.empty() ? 0 : 3;
}

// --recover-from-tier: the state directory back from a tier's newest bundle.
int Recover(const cairn::v1::ServerConfig& config, const std::string& tier_name,
            const std::string& key_flag) {
  Offline offline;
  if (int failed = OpenOffline(config, key_flag, &offline); failed != 0) return failed;
  const std::vector<std::unique_ptr<cairn::Tier>>* tiers = &offline.tiers;
  const std::string& key_file = offline.key_file;
  const std::optional<cairn::SecretKey>& key = offline.key;
  cairn::Tier* tier = nullptr;
  for (const auto& t : *tiers) {
    if (t->name() == tier_name) tier = t.get();
  }
  if (tier == nullptr) {
    std::cerr << "cairn-server: no tier named " << tier_name << " in the config\n";
    return 2;
  }
  absl::StatusOr<cairn::RecoveryReport> report =
      cairn::RecoverStateDir(tier, *key, config.state_dir());
  if (!report.ok()) {
    std::cerr << "cairn-server: recovery failed: " << report.status().message() << "\n";
    return 1;
  }
  for (const std::string& s : report->skipped) std::cerr << "skipped " << s << "\n";
  // The server that starts next finds the key where the config says.
  const std::string& home = config.catalog_backup().key_file();
  absl::StatusOr<cairn::SecretKey> at_home = cairn::LoadCatalogKey(home);
  if (at_home.ok() && !at_home->Equals(*key)) {
    // New bundles would be sealed with a key the kept copy does not match.
    std::cerr << "cairn-server: recovered, but " << home
              << " holds another catalog key than the one the bundle opened with; replace it "
                 "with "
              << key_file << " before starting\n";
    return 1;
  }
  if (key_file != home && !at_home.ok()) {
    absl::StatusOr<std::string> text = cairn::ReadFileToString(key_file, 4096);
    absl::Status copied = text.ok() ? cairn::WriteFileAtomically(home, *text, 0600) : text.status();
    if (!copied.ok()) {
      std::cerr << "cairn-server: recovered, but the key was not copied to " << home << ": "
                << copied.message() << " (copy it there before starting)\n";
    }
  }
  std::cout << "recovered " << config.state_dir() << " from " << report->object << " on tier "
            << tier_name << " (" << absl::StrJoin(report->files, ", ") << ")\n";
  // The snapshots committed after the bundle: their records are on the tiers.
  absl::StatusOr<cairn::RebuildReport> newer =
      cairn::CatchUpFromTiers(Raw(*tiers), *key, config.state_dir());
  if (!newer.ok()) {
    std::cerr << "cairn-server: the snapshots committed after the bundle were not brought "
                 "back: "
              << newer.status().message() << " (move " << config.state_dir()
              << "/catalog.db away and run --recover-from-tier again)\n";
    return 1;
  }
  PrintImport(*newer);
  std::cout << "start cairn-server as usual\n";
  return newer->skipped.empty() ? 0 : 3;
}

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
  cairn::KeepLargeBuffersInHeap();  // before anything allocates large buffers
  cairn::log::RouteGrpcLogs();
  std::vector<std::string> flag_storage = cairn::NormalizeFlagNames(argc, argv);
  if (cairn::PrintHelpIfAsked(argc, argv, kUsage, "server/main.cc", false)) return 0;
  absl::SetProgramUsageMessage(kUsage);
  absl::ParseCommandLine(argc, argv);
  cairn::v1::ServerConfig config;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    absl::Status status = cairn::LoadTextConfig(absl::GetFlag(FLAGS_config), &config);
    if (!status.ok()) {
      std::cerr << "cairn-server: " << status.message() << "\n";
      return 2;
    }
  }
  if (!absl::GetFlag(FLAGS_listen).empty()) config.set_listen(absl::GetFlag(FLAGS_listen));
  if (!absl::GetFlag(FLAGS_web_listen).empty()) {
    config.mutable_web()->set_listen(absl::GetFlag(FLAGS_web_listen));
  }
  if (!absl::GetFlag(FLAGS_state_dir).empty()) config.set_state_dir(absl::GetFlag(FLAGS_state_dir));
  absl::StatusOr<cairn::v1::ServerConfig> resolved = cairn::ResolveServerConfig(config);
  if (!resolved.ok()) {
    std::cerr << "cairn-server: " << resolved.status().message() << "\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_print_config)) {
    std::cout << cairn::PrintTextConfig(*resolved);
    return 0;
  }
  if (!absl::GetFlag(FLAGS_recover_from_tier).empty()) {
    return Recover(*resolved, absl::GetFlag(FLAGS_recover_from_tier),
                   absl::GetFlag(FLAGS_catalog_key));
  }
  if (absl::GetFlag(FLAGS_rebuild_catalog)) {
    return Rebuild(*resolved, absl::GetFlag(FLAGS_catalog_key));
  }
  absl::StatusOr<cairn::log::Level> level = cairn::log::ParseLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) {
    std::cerr << "cairn-server: " << level.status().message() << "\n";
    return 2;
  }
  cairn::log::SetMinLevel(*level);
  absl::StatusOr<std::unique_ptr<cairn::CairnServer>> server = cairn::CairnServer::Start(*resolved);
  if (!server.ok()) {
    cairn::log::Error("server.start_failed", {{"error", server.status()}});
    return 1;
  }
  cairn::log::Info("server.listening", {{"version", CAIRN_VERSION},
                                        {"port", (*server)->port()},
                                        {"tls", true},
                                        {"state_dir", resolved->state_dir()},
                                        {"ca_fingerprint", (*server)->ca_fingerprint()},
                                        {"note",
                                         "join tokens carry the CA fingerprint; check it "
                                         "when you enroll by hand"}});
  if ((*server)->web_port() != 0) {
    const std::string web = cairn::LocalDialAddress(
        resolved->web().listen().empty() ? cairn::DefaultWebListen(resolved->listen())
                                         : resolved->web().listen(),
        (*server)->web_port());
    cairn::log::Info("web.listening", {{"status_page", absl::StrCat("https://", web, "/")},
                                       {"metrics", absl::StrCat("https://", web, "/metrics")},
                                       {"note",
                                        "an admin credential's certificate, viewer role or above; "
                                        "`cairnctl web` signs a browser in"}});
  } else if (!(*server)->web_problem().empty()) {
    cairn::log::Warn("web.not_listening", {{"error", (*server)->web_problem()}});
  }
  if ((*server)->data_port() != 0) {
    cairn::log::Info(
        "data.listening",
        {{"port", (*server)->data_port()},
         {"note",
          "agents send and read sealed chunks here, each message authenticated under a "
          "session key from the TLS port; data_listen \"off\" sends all over TLS"}});
  } else if (!(*server)->data_problem().empty()) {
    cairn::log::Warn("data.not_listening", {{"error", (*server)->data_problem()}});
  }
  if (!(*server)->admin_credentials_written().empty()) {
    cairn::log::Info("admin_credential.written",
                     {{"path", (*server)->admin_credentials_written()},
                      {"note", "root only; try: cairnctl --credentials " +
                                   (*server)->admin_credentials_written() + " status"}});
  }
  if (!(*server)->catalog_key_created().empty()) {
    cairn::log::Info("catalog_key.created",
                     {{"path", (*server)->catalog_key_created()},
                      {"note",
                       "keep a copy off this machine: recovering the catalog from a tier "
                       "(--recover-from-tier) needs it"}});
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  cairn::log::Info("server.stopping");
  (*server)->Shutdown();
  return 0;
}

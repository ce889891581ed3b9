// cairn-server: the backup server. Keeps the catalog, stores packs on tiers,
// serves agents and admins over gRPC.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/flag_names.h"
#include "common/text_config.h"
#include "server/server.h"

ABSL_FLAG(std::string, config, "", "config file (protobuf text format, cairn.v1.ServerConfig)");
ABSL_FLAG(std::string, listen, "", "address to listen on, overrides the config (default 127.0.0.1:7420)");
ABSL_FLAG(std::string, state_dir, "", "catalog and pack directory, overrides the config");
ABSL_FLAG(bool, print_config, false, "print the effective config and exit");

namespace {

constexpr char kUsage[] =
    "cairn-server: the cairn backup server.\n\n"
    "  cairn-server [--config FILE] [--listen HOST:PORT] [--state-dir DIR]\n\n"
    "Without a config it listens on 127.0.0.1:7420 and keeps its catalog and packs\n"
    "under ./cairn-state/server. See docs/operations.md.";


std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
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
  absl::StatusOr<std::unique_ptr<cairn::CairnServer>> server = cairn::CairnServer::Start(*resolved);
  if (!server.ok()) {
    std::cerr << "cairn-server: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "cairn-server " << CAIRN_VERSION << " listening on port " << (*server)->port()
            << " (TLS), state in " << resolved->state_dir() << "\n"
            << "CA fingerprint " << (*server)->ca_fingerprint()
            << " (join tokens carry it; check it when you enroll by hand)" << std::endl;
  if (!(*server)->admin_credentials_written().empty()) {
    std::cerr << "first admin credential written to " << (*server)->admin_credentials_written()
              << " (root only): cairnctl --credentials "
              << (*server)->admin_credentials_written() << " status" << std::endl;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::cerr << "cairn-server: shutting down" << std::endl;
  (*server)->Shutdown();
  return 0;
}

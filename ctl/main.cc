// cairnctl: the admin command line of cairn, a plain client of AdminService.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/client_tls.h"
#include "common/flag_names.h"
#include "ctl/admin_client.h"
#include "ctl/cli.h"

using namespace cairn;       // NOLINT: a small command-line program
using namespace cairn::ctl;  // NOLINT

int main(int argc, char** argv) {
  std::vector<std::string> flag_storage = NormalizeFlagNames(argc, argv);
  if (cairn::PrintHelpIfAsked(argc, argv, kUsage, "ctl/main.cc", true)) return 0;
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> raw = absl::ParseCommandLine(argc, argv);
  if (raw.size() < 2) return Usage("name a command");
  std::string command = raw[1];
  std::vector<std::string> args(raw.begin() + 2, raw.end());
  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty() && std::getenv("CAIRN_SERVER") != nullptr)
    server = std::getenv("CAIRN_SERVER");
  // The server's local socket needs no credentials: only its host's owner
  // can open it.
  absl::StatusOr<v1::ClientCredentials> credentials = v1::ClientCredentials();
  if (!IsLocalSocketAddress(server)) {
    absl::StatusOr<std::string> path = FindCredentialsFile(absl::GetFlag(FLAGS_credentials));
    if (!path.ok()) return Fail(path.status());
    credentials = ReadCredentialsFile(*path);
    if (!credentials.ok()) return Fail(credentials.status());
  }
  if (server.empty()) server = credentials->server();
  if (server.empty()) server = "127.0.0.1:7420";
  AdminClient client(server, *std::move(credentials));
  if (command == "status") return Status(client);
  if (command == "agents") return args.empty() ? Agents(client) : AgentsCommand(client, args);
  if (command == "token") return Token(client, args);
  if (command == "credentials") return CredentialsCommand(client, args);
  if (command == "audit") return Audit(client);
  if (command == "web") return Web(client);
  if (command == "snapshot") return SnapshotCommand(client, args);
  if (command == "jobs") return Jobs(client);
  if (command == "job")
    return args.size() == 1 ? Job(client, args[0]) : Usage("job takes a job id");
  if (command == "snapshots") return Snapshots(client);
  if (command == "ls") return Ls(client, args);
  if (command == "diff") return Diff(client, args);
  if (command == "stats") return args.empty() ? Stats(client) : Usage("stats takes flags only");
  if (command == "restore") return Restore(client, args);
  if (command == "backup") return Backup(client);
  if (command == "verify") return Verify(client);
  if (command == "policy") return PolicyCommand(client, args);
  if (command == "prune") return Prune(client);
  if (command == "gc") return Gc(client);
  if (command == "tier") return TierCommand(client, args);
  if (command == "watch")
    return args.size() == 1 ? Follow(client, args[0]) : Usage("watch takes a job id");
  return Usage(absl::StrCat("unknown command \"", command, "\""));
}

// What every cairnctl command shares: its flags, how it fails (message and
// exit code), and how it prints with --json. The commands themselves are in
// view_commands.cc, order_commands.cc, maintenance_commands.cc and
// access_commands.cc.
#ifndef CAIRN_CTL_CLI_H_
#define CAIRN_CTL_CLI_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cairn/v1/types.pb.h"
#include "ctl/admin_client.h"

ABSL_DECLARE_FLAG(std::string, server);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, agent);
ABSL_DECLARE_FLAG(uint32_t, limit);
ABSL_DECLARE_FLAG(bool, recursive);
ABSL_DECLARE_FLAG(std::string, target);
ABSL_DECLARE_FLAG(std::string, to_agent);
ABSL_DECLARE_FLAG(std::vector<std::string>, path);
ABSL_DECLARE_FLAG(bool, overwrite);
ABSL_DECLARE_FLAG(bool, allow_special);
ABSL_DECLARE_FLAG(bool, detach);
ABSL_DECLARE_FLAG(std::string, level);
ABSL_DECLARE_FLAG(std::vector<std::string>, root);
ABSL_DECLARE_FLAG(bool, read_data);
ABSL_DECLARE_FLAG(std::string, tier);
ABSL_DECLARE_FLAG(bool, dry_run);
ABSL_DECLARE_FLAG(std::string, credentials);
ABSL_DECLARE_FLAG(std::string, tenant);
ABSL_DECLARE_FLAG(std::string, agents);
ABSL_DECLARE_FLAG(std::string, ttl);
ABSL_DECLARE_FLAG(uint32_t, uses);
ABSL_DECLARE_FLAG(bool, approval);
ABSL_DECLARE_FLAG(std::string, role);
ABSL_DECLARE_FLAG(std::string, name);
ABSL_DECLARE_FLAG(std::string, out);
ABSL_DECLARE_FLAG(std::string, pem_dir);
ABSL_DECLARE_FLAG(std::string, since);
ABSL_DECLARE_FLAG(bool, refused);
ABSL_DECLARE_FLAG(std::string, snapshot);
ABSL_DECLARE_FLAG(uint32_t, sample);
ABSL_DECLARE_FLAG(std::string, from);
ABSL_DECLARE_FLAG(std::string, to);
ABSL_DECLARE_FLAG(std::string, older_than);
ABSL_DECLARE_FLAG(bool, by_kind);
ABSL_DECLARE_FLAG(std::string, plot);

namespace cairn::ctl {

// What `cairnctl` with no or a wrong command prints.
extern const char kUsage[];

// "90m", "12h", "7d": a duration in minutes, hours or days (or what
// absl::ParseDuration takes); InvalidArgument naming --flag otherwise.
absl::StatusOr<absl::Duration> ParseAge(const std::string& flag, absl::string_view text);
// Prints the error and returns the exit code: 2 for a bad argument, else 1.
int Fail(const absl::Status& status);
// Prints the problem and the usage; returns 2.
int Usage(const std::string& problem);
// With --json: prints `message` (or why it cannot be printed) and returns
// true, the command is done; without, returns false.
bool PrintedJson(const google::protobuf::Message& message);
// One JSON object as a line (or the error, on stderr).
void PrintJsonLine(const google::protobuf::Message& message);
// "ROOT (level)" or "SNAPSHOT -> TARGET", for job listings.
std::string JobTarget(const v1::Job& job);

// The commands; each returns the exit code.
int Status(AdminClient& client);
int Agents(AdminClient& client);
int Jobs(AdminClient& client);
int Job(AdminClient& client, const std::string& id);
int Snapshots(AdminClient& client);
int Ls(AdminClient& client, const std::vector<std::string>& args);
int Diff(AdminClient& client, const std::vector<std::string>& args);
int Follow(AdminClient& client, const std::string& job_id);
int Restore(AdminClient& client, const std::vector<std::string>& args);
int Backup(AdminClient& client);
int Verify(AdminClient& client);
int PolicyCommand(AdminClient& client, const std::vector<std::string>& args);
int Prune(AdminClient& client);
int Gc(AdminClient& client);
int TierCommand(AdminClient& client, const std::vector<std::string>& args);
int SnapshotCommand(AdminClient& client, const std::vector<std::string>& args);
// Access: access_commands.cc.
int Token(AdminClient& client, const std::vector<std::string>& args);
int AgentsCommand(AdminClient& client, const std::vector<std::string>& args);
int CredentialsCommand(AdminClient& client, const std::vector<std::string>& args);
int Audit(AdminClient& client);
int Web(AdminClient& client);
int Stats(AdminClient& client);

}  // namespace cairn::ctl

#endif  // CAIRN_CTL_CLI_H_

#include "ctl/cli.h"

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/json_output.h"
#include "common/path_text.h"
#include "ctl/cli.h"
#include "ctl/output.h"

ABSL_FLAG(std::string, server, "",
          "server address HOST:PORT (or unix:PATH), or local:PATH for the server's local socket "
          "(no credentials needed); default $CAIRN_SERVER, else the credentials file's server");
ABSL_FLAG(bool, json, false, "print JSON (protobuf field names; bytes fields in base64)");
ABSL_FLAG(std::string, agent, "", "jobs, snapshots, backup: the agent");
ABSL_FLAG(uint32_t, limit, 0, "jobs, snapshots, ls, diff: how many rows at most");
ABSL_FLAG(bool, recursive, false, "ls: list everything below the path");
ABSL_FLAG(std::string, target, "", "restore: directory on the target agent to restore into");
ABSL_FLAG(std::string, to_agent, "", "restore: the agent that restores (default: the snapshot's)");
ABSL_FLAG(std::vector<std::string>, path, {}, "restore: snapshot paths to restore (default all)");
ABSL_FLAG(bool, overwrite, false, "restore: replace files that exist in the target");
ABSL_FLAG(bool, allow_special, false, "restore: keep set-id bits and create device nodes");
ABSL_FLAG(bool, detach, false, "restore, backup: print the job id and return at once");
ABSL_FLAG(std::string, level, "incremental", "backup: full, incremental or differential");
ABSL_FLAG(std::vector<std::string>, root, {},
          "backup: roots (default: the agent's configured roots)");
ABSL_FLAG(bool, read_data, false, "verify: re-read every chunk, not only pack indexes");
ABSL_FLAG(std::string, tier, "",
          "verify: check the copies on this tier (every pack with a location there)");
ABSL_FLAG(bool, dry_run, false, "prune, gc: show what would be removed, remove nothing");
ABSL_FLAG(std::string, credentials, "",
          "admin credentials file (default $CAIRN_CREDENTIALS, ~/.config/cairn/credentials, "
          "./cairn-state/server/admin.credentials)");
ABSL_FLAG(std::string, tenant, "", "token create: the tenant the agents join");
ABSL_FLAG(std::string, agents, "*", "token create: which agent names may enroll (a glob)");
ABSL_FLAG(std::string, ttl, "",
          "token create: how long it is valid (default 1h); credentials create: (default 365d)");
ABSL_FLAG(uint32_t, uses, 1, "token create: how many agents may enroll with it");
ABSL_FLAG(bool, approval, false, "token create: agents wait for `agents approve` after enrolling");
ABSL_FLAG(std::string, role, "", "credentials create: viewer, operator or admin");
ABSL_FLAG(std::string, name, "", "credentials create: the credential's name");
ABSL_FLAG(std::string, out, "", "credentials create: the file to write (default NAME.credentials)");
ABSL_FLAG(std::string, pem_dir, "",
          "credentials create: also write ca.pem, cert.pem and key.pem to this directory (for "
          "Prometheus' tls_config, curl)");
ABSL_FLAG(std::string, since, "",
          "audit: entries from this long ago (24h, 7d) or this date (2026-11-30)");
ABSL_FLAG(bool, refused, false, "audit: refused and failed calls only");
ABSL_FLAG(std::string, snapshot, "",
          "verify --agent, stats: the snapshot (default: the newest of each root)");
ABSL_FLAG(bool, by_kind, false, "stats: logical and stored bytes per file kind");
ABSL_FLAG(std::string, plot, "",
          "stats: write an SVG scatter of how the classifier saw files with no known format");
ABSL_FLAG(std::string, from, "", "tier move, tier copy: the tier packs come from");
ABSL_FLAG(std::string, to, "", "tier move, tier copy: the tier packs go to");
ABSL_FLAG(std::string, older_than, "",
          "tier move, tier copy: only packs written at least this long ago (30d, 12h)");
ABSL_FLAG(uint32_t, sample, 0,
          "verify --agent: the percentage of chunks to read back (default all)");

namespace cairn::ctl {

const char kUsage[] =
    "cairnctl: administer a cairn backup server.\n\n"
    "Usage: cairnctl [--credentials FILE] [--server HOST:PORT] [--json] COMMAND [ARGS]\n\n"
    "  status                         health, storage, agents, running jobs\n"
    "  agents                         every agent with last seen and last backup\n"
    "  jobs [--agent A]               recent jobs, newest first\n"
    "  job JOB_ID                     one job in full\n"
    "  snapshots [--agent A]          snapshots, newest first\n"
    "  ls SNAPSHOT [PATH] [--recursive]\n"
    "  diff SNAPSHOT_A SNAPSHOT_B     what changed between two snapshots\n"
    "  stats [--by-kind] [--agent A | --snapshot ID] [--plot FILE]\n"
    "                                 logical and stored bytes (per file kind); the\n"
    "                                 classifier's view of unknown files as an SVG\n"
    "  restore SNAPSHOT --target DIR [--to-agent A] [--path P ...] [--overwrite] [--detach]\n"
    "  backup --agent A [--level full|incremental|differential] [--root DIR ...] [--detach]\n"
    "  verify [--read-data] [--tier T] check every pack (or every copy on tier T); a\n"
    "                                 pack with no good copy left is quarantined\n"
    "  verify --agent A [--snapshot ID] [--sample PCT]\n"
    "                                 the agent decrypts chunks and checks each id\n"
    "  policy list | get NAME | apply FILE | delete NAME\n"
    "                                 policies: what to protect, schedules, retention\n"
    "  prune [--dry-run]              expire snapshots by their policies' retention\n"
    "  gc [--dry-run]                 delete unreferenced chunks, compact packs\n"
    "  tier list                      usage, packs and health of each tier; catalog bundles\n"
    "  tier move|copy --from A --to B [--older-than 30d] [--dry-run]\n"
    "                                 move packs to another tier, or add a copy there\n"
    "  snapshot protect ID | unprotect ID | delete ID\n"
    "                                 keep a snapshot whatever retention says; delete one\n\n"
    "Access (admin role):\n"
    "  token create --tenant T [--agents GLOB] [--ttl 1h] [--uses N] [--approval]\n"
    "                                 a join token for `cairn-agent enroll`\n"
    "  token list | token delete ID\n"
    "  agents approve NAME | agents revoke NAME\n"
    "  credentials create --name N --role viewer|operator|admin [--ttl 365d] [--out FILE]\n"
    "  credentials list | credentials revoke NAME\n"
    "  credentials pem FILE DIR   write FILE's ca.pem, cert.pem, key.pem (0600) to DIR\n"
    "  web                        a one-time link to the status page (viewer role)\n"
    "  audit [--since 24h] [--refused] [--limit N]\n\n"
    "cairnctl proves who it is with a credentials file: --credentials FILE or\n"
    "CAIRN_CREDENTIALS (cairn-server writes the first to STATE_DIR/admin.credentials),\n"
    "or, on the server's host, talks over its local socket: --server local:PATH.\n"
    "Run `cairnctl --help` for every flag; docs/operations.md for the whole story.";

// "90m", "12h", "7d": a duration in minutes, hours or days (or what
// absl::ParseDuration takes).
absl::StatusOr<absl::Duration> ParseAge(const std::string& flag, absl::string_view text) {
  int64_t n = 0;
  if (absl::EndsWith(text, "d") && absl::SimpleAtoi(text.substr(0, text.size() - 1), &n) &&
      n >= 0) {
    return absl::Hours(24) * n;
  }
  absl::Duration d;
  if (absl::ParseDuration(text, &d) && d >= absl::ZeroDuration()) return d;
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " ", text, " is not a duration such as 90m, 12h or 7d"));
}

int Fail(const absl::Status& status) {
  std::cerr << "cairnctl: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

int Usage(const std::string& problem) {
  std::cerr << "cairnctl: " << problem << "\n\n" << kUsage << "\n";
  return 2;
}

std::string JobTarget(const v1::Job& job) {
  if (job.kind() == v1::JOB_KIND_BACKUP) {
    return absl::StrCat(job.backup().roots_size() > 0 ? PathToText(job.backup().roots(0)) : "",
                        " (", LevelName(job.backup().level()), ")");
  }
  if (job.kind() == v1::JOB_KIND_RESTORE) {
    return absl::StrCat(job.restore().snapshot_id(), " -> ",
                        PathToText(job.restore().target_directory()));
  }
  return "";
}

// With --json: prints `message` (or why it cannot be printed) and says so.
bool PrintedJson(const google::protobuf::Message& message) {
  if (!absl::GetFlag(FLAGS_json)) return false;
  absl::Status printed = PrintJson(message, std::cout);
  if (!printed.ok()) std::cerr << "cairnctl: " << printed.message() << "\n";
  return true;
}

// One JSON object as a line (or the error, on stderr).
void PrintJsonLine(const google::protobuf::Message& message) {
  absl::Status printed = PrintJson(message, std::cout);
  if (!printed.ok()) std::cerr << "cairnctl: " << printed.message() << "\n";
}

}  // namespace cairn::ctl

#include "ctl/cli.h"

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/json_output.h"
#include "common/path_text.h"
#include "ctl/cli.h"
#include "ctl/output.h"

ABSL_FLAG(std::string, server, "", "server address HOST:PORT (default $CAIRN_SERVER or 127.0.0.1:7420)");
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
ABSL_FLAG(std::vector<std::string>, root, {}, "backup: roots (default: the agent's configured roots)");
ABSL_FLAG(bool, read_data, false, "verify: re-read every chunk, not only pack indexes");
ABSL_FLAG(bool, dry_run, false, "prune, gc: show what would be removed, remove nothing");

namespace cairn::ctl {

const char kUsage[] =
    "cairnctl: administer a cairn backup server.\n\n"
    "Usage: cairnctl [--server HOST:PORT] [--json] COMMAND [ARGS]\n\n"
    "  status                         health, storage, agents, running jobs\n"
    "  agents                         every agent with last seen and last backup\n"
    "  jobs [--agent A]               recent jobs, newest first\n"
    "  job JOB_ID                     one job in full\n"
    "  snapshots [--agent A]          snapshots, newest first\n"
    "  ls SNAPSHOT [PATH] [--recursive]\n"
    "  diff SNAPSHOT_A SNAPSHOT_B     what changed between two snapshots\n"
    "  restore SNAPSHOT --target DIR [--to-agent A] [--path P ...] [--overwrite] [--detach]\n"
    "  backup --agent A [--level full|incremental|differential] [--root DIR ...] [--detach]\n"
    "  verify [--read-data]           check every pack; damaged ones are quarantined\n"
    "  policy list | get NAME | apply FILE | delete NAME\n"
    "                                 policies: what to protect, schedules, retention\n"
    "  prune [--dry-run]              expire snapshots by their policies' retention\n"
    "  gc [--dry-run]                 delete unreferenced chunks, compact packs\n\n"
    "Run `cairnctl --help` for every flag; docs/operations.md for the whole story.";


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

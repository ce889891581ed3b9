// cairnctl: the admin command line of cairn, a plain client of AdminService.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/flag_names.h"
#include "cairn/v1/agent.pb.h"
#include "ctl/admin_client.h"
#include "common/text_config.h"
#include "ctl/output.h"
#include "common/json_output.h"
#include "common/path_text.h"

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

namespace {

using namespace cairn;  // NOLINT: a small command-line program

constexpr char kUsage[] =
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

// With --json, prints `message` as JSON and returns true: the caller is done.
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

int Status(AdminClient& client) {
  auto status = client.Call(&v1::AdminService::Stub::GetStatus, v1::GetStatusRequest());
  if (!status.ok()) return Fail(status.status());
  if (PrintedJson(*status)) return 0;
  const v1::GetStatusResponse& s = *status;
  std::cout << absl::StrFormat("cairn-server %s at %s: %s, up %ds\n", s.version(), client.address(),
                               s.healthy() ? "healthy" : "PROBLEMS", s.uptime_seconds());
  for (const std::string& p : s.problems()) std::cout << "  problem: " << p << "\n";
  std::cout << absl::StrFormat(
      "data: %d snapshots, %s logical, %s unique in %d chunks, %s stored "
      "(dedup %.2fx, compression %.2fx)\n",
      s.snapshots(), HumanBytes(s.logical_bytes()), HumanBytes(s.unique_bytes()), s.chunks(),
      HumanBytes(s.stored_bytes()), s.dedup_ratio(), s.compression_ratio());
  Table tiers({"TIER", "KIND", "PACKS", "USED", "FREE"});
  for (const v1::TierStatus& t : s.tiers()) {
    tiers.Add({t.name(), t.kind(), absl::StrCat(t.packs()), HumanBytes(t.used_bytes()),
               HumanBytes(t.free_bytes())});
  }
  std::cout << "\n" << tiers.Render();
  Table agents({"AGENT", "TENANT", "ONLINE", "LAST SEEN", "LAST BACKUP", "LAST CHANGE",
                "BACKLOG", "PROTECTION"});
  for (const v1::AgentInfo& a : s.agents()) {
    std::string protection = a.rpo_violated() ? "RPO VIOLATED" : "ok";
    if (!a.watcher_problem().empty()) absl::StrAppend(&protection, "; ", a.watcher_problem());
    if (a.policies().empty()) absl::StrAppend(&protection, " (no policy)");
    agents.Add({a.name(), a.tenant(), a.online() ? "yes" : "no", Ago(a.last_seen_unix_ms()),
                Ago(a.last_backup_unix_ms()), Ago(a.last_change_unix_ms()),
                absl::StrCat(a.pending_files(), " files, ", HumanBytes(a.pending_bytes())),
                protection});
  }
  std::cout << "\n" << agents.Render();
  Table jobs({"JOB", "KIND", "STATE", "AGENT", "WHAT", "STARTED"});
  for (const auto* list : {&s.running_jobs(), &s.recent_jobs()}) {
    for (const v1::Job& j : *list) {
      jobs.Add({j.id(), KindName(j.kind()), StateName(j.state()), j.agent(), JobTarget(j),
                Ago(j.created_unix_ms())});
    }
  }
  std::cout << "\n" << jobs.Render();
  return 0;
}

int Agents(AdminClient& client) {
  auto agents = client.Call(&v1::AdminService::Stub::ListAgents, v1::ListAgentsRequest());
  if (!agents.ok()) return Fail(agents.status());
  if (PrintedJson(*agents)) return 0;
  Table table({"AGENT", "TENANT", "HOST", "VERSION", "ONLINE", "LAST SEEN", "LAST BACKUP", "ROOTS"});
  for (const v1::AgentInfo& a : agents->agents()) {
    std::vector<std::string> roots;
    for (const std::string& r : a.roots()) roots.push_back(PathToText(r));
    table.Add({a.name(), a.tenant(), a.hostname(), a.version(), a.online() ? "yes" : "no",
               Ago(a.last_seen_unix_ms()), Ago(a.last_backup_unix_ms()),
               absl::StrJoin(roots, ",")});
  }
  std::cout << table.Render();
  return 0;
}

int Jobs(AdminClient& client) {
  v1::ListJobsRequest request;
  request.set_agent(absl::GetFlag(FLAGS_agent));
  request.set_limit(absl::GetFlag(FLAGS_limit));
  auto jobs = client.Call(&v1::AdminService::Stub::ListJobs, request);
  if (!jobs.ok()) return Fail(jobs.status());
  if (PrintedJson(*jobs)) return 0;
  Table table({"JOB", "KIND", "STATE", "AGENT", "WHAT", "CREATED", "RESULT"});
  for (const v1::Job& j : jobs->jobs()) {
    std::string result = j.error().empty() ? j.snapshot_id() : j.error();
    if (j.file_errors_size() > 0) absl::StrAppend(&result, " (", j.file_errors_size(), " file errors)");
    table.Add({j.id(), KindName(j.kind()), StateName(j.state()), j.agent(), JobTarget(j),
               Ago(j.created_unix_ms()), result});
  }
  std::cout << table.Render();
  return 0;
}

int Job(AdminClient& client, const std::string& id) {
  v1::GetJobRequest request;
  request.set_job_id(id);
  auto job = client.Call(&v1::AdminService::Stub::GetJob, request);
  if (!job.ok()) return Fail(job.status());
  if (PrintedJson(job->job())) return 0;
  const v1::Job& j = job->job();
  std::cout << absl::StrFormat("job %s: %s %s on %s\n  %s\n", j.id(), KindName(j.kind()),
                               StateName(j.state()), j.agent(), JobTarget(j));
  std::cout << absl::StrFormat("  progress: %d files, %s\n", j.progress().files_done(),
                               HumanBytes(j.progress().bytes_done()));
  if (!j.snapshot_id().empty()) std::cout << "  snapshot: " << j.snapshot_id() << "\n";
  if (!j.error().empty()) std::cout << "  error: " << j.error() << "\n";
  for (const v1::FileError& e : j.file_errors()) {
    std::cout << "  file error: " << PathToText(e.path()) << ": " << e.error() << "\n";
  }
  return 0;
}

int Snapshots(AdminClient& client) {
  v1::ListSnapshotsRequest request;
  request.set_agent(absl::GetFlag(FLAGS_agent));
  request.set_limit(absl::GetFlag(FLAGS_limit));
  auto snapshots = client.Call(&v1::AdminService::Stub::ListSnapshots, request);
  if (!snapshots.ok()) return Fail(snapshots.status());
  if (PrintedJson(*snapshots)) return 0;
  Table table({"SNAPSHOT", "AGENT", "ROOT", "LEVEL", "CREATED", "FILES", "SIZE", "NEW DATA"});
  for (const v1::Snapshot& s : snapshots->snapshots()) {
    table.Add({s.id(), s.agent(), s.roots_size() > 0 ? PathToText(s.roots(0)) : "",
               LevelName(s.level()), Ago(s.created_unix_ms()), absl::StrCat(s.stats().files()),
               HumanBytes(s.stats().bytes_scanned()), HumanBytes(s.stats().bytes_uploaded())});
  }
  std::cout << table.Render();
  return 0;
}

int Ls(AdminClient& client, const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2) return Usage("ls takes SNAPSHOT [PATH]");
  v1::ListFilesRequest request;
  request.set_snapshot_id(args[0]);
  if (args.size() == 2) {
    std::string prefix = args[1];
    while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    request.set_prefix(prefix);
  }
  request.set_recursive(absl::GetFlag(FLAGS_recursive));
  uint32_t limit = absl::GetFlag(FLAGS_limit);
  bool json = absl::GetFlag(FLAGS_json);
  uint64_t shown = 0;
  while (true) {
    auto page = client.Call(&v1::AdminService::Stub::ListFiles, request);
    if (!page.ok()) return Fail(page.status());
    for (const v1::FileInfo& f : page->files()) {
      if (limit > 0 && shown >= limit) return 0;
      ++shown;
      if (json) {
        PrintJsonLine(f);
        continue;
      }
      const v1::TreeEntry& e = f.entry();
      std::string suffix;
      if (e.type() == v1::ENTRY_TYPE_DIRECTORY) suffix = "/";
      if (e.type() == v1::ENTRY_TYPE_SYMLINK) suffix = " -> " + PathToText(e.link_target());
      if (e.type() == v1::ENTRY_TYPE_HARDLINK) suffix = " => " + PathToText(e.link_target());
      std::cout << absl::StrFormat("%-9s %04o %5d:%-5d %12d  %s%s\n", TypeName(e.type()), e.mode(),
                                   e.uid(), e.gid(), e.size(), PathToText(f.path()), suffix);
    }
    if (page->next_page_token().empty()) return 0;
    request.set_page_token(page->next_page_token());
  }
}

int Diff(AdminClient& client, const std::vector<std::string>& args) {
  if (args.size() != 2) return Usage("diff takes two snapshot ids");
  v1::DiffSnapshotsRequest request;
  request.set_from_snapshot_id(args[0]);
  request.set_to_snapshot_id(args[1]);
  request.set_limit(absl::GetFlag(FLAGS_limit));
  auto diff = client.Call(&v1::AdminService::Stub::DiffSnapshots, request);
  if (!diff.ok()) return Fail(diff.status());
  if (PrintedJson(*diff)) return 0;
  for (const v1::Change& c : diff->changes()) {
    const char* mark = c.kind() == v1::CHANGE_KIND_ADDED     ? "+"
                       : c.kind() == v1::CHANGE_KIND_REMOVED ? "-"
                       : c.kind() == v1::CHANGE_KIND_METADATA ? "U"
                                                              : "M";
    std::cout << mark << " " << PathToText(c.path())
              << (c.type() == v1::ENTRY_TYPE_DIRECTORY ? "/" : "") << "\n";
  }
  if (diff->truncated()) std::cerr << "(more changes; raise --limit)\n";
  return 0;
}

// Follows a job until it ends, drawing a progress line on a terminal.
int Follow(AdminClient& client, const std::string& job_id) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  grpc::ClientContext context;
  auto reader = client.stub()->WatchJob(&context, request);
  v1::Job job;
  bool tty = isatty(STDERR_FILENO);
  bool json = absl::GetFlag(FLAGS_json);
  while (reader->Read(&job)) {
    if (json || !tty) continue;
    const v1::JobProgress& p = job.progress();
    std::string bar;
    if (p.bytes_total() > 0) {
      double f = std::min(1.0, static_cast<double>(p.bytes_done()) / p.bytes_total());
      int filled = static_cast<int>(f * 30);
      bar = absl::StrFormat("[%s%s] %3d%% ", std::string(filled, '#'), std::string(30 - filled, ' '),
                            static_cast<int>(f * 100));
    }
    std::cerr << absl::StrFormat("\r%s%s: %s%d files, %s   ", job.id(), "", bar, p.files_done(),
                                 HumanBytes(p.bytes_done()))
              << std::flush;
  }
  grpc::Status status = reader->Finish();
  if (tty && !json) std::cerr << "\n";
  if (!status.ok()) return Fail(client.Explain(status));
  if (json) {
    PrintJsonLine(job);
  } else {
    std::cout << absl::StrFormat("job %s %s: %d files, %s%s\n", job.id(), StateName(job.state()),
                                 job.progress().files_done(), HumanBytes(job.progress().bytes_done()),
                                 job.snapshot_id().empty() || job.kind() != v1::JOB_KIND_BACKUP
                                     ? ""
                                     : absl::StrCat(", snapshot ", job.snapshot_id()));
    if (!job.error().empty()) std::cout << "  error: " << job.error() << "\n";
    for (const v1::FileError& e : job.file_errors()) {
      std::cout << "  " << PathToText(e.path()) << ": " << e.error() << "\n";
    }
  }
  if (job.state() == v1::JOB_STATE_SUCCEEDED) return 0;
  return job.state() == v1::JOB_STATE_PARTIAL ? 3 : 1;
}

int Restore(AdminClient& client, const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("restore takes one snapshot id");
  if (absl::GetFlag(FLAGS_target).empty()) {
    return Usage("restore needs --target DIR (a directory on the restoring agent)");
  }
  v1::OrderRestoreRequest request;
  v1::RestoreOrder* order = request.mutable_order();
  order->set_snapshot_id(args[0]);
  order->set_target_directory(absl::GetFlag(FLAGS_target));
  order->set_target_agent(absl::GetFlag(FLAGS_to_agent));
  for (std::string p : absl::GetFlag(FLAGS_path)) {
    while (!p.empty() && p.front() == '/') p.erase(0, 1);
    order->add_paths(p);
  }
  order->set_overwrite(absl::GetFlag(FLAGS_overwrite));
  order->set_allow_special(absl::GetFlag(FLAGS_allow_special));
  auto ordered = client.Call(&v1::AdminService::Stub::OrderRestore, request);
  if (!ordered.ok()) return Fail(ordered.status());
  if (absl::GetFlag(FLAGS_detach)) {
    if (absl::GetFlag(FLAGS_json)) {
      PrintJsonLine(ordered->job());
    } else {
      std::cout << ordered->job().id() << "\n";
    }
    return 0;
  }
  if (!absl::GetFlag(FLAGS_json)) {
    std::cerr << "restore ordered as " << ordered->job().id() << " on agent "
              << ordered->job().agent() << "\n";
  }
  return Follow(client, ordered->job().id());
}

int Backup(AdminClient& client) {
  if (absl::GetFlag(FLAGS_agent).empty()) return Usage("backup needs --agent NAME");
  v1::OrderBackupRequest request;
  request.set_agent(absl::GetFlag(FLAGS_agent));
  std::string level = absl::GetFlag(FLAGS_level);
  if (level == "full") {
    request.mutable_order()->set_level(v1::BACKUP_LEVEL_FULL);
  } else if (level == "incremental") {
    request.mutable_order()->set_level(v1::BACKUP_LEVEL_INCREMENTAL);
  } else if (level == "differential") {
    request.mutable_order()->set_level(v1::BACKUP_LEVEL_DIFFERENTIAL);
  } else {
    return Usage("--level is one of full, incremental, differential");
  }
  for (const std::string& r : absl::GetFlag(FLAGS_root)) request.mutable_order()->add_roots(r);
  auto ordered = client.Call(&v1::AdminService::Stub::OrderBackup, request);
  if (!ordered.ok()) return Fail(ordered.status());
  if (absl::GetFlag(FLAGS_detach)) {
    if (absl::GetFlag(FLAGS_json)) {
      PrintJsonLine(ordered->job());
    } else {
      std::cout << ordered->job().id() << "\n";
    }
    return 0;
  }
  return Follow(client, ordered->job().id());
}

int Verify(AdminClient& client) {
  v1::VerifyRequest request;
  request.set_read_data(absl::GetFlag(FLAGS_read_data));
  auto report = client.Call(&v1::AdminService::Stub::Verify, request, absl::Hours(24));
  if (!report.ok()) return Fail(report.status());
  if (absl::GetFlag(FLAGS_json)) {
    PrintJsonLine(*report);
  } else {
    std::cout << absl::StrFormat("checked %d packs, %d chunks: %s\n", report->packs_checked(),
                                 report->chunks_checked(),
                                 report->problems().empty() ? "ok" : "PROBLEMS");
    for (const std::string& p : report->problems()) std::cout << "  " << p << "\n";
  }
  return report->problems().empty() ? 0 : 1;
}


int PolicyCommand(AdminClient& client, const std::vector<std::string>& args) {
  if (args.empty()) return Usage("policy takes list, get NAME, apply FILE or delete NAME");
  const std::string& verb = args[0];
  bool json = absl::GetFlag(FLAGS_json);
  if (verb == "list" && args.size() == 1) {
    auto list = client.Call(&v1::AdminService::Stub::ListPolicies, v1::ListPoliciesRequest());
    if (!list.ok()) return Fail(list.status());
    if (json) {
      PrintJsonLine(*list);
      return 0;
    }
    Table table({"POLICY", "AGENTS", "ROOTS", "SCHEDULES", "CONTINUOUS", "RETENTION"});
    for (const v1::Policy& p : list->policies()) {
      std::vector<std::string> roots, schedules;
      for (const std::string& r : p.roots()) roots.push_back(PathToText(r));
      for (const v1::Schedule& c : p.schedules()) {
        schedules.push_back(absl::StrCat(c.cron(), " ", LevelName(c.level())));
      }
      const v1::RetentionRule& r = p.retention();
      table.Add({p.name(), absl::StrJoin(p.agents(), ","), absl::StrJoin(roots, ","),
                 absl::StrJoin(schedules, "; "),
                 p.continuous() ? absl::StrCat("every ", p.interval_seconds(), "s") : "no",
                 absl::StrFormat("last %d h %d d %d w %d m %d", r.keep_last(), r.keep_hourly(),
                                 r.keep_daily(), r.keep_weekly(), r.keep_monthly())});
    }
    std::cout << table.Render();
    return 0;
  }
  if ((verb == "get" || verb == "delete") && args.size() == 2) {
    v1::GetPolicyRequest request;
    request.set_name(args[1]);
    if (verb == "delete") {
      auto done = client.Call(&v1::AdminService::Stub::DeletePolicy, request);
      if (!done.ok()) return Fail(done.status());
      std::cout << "deleted policy " << args[1] << "\n";
      return 0;
    }
    auto policy = client.Call(&v1::AdminService::Stub::GetPolicy, request);
    if (!policy.ok()) return Fail(policy.status());
    if (PrintedJson(*policy)) return 0;
    std::cout << PrintTextConfig(*policy);
    return 0;
  }
  if ((verb == "apply" || verb == "set") && args.size() == 2) {
    // A file of `policy { ... }` blocks (cairn.v1.PolicySet), or one bare policy.
    v1::PolicySet set;
    absl::Status parsed = LoadTextConfig(args[1], &set);
    if (!parsed.ok()) {
      v1::Policy single;
      absl::Status as_single = LoadTextConfig(args[1], &single);
      if (!as_single.ok()) return Fail(parsed);
      *set.add_policy() = std::move(single);
    }
    if (set.policy().empty()) return Usage(absl::StrCat(args[1], " holds no policy"));
    for (const v1::Policy& p : set.policy()) {
      auto stored = client.Call(&v1::AdminService::Stub::SetPolicy, p);
      if (!stored.ok()) return Fail(stored.status());
      if (!PrintedJson(*stored)) std::cout << "applied policy " << stored->name() << "\n";
    }
    return 0;
  }
  return Usage("policy takes list, get NAME, apply FILE or delete NAME");
}

int Prune(AdminClient& client) {
  v1::PruneRequest request;
  request.set_dry_run(absl::GetFlag(FLAGS_dry_run));
  request.set_agent(absl::GetFlag(FLAGS_agent));
  auto pruned = client.Call(&v1::AdminService::Stub::Prune, request, absl::Hours(1));
  if (!pruned.ok()) return Fail(pruned.status());
  if (PrintedJson(*pruned)) return 0;
  std::cout << (request.dry_run() ? "would expire " : "expired ")
            << pruned->expired_snapshot_ids_size() << " snapshots, kept " << pruned->kept() << "\n";
  for (const std::string& id : pruned->expired_snapshot_ids()) std::cout << "  " << id << "\n";
  return 0;
}

int Gc(AdminClient& client) {
  v1::GcRequest request;
  request.set_dry_run(absl::GetFlag(FLAGS_dry_run));
  auto gc = client.Call(&v1::AdminService::Stub::CollectGarbage, request, absl::Hours(24));
  if (!gc.ok()) return Fail(gc.status());
  if (PrintedJson(*gc)) return 0;
  std::cout << absl::StrFormat(
      "%s%d chunks (%s), %d trees; %d packs deleted, %d compacted; %d chunks rescued by running "
      "backups\n",
      request.dry_run() ? "would delete " : "deleted ", gc->chunks_deleted(),
      HumanBytes(gc->bytes_freed()), gc->trees_deleted(), gc->packs_deleted(),
      gc->packs_compacted(), gc->chunks_rescued());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> flag_storage = NormalizeFlagNames(argc, argv);
  if (cairn::PrintHelpIfAsked(argc, argv, kUsage, "ctl/main.cc", true)) return 0;
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> raw = absl::ParseCommandLine(argc, argv);
  if (raw.size() < 2) return Usage("name a command");
  std::string command = raw[1];
  std::vector<std::string> args(raw.begin() + 2, raw.end());
  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty() && std::getenv("CAIRN_SERVER") != nullptr) server = std::getenv("CAIRN_SERVER");
  if (server.empty()) server = "127.0.0.1:7420";
  AdminClient client(server);
  if (command == "status") return Status(client);
  if (command == "agents") return Agents(client);
  if (command == "jobs") return Jobs(client);
  if (command == "job") return args.size() == 1 ? Job(client, args[0]) : Usage("job takes a job id");
  if (command == "snapshots") return Snapshots(client);
  if (command == "ls") return Ls(client, args);
  if (command == "diff") return Diff(client, args);
  if (command == "restore") return Restore(client, args);
  if (command == "backup") return Backup(client);
  if (command == "verify") return Verify(client);
  if (command == "policy") return PolicyCommand(client, args);
  if (command == "prune") return Prune(client);
  if (command == "gc") return Gc(client);
  if (command == "watch") return args.size() == 1 ? Follow(client, args[0]) : Usage("watch takes a job id");
  return Usage(absl::StrCat("unknown command \"", command, "\""));
}

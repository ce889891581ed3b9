// cairnctl commands that look: status, agents, jobs, snapshots, ls, diff.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cairn/v1/agent.pb.h"
#include "common/json_output.h"
#include "common/path_text.h"
#include "common/text_config.h"
#include "ctl/cli.h"
#include "ctl/output.h"

namespace cairn::ctl {

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
  Table agents({"AGENT", "TENANT", "ONLINE", "LAST SEEN", "LAST BACKUP", "LAST CHANGE", "BACKLOG",
                "PROTECTION"});
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
  Table table(
      {"AGENT", "TENANT", "HOST", "VERSION", "ONLINE", "LAST SEEN", "LAST BACKUP", "ROOTS"});
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
    if (j.file_errors_size() > 0)
      absl::StrAppend(&result, " (", j.file_errors_size(), " file errors)");
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
    const char* mark = c.kind() == v1::CHANGE_KIND_ADDED      ? "+"
                       : c.kind() == v1::CHANGE_KIND_REMOVED  ? "-"
                       : c.kind() == v1::CHANGE_KIND_METADATA ? "U"
                                                              : "M";
    std::cout << mark << " " << PathToText(c.path())
              << (c.type() == v1::ENTRY_TYPE_DIRECTORY ? "/" : "") << "\n";
  }
  if (diff->truncated()) std::cerr << "(more changes; raise --limit)\n";
  return 0;
}

}  // namespace cairn::ctl

// cairnctl commands that maintain: verify, policies, prune, gc.
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

int Verify(AdminClient& client) {
  v1::VerifyRequest request;
  request.set_read_data(absl::GetFlag(FLAGS_read_data));
  request.set_agent(absl::GetFlag(FLAGS_agent));
  request.set_snapshot_id(absl::GetFlag(FLAGS_snapshot));
  request.set_sample_percent(absl::GetFlag(FLAGS_sample));
  request.set_tier(absl::GetFlag(FLAGS_tier));
  if (!request.agent().empty() && !request.tier().empty()) {
    return Usage("--tier checks packs on the server; an agent verifies by snapshot, not by tier");
  }
  if (request.agent().empty() &&
      (!request.snapshot_id().empty() || request.sample_percent() != 0)) {
    return Usage("--snapshot and --sample go with --agent (the agent verifies with its key)");
  }
  auto report = client.Call(&v1::AdminService::Stub::Verify, request, absl::Hours(24));
  if (!report.ok()) return Fail(report.status());
  if (!request.agent().empty()) {
    // The agent carries it out: follow its job like a restore.
    if (absl::GetFlag(FLAGS_detach)) {
      if (!PrintedJson(report->job())) std::cout << report->job().id() << "\n";
      return 0;
    }
    std::cerr << "verify job " << report->job().id() << " on " << request.agent() << "\n";
    return Follow(client, report->job().id());
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJsonLine(*report);
  } else {
    bool clean = report->problems().empty() && report->unchecked().empty();
    std::cout << absl::StrFormat("checked %d packs, %d chunks: %s\n", report->packs_checked(),
                                 report->chunks_checked(), clean ? "ok" : "PROBLEMS");
    for (const std::string& p : report->problems()) std::cout << "  damaged: " << p << "\n";
    for (const std::string& u : report->unchecked()) std::cout << "  " << u << "\n";
  }
  // 1: damage found (now quarantined); 3: some packs could not be checked.
  if (!report->problems().empty()) return 1;
  return report->unchecked().empty() ? 0 : 3;
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
  if (pruned->held_snapshot_ids_size() > 0) {
    std::cout << pruned->held_snapshot_ids_size()
              << " more the rules let go stay: protected, or held by the retention lock\n";
    for (const std::string& id : pruned->held_snapshot_ids()) std::cout << "  " << id << "\n";
  }
  return 0;
}

int SnapshotCommand(AdminClient& client, const std::vector<std::string>& args) {
  if (args.size() != 2 || (args[0] != "protect" && args[0] != "unprotect" && args[0] != "delete")) {
    return Usage("snapshot protect ID | snapshot unprotect ID | snapshot delete ID");
  }
  if (args[0] == "delete") {
    v1::DeleteSnapshotRequest request;
    request.set_snapshot_id(args[1]);
    auto deleted = client.Call(&v1::AdminService::Stub::DeleteSnapshot, request);
    if (!deleted.ok()) return Fail(deleted.status());
    std::cout << "deleted snapshot " << args[1] << " (its data goes with the next gc)\n";
    return 0;
  }
  v1::ProtectSnapshotRequest request;
  request.set_snapshot_id(args[1]);
  request.set_protect(args[0] == "protect");
  auto done = client.Call(&v1::AdminService::Stub::ProtectSnapshot, request);
  if (!done.ok()) return Fail(done.status());
  if (PrintedJson(*done)) return 0;
  std::cout << "snapshot " << args[1] << (request.protect() ? " is protected" : " is unprotected")
            << "\n";
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
      "backups; %d kept as bases of checkpoint deltas\n",
      request.dry_run() ? "would delete " : "deleted ", gc->chunks_deleted(),
      HumanBytes(gc->bytes_freed()), gc->trees_deleted(), gc->packs_deleted(),
      gc->packs_compacted(), gc->chunks_rescued(), gc->chunks_kept_as_bases());
  for (const std::string& p : gc->problems()) std::cout << "  problem: " << p << "\n";
  return gc->problems().empty() ? 0 : 1;
}

}  // namespace cairn::ctl

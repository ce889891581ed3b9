// cairnctl commands that order work: restore and backup, and following a job.
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
      bar = absl::StrFormat("[%s%s] %3d%% ", std::string(filled, '#'),
                            std::string(30 - filled, ' '), static_cast<int>(f * 100));
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
                                 job.progress().files_done(),
                                 HumanBytes(job.progress().bytes_done()),
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

}  // namespace cairn::ctl

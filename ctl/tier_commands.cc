// cairnctl tier list | move | copy: where packs live, and moving them.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ctl/cli.h"
#include "ctl/output.h"

namespace cairn::ctl {
namespace {

std::string Health(const v1::TierStatus& t) {
  if (!t.down()) return "up";
  return absl::StrCat("DOWN since ",
                      absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(t.down_since_ms()),
                                       absl::LocalTimeZone()),
                      ": ", t.last_error());
}

int List(AdminClient& client) {
  auto tiers = client.Call(&v1::AdminService::Stub::ListTiers, v1::ListTiersRequest());
  if (!tiers.ok()) return Fail(tiers.status());
  if (PrintedJson(*tiers)) return 0;
  Table table({"TIER", "KIND", "PACKS", "USED", "FREE", "NEW PACKS", "HEALTH"});
  for (const v1::TierStatus& t : tiers->tiers()) {
    table.Add({t.name(), t.kind(), absl::StrCat(t.packs()), HumanBytes(t.used_bytes()),
               t.kind() == "local" ? HumanBytes(t.free_bytes()) : "-", t.new_packs() ? "yes" : "",
               Health(t)});
  }
  std::cout << table.Render();
  const v1::CatalogBackupStatus& b = tiers->catalog_backup();
  if (!b.enabled()) {
    std::cout << "\ncatalog bundles: off (catalog_backup.disabled)\n";
  } else if (b.last_unix_ms() == 0) {
    std::cout << "\ncatalog bundles: none written yet\n";
  } else {
    std::cout << "\ncatalog bundles: last " << b.last_object() << " ("
              << absl::FormatDuration(absl::Seconds(
                     absl::ToInt64Seconds(absl::Now() - absl::FromUnixMillis(b.last_unix_ms()))))
              << " ago), " << b.bundles() << " since start\n";
  }
  for (const std::string& p : b.problems()) std::cout << "  problem: " << p << "\n";
  return b.problems().empty() ? 0 : 1;
}

int Move(AdminClient& client, bool copy) {
  v1::MoveTierRequest request;
  request.set_from(absl::GetFlag(FLAGS_from));
  request.set_to(absl::GetFlag(FLAGS_to));
  request.set_copy(copy);
  request.set_dry_run(absl::GetFlag(FLAGS_dry_run));
  if (request.from().empty() || request.to().empty()) {
    return Usage(absl::StrCat("tier ", copy ? "copy" : "move", " needs --from A --to B"));
  }
  if (!absl::GetFlag(FLAGS_older_than).empty()) {
    absl::StatusOr<absl::Duration> age = ParseAge("older-than", absl::GetFlag(FLAGS_older_than));
    if (!age.ok()) return Fail(age.status());
    request.set_older_than_seconds(static_cast<uint64_t>(absl::ToInt64Seconds(*age)));
  }
  grpc::ClientContext context;
  auto reader = client.stub()->MoveTier(&context, request);
  v1::MoveTierProgress p;
  const bool tty = isatty(STDERR_FILENO) && !absl::GetFlag(FLAGS_json);
  while (reader->Read(&p)) {
    if (!tty) continue;
    std::cerr << absl::StrFormat("\r%d/%d packs, %s of %s   ", p.packs_done(), p.packs_total(),
                                 HumanBytes(p.bytes_done()), HumanBytes(p.bytes_total()))
              << std::flush;
  }
  if (tty) std::cerr << "\n";
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Fail(client.Explain(status));
  if (PrintedJson(p)) return p.problems().empty() ? 0 : 1;
  const char* verb = copy ? "copied" : "moved";
  if (request.dry_run()) {
    std::cout << absl::StrFormat("would have %s %d packs (%s) from %s to %s\n", verb,
                                 p.packs_total(), HumanBytes(p.bytes_total()), request.from(),
                                 request.to());
  } else {
    std::cout << absl::StrFormat("%s %d of %d packs (%s) from %s to %s; %d skipped\n", verb,
                                 p.packs_done(), p.packs_total(), HumanBytes(p.bytes_done()),
                                 request.from(), request.to(), p.packs_skipped());
  }
  for (const std::string& problem : p.problems()) std::cout << "  problem: " << problem << "\n";
  return p.problems().empty() ? 0 : 1;
}

}  // namespace

int TierCommand(AdminClient& client, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "list") return List(client);
  if (args[0] == "move") return Move(client, false);
  if (args[0] == "copy") return Move(client, true);
  return Usage(absl::StrCat("tier ", args[0], ": say list, move or copy"));
}

}  // namespace cairn::ctl

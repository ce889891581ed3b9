#include "server/maintenance/maintenance_service.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/limits.h"
#include "common/log/log.h"
#include "common/status_macros.h"
#include "server/maintenance/pack_verifier.h"
#include "server/maintenance/retention.h"
#include "server/maintenance/snapshot_packs.h"

namespace cairn {
namespace {

// The method table already asks for admin; this keeps the core as strict
// for callers that do not come through the RPC boundary.
absl::Status NeedAdmin(const Caller& caller, absl::string_view what) {
  if (caller.HasRole(Role::kAdmin)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(what, " needs the admin role; ", caller.Describe(), " lacks it"));
}

}  // namespace

absl::Status MaintenanceService::BeginExclusive(absl::string_view what) {
  absl::MutexLock lock(&exclusive_);
  if (!running_.empty()) {
    return absl::AbortedError(
        absl::StrCat(running_, " is already running; ", what, " starts when it has ended"));
  }
  running_ = std::string(what);
  return absl::OkStatus();
}

void MaintenanceService::EndExclusive() {
  absl::MutexLock lock(&exclusive_);
  running_.clear();
}

absl::StatusOr<v1::VerifyResponse> MaintenanceService::Verify(const Caller&,
                                                              const v1::VerifyRequest& request) {
  if (request.tier().size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("a tier name is at most ", kMaxNameLength, " bytes"));
  }
  RETURN_IF_ERROR(BeginExclusive("a verify"));
  absl::Cleanup end = [this] { EndExclusive(); };
  PackVerifier verifier(&catalog_->chunks(), &catalog_->placement(), tiers_);
  ASSIGN_OR_RETURN(VerifyReport report,
                   request.tier().empty()
                       ? verifier.VerifyAll(request.read_data())
                       : verifier.VerifyTier(request.tier(), request.read_data()));
  v1::VerifyResponse response;
  response.set_packs_checked(report.packs_checked);
  response.set_chunks_checked(report.chunks_checked);
  for (std::string& p : report.problems) response.add_problems(std::move(p));
  for (std::string& u : report.unchecked) response.add_unchecked(std::move(u));
  return response;
}

absl::StatusOr<v1::PruneResponse> MaintenanceService::Prune(const Caller& caller,
                                                            const v1::PruneRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller, "pruning"));
  ASSIGN_OR_RETURN(PolicySnapshot policies, policies_->Current());
  absl::StatusOr<v1::PruneResponse> pruned =
      PruneSnapshots(catalog_, *policies.policies, request, options_.clock(), options_.deletion);
  if (pruned.ok() && !request.dry_run() && options_.on_change) options_.on_change();
  if (!request.dry_run()) {
    if (pruned.ok()) {
      log::Info("prune.finished", {{"by", caller.Principal()},
                                   {"expired", pruned->expired_snapshot_ids_size()},
                                   {"kept", pruned->kept()},
                                   {"held", pruned->held_snapshot_ids_size()}});
    } else {
      log::Error("prune.failed", {{"by", caller.Principal()}, {"error", pruned.status()}});
    }
  }
  if (options_.metrics != nullptr && !request.dry_run()) {
    options_.metrics->MaintenanceRun("prune", pruned.ok());
  }
  return pruned;
}

absl::StatusOr<v1::DeleteSnapshotResponse> MaintenanceService::DeleteSnapshot(
    const Caller& caller, const v1::DeleteSnapshotRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller, "deleting a snapshot"));
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot,
                   catalog_->snapshots().Get(request.snapshot_id()));
  if (!snapshot.has_value()) {
    return absl::NotFoundError(absl::StrCat("no snapshot ", request.snapshot_id()));
  }
  const absl::Time now = options_.clock();
  RETURN_IF_ERROR(MayDelete(*snapshot, options_.deletion, now));
  RETURN_IF_ERROR(catalog_->snapshots().Delete(
      {{snapshot->id(),
        absl::StrCat("snapshot deleted by ", caller.Principal(), " at ",
                     absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone()))}}));
  log::Info(
      "snapshot.deleted",
      {{"snapshot", snapshot->id()}, {"agent", snapshot->agent()}, {"by", caller.Principal()}});
  if (options_.on_change) options_.on_change();
  return v1::DeleteSnapshotResponse();
}

absl::StatusOr<v1::ProtectSnapshotResponse> MaintenanceService::ProtectSnapshot(
    const Caller& caller, const v1::ProtectSnapshotRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller, "protecting a snapshot"));
  ASSIGN_OR_RETURN(v1::Snapshot snapshot,
                   catalog_->snapshots().SetProtected(request.snapshot_id(), request.protect()));
  v1::ProtectSnapshotResponse response;
  *response.mutable_snapshot() = std::move(snapshot);
  return response;
}

absl::StatusOr<v1::GcResponse> MaintenanceService::CollectGarbage(const Caller& caller,
                                                                  const v1::GcRequest& request) {
  RETURN_IF_ERROR(NeedAdmin(caller, "collecting garbage"));
  GcOptions options;
  options.dry_run = request.dry_run();
  // proto3 cannot tell 0 from unset: 0 means the default.
  if (request.compact_below() != 0) options.compact_below = request.compact_below();
  options.grace = options_.gc_grace;
  options.pack_target_bytes = options_.pack_target_bytes;
  // Superseded copies outlive the retention lock too.
  options.superseded_hold = std::max(options.superseded_hold, options_.deletion.min_retention);
  ASSIGN_OR_RETURN(GcReport report, CollectGarbage(caller, options));
  return report.ToProto();
}

absl::StatusOr<GcReport> MaintenanceService::CollectGarbage(const Caller&,
                                                            const GcOptions& options) {
  GcOptions with_barrier = options;
  if (!with_barrier.before_delete) with_barrier.before_delete = options_.before_pack_delete;
  RETURN_IF_ERROR(BeginExclusive("a garbage collection"));
  absl::Cleanup end = [this] { EndExclusive(); };
  absl::StatusOr<GcReport> report =
      GarbageCollector(catalog_, tiers_, guard_, options_.clock).Run(with_barrier);
  if (options_.on_change && !options.dry_run) options_.on_change();
  if (!options.dry_run) {
    if (!report.ok()) {
      log::Error("gc.failed", {{"error", report.status()}});
    } else {
      log::Event(report->problems.empty() ? log::Level::kInfo : log::Level::kError, "gc.finished",
                 {{"chunks_deleted", report->chunks_deleted},
                  {"trees_deleted", report->trees_deleted},
                  {"packs_deleted", report->packs_deleted},
                  {"packs_compacted", report->packs_compacted},
                  {"bytes_freed", report->bytes_freed},
                  {"chunks_rescued", report->chunks_rescued},
                  {"mark_passes", report->mark_passes},
                  {"problems", report->problems.size()},
                  {"first_problem", report->problems.empty() ? "" : report->problems[0]}});
    }
  }
  if (options_.metrics != nullptr && !options.dry_run) {
    options_.metrics->MaintenanceRun("gc", report.ok() && report->problems.empty());
    if (report.ok()) {
      options_.metrics->GcRemoved(report->packs_deleted,
                                  static_cast<uint64_t>(std::max<int64_t>(0, report->bytes_freed)));
    }
  }
  return report;
}

absl::StatusOr<v1::MoveTierProgress> MaintenanceService::MoveTier(
    const Caller& caller, const v1::MoveTierRequest& request,
    const std::function<bool(const v1::MoveTierProgress&)>& write,
    std::function<bool(const PlacedPack&)> select) {
  RETURN_IF_ERROR(NeedAdmin(caller, request.copy() ? "copying packs" : "moving packs"));
  if (request.from().empty() || request.to().empty()) {
    return absl::InvalidArgumentError("name both tiers: --from A --to B");
  }
  if (request.older_than_days() > 36500 || request.older_than_seconds() > 36500ull * 86400) {
    return absl::InvalidArgumentError("older than is at most 36500 days");
  }
  TierMoveOptions options{.from = request.from(),
                          .to = request.to(),
                          .copy = request.copy(),
                          .older_than = request.older_than_seconds() > 0
                                            ? absl::Seconds(request.older_than_seconds())
                                            : absl::Hours(24) * request.older_than_days(),
                          .dry_run = request.dry_run(),
                          .select = std::move(select),
                          .before_delete = options_.before_pack_delete,
                          .clock = options_.clock};
  RETURN_IF_ERROR(BeginExclusive(request.copy() ? "a tier copy" : "a tier move"));
  absl::Cleanup end = [this] { EndExclusive(); };
  absl::StatusOr<v1::MoveTierProgress> done = mover_.Run(options, write);
  if (done.ok() && !request.dry_run() && options_.on_change) options_.on_change();
  return done;
}

absl::StatusOr<std::function<bool(const PlacedPack&)>> MaintenanceService::UnusedFor(
    absl::Duration age, std::vector<std::string>* problems) {
  ASSIGN_OR_RETURN(auto newest, NewestUseOfPacks(catalog_, problems));
  const int64_t cutoff_ms = absl::ToUnixMillis(options_.clock() - age);
  return [newest = std::move(newest), cutoff_ms](const PlacedPack& p) {
    auto it = newest.find(p.pack.id);
    const int64_t last = it == newest.end() ? p.created_ms : std::max(it->second, p.created_ms);
    return last <= cutoff_ms;
  };
}

absl::StatusOr<PolicyCopiesReport> MaintenanceService::KeepPolicyCopies(
    const std::function<bool()>& stopping) {
  ASSIGN_OR_RETURN(PolicySnapshot policies, policies_->Current());
  RETURN_IF_ERROR(BeginExclusive("a policy copy pass"));
  absl::Cleanup end = [this] { EndExclusive(); };
  ASSIGN_OR_RETURN(PolicyCopiesReport report,
                   PolicyCopies(catalog_, tiers_, &mover_).Run(*policies.policies, stopping));
  if (report.copies_made > 0 && options_.on_change) options_.on_change();
  return report;
}

}  // namespace cairn

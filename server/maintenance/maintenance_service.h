// Maintenance as admins order it: verify packs, prune snapshots by the
// policies' retention, and collect garbage. Every one is safe while backups
// run (docs/gc.md); only one collection runs at a time.
//
//   ASSIGN_OR_RETURN(v1::VerifyResponse r, maintenance.Verify(caller, request));
//   ASSIGN_OR_RETURN(GcReport gc, maintenance.CollectGarbage(caller, GcOptions{}));
#ifndef CAIRN_SERVER_MAINTENANCE_MAINTENANCE_SERVICE_H_
#define CAIRN_SERVER_MAINTENANCE_MAINTENANCE_SERVICE_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/admin.pb.h"
#include "server/auth/caller.h"
#include "server/catalog/catalog.h"
#include "server/ingest/gc_guard.h"
#include "server/maintenance/deletion_rules.h"
#include "server/maintenance/garbage_collector.h"
#include "server/maintenance/policy_copies.h"
#include "server/maintenance/tier_mover.h"
#include "server/metrics/server_metrics.h"
#include "server/schedule/policy_service.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct MaintenanceOptions {
  // Defaults for collections ordered over RPC.
  absl::Duration gc_grace = absl::Hours(1);
  uint64_t pack_target_bytes = 64u << 20;
  std::function<absl::Time()> clock = absl::Now;
  DeletionRules deletion;  // the retention lock, from the server's config
  // GcOptions::before_delete for every collection; and what is called after
  // snapshots are deleted (the catalog changed). Either may be empty.
  std::function<absl::Status()> before_pack_delete;
  std::function<void()> on_change;
  // Where runs and what they removed are counted; may be null.
  ServerMetrics* metrics = nullptr;
};

class MaintenanceService final {
 public:
  MaintenanceService(Catalog* catalog, const TierSet* tiers, GcGuard* guard,
                     PolicyService* policies, MaintenanceOptions options)
      : catalog_(catalog),
        tiers_(tiers),
        guard_(guard),
        policies_(policies),
        options_(std::move(options)),
        mover_(catalog, tiers) {}

  absl::StatusOr<v1::VerifyResponse> Verify(const Caller& caller, const v1::VerifyRequest& request);
  absl::StatusOr<v1::PruneResponse> Prune(const Caller& caller, const v1::PruneRequest& request);
  // Deleting and protecting one snapshot; admin only (MayDelete decides).
  absl::StatusOr<v1::DeleteSnapshotResponse> DeleteSnapshot(
      const Caller& caller, const v1::DeleteSnapshotRequest& request);
  absl::StatusOr<v1::ProtectSnapshotResponse> ProtectSnapshot(
      const Caller& caller, const v1::ProtectSnapshotRequest& request);
  // A collection with the request's settings and the server's defaults.
  absl::StatusOr<v1::GcResponse> CollectGarbage(const Caller& caller, const v1::GcRequest& request);
  // A collection with explicit options (tests stop it at its phases).
  absl::StatusOr<GcReport> CollectGarbage(const Caller& caller, const GcOptions& options);
  // Moves or copies packs between tiers (admin), telling `write` the
  // progress; stops when `write` returns false.
  absl::StatusOr<v1::MoveTierProgress> MoveTier(
      const Caller& caller, const v1::MoveTierRequest& request,
      const std::function<bool(const v1::MoveTierProgress&)>& write,
      std::function<bool(const PlacedPack&)> select = nullptr);
  // The copies policies ask for (policy_copies.h); run by the server's
  // placement pass. Aborted while gc, verify or a tier move runs.
  absl::StatusOr<PolicyCopiesReport> KeepPolicyCopies(const std::function<bool()>& stopping);
  // For age rules: accepts a pack when the newest snapshot using it (or,
  // used by none, the pack itself) is at least `age` old by the server's
  // clock. Walks every snapshot's trees once, now.
  absl::StatusOr<std::function<bool(const PlacedPack&)>> UnusedFor(
      absl::Duration age, std::vector<std::string>* problems);

 private:
  Catalog* catalog_;
  const TierSet* tiers_;
  GcGuard* guard_;
  PolicyService* policies_;
  MaintenanceOptions options_;
  TierMover mover_;
  // Garbage collection, verify and tier moves exclude each other: each reads
  // packs where it listed them, and a move relocates them. Aborted (naming
  // what runs) when another is running.
  absl::Status BeginExclusive(absl::string_view what);
  void EndExclusive();
  absl::Mutex exclusive_;
  std::string running_ ABSL_GUARDED_BY(exclusive_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_MAINTENANCE_SERVICE_H_

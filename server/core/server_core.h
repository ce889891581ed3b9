// Everything cairn-server does, without gRPC: the catalog, the tiers, the job
// board, the GC guard and the services over them (ingest, snapshot reads,
// control sessions, orders, policies, browse, status, maintenance, access)
// the cron scheduler, and who callers are (authenticator) and what they did
// (audit log). The RPC layer and tests call the services; a service never
// reaches into another's state.
//
//   ASSIGN_OR_RETURN(auto core, ServerCore::Open(dir + "/catalog.db", std::move(tiers), {}));
//   ASSIGN_OR_RETURN(v1::BeginBackupResponse r, core->ingest().BeginBackup(caller, request));
#ifndef CAIRN_SERVER_CORE_SERVER_CORE_H_
#define CAIRN_SERVER_CORE_SERVER_CORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/auth/access_service.h"
#include "server/auth/audit_log.h"
#include "server/auth/authenticator.h"
#include "server/auth/data_sessions.h"
#include "server/auth/server_pki.h"
#include "server/auth/stream_limiter.h"
#include "server/auth/web_sessions.h"
#include "server/browse/browse_service.h"
#include "server/browse/status_service.h"
#include "server/catalog/catalog.h"
#include "server/ingest/gc_guard.h"
#include "server/ingest/ingest_service.h"
#include "server/ingest/snapshot_reader.h"
#include "server/ingest/tenant_quota.h"
#include "server/maintenance/maintenance_service.h"
#include "server/metrics/server_metrics.h"
#include "server/schedule/control_service.h"
#include "server/schedule/job_board.h"
#include "server/schedule/order_service.h"
#include "server/schedule/policy_service.h"
#include "server/schedule/scheduler.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct CoreOptions {
  uint64_t pack_target_bytes = 64u << 20;
  absl::Duration job_lease = absl::Hours(1);
  // Garbage collection spares trees and packs younger than this.
  absl::Duration gc_grace = absl::Hours(1);
  // The server's clock: leases, snapshot times, GC ages, RPO. Tests inject one.
  std::function<absl::Time()> clock = absl::Now;
  CatalogOptions catalog;
  // Run the cron scheduler's thread (tests drive Tick() themselves).
  bool run_scheduler = false;
  // Wraps each tier CairnServer opens from its config; tests use it for
  // fault injection. Empty: the tiers as they are.
  std::function<std::unique_ptr<Tier>(std::unique_ptr<Tier>)> wrap_tier;
  // The CA that signs agents' and admins' certificates (CairnServer loads
  // it from the state directory). Null: enrollment is impossible and every
  // client certificate is refused.
  std::shared_ptr<const ServerPki> pki;
  // Streams per agent, agents per tenant, tenant quotas (0: the defaults,
  // 256 streams and 10000 agents; no quota).
  v1::ServerLimits limits;
  // The retention lock (ServerConfig.min_retention_days): no snapshot younger
  // than this is pruned or deleted, whoever asks.
  absl::Duration min_retention = absl::ZeroDuration();
  // Where new packs go and how long a failed tier is passed over.
  TierSetOptions tier_set;
  // The catalog backup's hooks (CairnServer sets them): told of every
  // change, and asked for a fresh bundle before pack objects are deleted.
  std::function<void()> on_catalog_change;
  std::function<absl::Status()> catalog_barrier;
  // Told of each committed snapshot before its commit is answered.
  std::function<void(const v1::Snapshot&)> on_snapshot_commit;
};

class ServerCore final {
 public:
  // Opens the catalog at `catalog_path`; `tiers` must hold at least one tier
  // (the first gets new packs).
  static absl::StatusOr<std::unique_ptr<ServerCore>> Open(const std::string& catalog_path,
                                                          std::vector<std::unique_ptr<Tier>> tiers,
                                                          CoreOptions options);
  ~ServerCore();
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  ControlService& control() { return *control_; }
  IngestService& ingest() { return *ingest_; }
  SnapshotReader& reader() { return *reader_; }
  OrderService& orders() { return *orders_; }
  PolicyService& policies() { return *policies_; }
  BrowseService& browse() { return *browse_; }
  StatusService& status() { return *status_; }
  MaintenanceService& maintenance() { return *maintenance_; }
  Scheduler& scheduler() { return *scheduler_; }
  AccessService& access() { return *access_; }
  Authenticator& authenticator() { return *authenticator_; }
  AuditLog& audit() { return *audit_; }
  StreamLimiter& streams() { return *streams_; }
  WebSessions& web_sessions() { return *web_sessions_; }
  DataSessions& data_sessions() { return *data_sessions_; }

  // The state the services share, for assembling and for tests.
  Catalog& catalog() { return *catalog_; }
  const TierSet& tiers() const { return *tiers_; }
  JobBoard& jobs() { return *jobs_; }
  GcGuard& gc_guard() { return *guard_; }
  // Counters and histograms the services keep, and the scrape-time
  // collector over the status (server/core/status_metrics.h).
  ServerMetrics& metrics() { return *metrics_; }
  const CoreOptions& options() const { return options_; }

  // Stops the scheduler and wakes every control session (shutdown).
  void Stop();

 private:
  explicit ServerCore(CoreOptions options) : options_(std::move(options)) {}

  CoreOptions options_;
  std::unique_ptr<ServerMetrics> metrics_ = std::make_unique<ServerMetrics>();
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TierSet> tiers_;
  std::unique_ptr<JobBoard> jobs_;
  std::unique_ptr<GcGuard> guard_;
  std::unique_ptr<PolicyService> policies_;
  std::unique_ptr<ControlService> control_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<SnapshotReader> reader_;
  std::unique_ptr<OrderService> orders_;
  std::unique_ptr<BrowseService> browse_;
  std::unique_ptr<StatusService> status_;
  std::unique_ptr<MaintenanceService> maintenance_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<AccessService> access_;
  std::unique_ptr<StreamLimiter> streams_;
  std::unique_ptr<WebSessions> web_sessions_;
  std::unique_ptr<DataSessions> data_sessions_;
  std::unique_ptr<TenantQuota> quota_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CORE_SERVER_CORE_H_

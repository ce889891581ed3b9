#include "server/core/server_core.h"

#include <utility>

#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<ServerCore>> ServerCore::Open(
    const std::string& catalog_path, std::vector<std::unique_ptr<Tier>> tiers,
    CoreOptions options) {
  if (tiers.empty()) return absl::InvalidArgumentError("a server needs at least one tier");
  std::unique_ptr<ServerCore> core(new ServerCore(std::move(options)));
  const CoreOptions& o = core->options_;
  CatalogOptions catalog_options = o.catalog;
  catalog_options.clock = o.clock;  // one clock for every time the server records
  ASSIGN_OR_RETURN(core->catalog_, Catalog::Open(catalog_path, catalog_options));
  Catalog* catalog = core->catalog_.get();
  core->tiers_ = std::make_unique<TierSet>(std::move(tiers), o.tier_set);
  core->jobs_ = std::make_unique<JobBoard>(catalog, o.job_lease, o.clock);
  core->jobs_->SetMetrics(core->metrics_.get());
  core->guard_ = std::make_unique<GcGuard>(o.clock);
  core->policies_ = std::make_unique<PolicyService>(&catalog->policies(), core->jobs_.get());
  core->control_ =
      std::make_unique<ControlService>(catalog, core->jobs_.get(), core->policies_.get(), o.clock);
  core->quota_ = std::make_unique<TenantQuota>(&catalog->chunks(), o.limits, o.clock);
  core->streams_ = std::make_unique<StreamLimiter>(
      o.limits.max_streams_per_agent() > 0 ? o.limits.max_streams_per_agent() : 256);
  core->ingest_ = std::make_unique<IngestService>(
      catalog, core->tiers_.get(), core->jobs_.get(), core->guard_.get(),
      IngestOptions{.pack_target_bytes = o.pack_target_bytes,
                    .job_lease = o.job_lease,
                    .clock = o.clock,
                    .quota = core->quota_.get(),
                    .on_commit = o.on_catalog_change,
                    .on_snapshot_commit = o.on_snapshot_commit});
  core->reader_ = std::make_unique<SnapshotReader>(catalog, core->tiers_.get());
  core->orders_ =
      std::make_unique<OrderService>(catalog, core->jobs_.get(), core->policies_.get(), o.clock);
  core->browse_ = std::make_unique<BrowseService>(catalog);
  core->status_ = std::make_unique<StatusService>(catalog, core->tiers_.get(), core->jobs_.get(),
                                                  core->policies_.get(), o.clock);
  core->maintenance_ = std::make_unique<MaintenanceService>(
      catalog, core->tiers_.get(), core->guard_.get(), core->policies_.get(),
      MaintenanceOptions{.gc_grace = o.gc_grace,
                         .pack_target_bytes = o.pack_target_bytes,
                         .clock = o.clock,
                         .deletion = DeletionRules{.min_retention = o.min_retention},
                         .before_pack_delete = o.catalog_barrier,
                         .on_change = o.on_catalog_change,
                         .metrics = core->metrics_.get()});
  core->scheduler_ =
      std::make_unique<Scheduler>(core->policies_.get(), catalog, core->jobs_.get(), o.clock);
  core->authenticator_ = std::make_unique<Authenticator>(
      &catalog->access(), o.pki != nullptr ? o.pki->ca_cert_pem : std::string(), o.clock);
  core->audit_ = std::make_unique<AuditLog>(&catalog->audit(), o.clock);
  core->web_sessions_ = std::make_unique<WebSessions>(o.clock);
  core->data_sessions_ = std::make_unique<DataSessions>(core->authenticator_.get(), o.clock);
  ControlService* control = core->control_.get();
  core->access_ = std::make_unique<AccessService>(
      catalog, o.pki, core->authenticator_.get(),
      AccessOptions{
          .max_agents_per_tenant =
              o.limits.max_agents_per_tenant() > 0 ? o.limits.max_agents_per_tenant() : 10000,
          .clock = o.clock,
          .on_revoke = [control](const std::string& agent) { control->Disconnect(agent); }});
  if (o.run_scheduler) core->scheduler_->Start();
  return core;
}

ServerCore::~ServerCore() { Stop(); }

void ServerCore::Stop() {
  if (scheduler_ != nullptr) scheduler_->Stop();
  if (jobs_ != nullptr) jobs_->WakeAll();
}

}  // namespace cairn

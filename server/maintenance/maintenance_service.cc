#include "server/maintenance/maintenance_service.h"

#include "common/status_macros.h"
#include "server/maintenance/pack_verifier.h"
#include "server/maintenance/retention.h"

namespace cairn {

absl::StatusOr<v1::VerifyResponse> MaintenanceService::Verify(const Caller&,
                                                             const v1::VerifyRequest& request) {
  PackVerifier verifier(&catalog_->chunks(), tiers_);
  ASSIGN_OR_RETURN(VerifyReport report, verifier.VerifyAll(request.read_data()));
  v1::VerifyResponse response;
  response.set_packs_checked(report.packs_checked);
  response.set_chunks_checked(report.chunks_checked);
  for (std::string& p : report.problems) response.add_problems(std::move(p));
  for (std::string& u : report.unchecked) response.add_unchecked(std::move(u));
  return response;
}

absl::StatusOr<v1::PruneResponse> MaintenanceService::Prune(const Caller&,
                                                           const v1::PruneRequest& request) {
  ASSIGN_OR_RETURN(PolicySnapshot policies, policies_->Current());
  return PruneSnapshots(catalog_, *policies.policies, request, options_.clock());
}

absl::StatusOr<v1::GcResponse> MaintenanceService::CollectGarbage(const Caller& caller,
                                                                 const v1::GcRequest& request) {
  GcOptions options;
  options.dry_run = request.dry_run();
  // proto3 cannot tell 0 from unset: 0 means the default.
  if (request.compact_below() != 0) options.compact_below = request.compact_below();
  options.grace = options_.gc_grace;
  options.pack_target_bytes = options_.pack_target_bytes;
  ASSIGN_OR_RETURN(GcReport report, CollectGarbage(caller, options));
  return report.ToProto();
}

absl::StatusOr<GcReport> MaintenanceService::CollectGarbage(const Caller&,
                                                           const GcOptions& options) {
  return GarbageCollector(catalog_, tiers_, guard_, options_.clock).Run(options);
}

}  // namespace cairn

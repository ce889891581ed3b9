// The server's state at a glance, for admins: health and problems, tiers
// and their space, catalog totals, and every agent with its presence
// (online, change backlog, watcher problems) and protection (the policies
// that cover it, RPO violated or not, judged on the server's clock).
//
//   ASSIGN_OR_RETURN(v1::GetStatusResponse status, status_service.GetStatus(caller));
#ifndef CAIRN_SERVER_BROWSE_STATUS_SERVICE_H_
#define CAIRN_SERVER_BROWSE_STATUS_SERVICE_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/admin.pb.h"
#include "server/auth/caller.h"
#include "server/catalog/catalog.h"
#include "server/schedule/job_board.h"
#include "server/schedule/policy_service.h"
#include "server/tiers/tier_set.h"

namespace cairn {

class StatusService final {
 public:
  StatusService(Catalog* catalog, const TierSet* tiers, JobBoard* jobs, PolicyService* policies,
                std::function<absl::Time()> clock = absl::Now)
      : catalog_(catalog),
        tiers_(tiers),
        jobs_(jobs),
        policies_(policies),
        clock_(std::move(clock)),
        started_(clock_()) {}

  absl::StatusOr<v1::GetStatusResponse> GetStatus(const Caller& caller);
  absl::StatusOr<v1::ListAgentsResponse> ListAgents(const Caller& caller);
  absl::StatusOr<v1::ListTiersResponse> ListTiers(const Caller& caller);
  // The catalog's totals, recomputed only when the last are older than
  // `max_age` (the chunk sums are kept rows, but the snapshot sum reads
  // every snapshot row, and metrics scrapes ask often).
  absl::StatusOr<CatalogTotals> Totals(absl::Duration max_age);
  absl::Time started() const { return started_; }
  v1::CatalogBackupStatus CatalogBackup() const { return BackupStatus(); }
  // Where the catalog backup's state comes from (the server sets it once at
  // start, before serving); unset: backups are off.
  void SetCatalogBackupStatus(std::function<v1::CatalogBackupStatus()> status) {
    backup_status_ = std::move(status);
  }

 private:
  absl::StatusOr<std::vector<v1::TierStatus>> Tiers();
  v1::CatalogBackupStatus BackupStatus() const {
    return backup_status_ ? backup_status_() : v1::CatalogBackupStatus();
  }
  absl::StatusOr<std::vector<v1::AgentInfo>> Agents();

  Catalog* catalog_;
  const TierSet* tiers_;
  JobBoard* jobs_;
  PolicyService* policies_;
  std::function<absl::Time()> clock_;
  absl::Time started_;
  std::function<v1::CatalogBackupStatus()> backup_status_;
  absl::Mutex totals_mu_;
  CatalogTotals totals_ ABSL_GUARDED_BY(totals_mu_);
  absl::Time totals_at_ ABSL_GUARDED_BY(totals_mu_) = absl::InfinitePast();
};

}  // namespace cairn

#endif  // CAIRN_SERVER_BROWSE_STATUS_SERVICE_H_

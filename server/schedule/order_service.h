// Jobs as admins and agents see them: ordering restores and backups (the
// target agent's control session carries them out), listing and following
// jobs, and an agent reporting how a job it ran ended.
//
//   ASSIGN_OR_RETURN(v1::OrderResponse ordered, orders.OrderRestore(caller, request));
//   RETURN_IF_ERROR(orders.WatchJob(caller, id, [&](const v1::Job& j) { return Print(j); },
//                                   [&] { return context->IsCancelled(); }));
#ifndef CAIRN_SERVER_SCHEDULE_ORDER_SERVICE_H_
#define CAIRN_SERVER_SCHEDULE_ORDER_SERVICE_H_

#include <functional>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "cairn/v1/admin.pb.h"
#include "cairn/v1/agent.pb.h"
#include "server/auth/caller.h"
#include "server/catalog/catalog.h"
#include "server/schedule/job_board.h"
#include "server/schedule/policy_service.h"

namespace cairn {

class OrderService final {
 public:
  OrderService(Catalog* catalog, JobBoard* jobs, PolicyService* policies,
               std::function<absl::Time()> clock = absl::Now)
      : catalog_(catalog), jobs_(jobs), policies_(policies), clock_(std::move(clock)) {}

  absl::StatusOr<v1::OrderResponse> OrderRestore(const Caller& caller,
                                                 const v1::OrderRestoreRequest& request);
  // Backs up the named roots, or else every root the agent's policies and
  // configuration name: one job per root (the first is returned).
  absl::StatusOr<v1::OrderResponse> OrderBackup(const Caller& caller,
                                                const v1::OrderBackupRequest& request);
  // Orders request.agent() to verify with its key (verify_jobs.h).
  absl::StatusOr<v1::VerifyResponse> OrderVerify(const Caller& caller,
                                                 const v1::VerifyRequest& request);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const Caller& caller,
                                                const v1::ListJobsRequest& request);
  absl::StatusOr<v1::GetJobResponse> GetJob(const Caller& caller, const v1::GetJobRequest& request);
  // Calls `emit` with the job now and each time it changes, until it has
  // ended (OK), `emit` returns false or `cancelled()` is true (Cancelled).
  absl::Status WatchJob(const Caller& caller, const v1::GetJobRequest& request,
                        absl::FunctionRef<bool(const v1::Job&)> emit,
                        absl::FunctionRef<bool()> cancelled);
  // An agent ends a job it ran that will not commit (failed or cancelled),
  // or reports how a restore went. A retried report of an ended job is OK.
  absl::Status FinishJob(const Caller& caller, const v1::FinishJobRequest& request);

 private:
  Catalog* catalog_;
  JobBoard* jobs_;
  PolicyService* policies_;
  std::function<absl::Time()> clock_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_ORDER_SERVICE_H_

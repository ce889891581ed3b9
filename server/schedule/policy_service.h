// Policies as admins edit them and as the rest of the server reads them:
// validated on the way in (errors name the field), stored in the catalog,
// and kept in a cache with a version that changes on every edit, so control
// sessions and the scheduler read memory, not the catalog, and push a
// policy to agents only when it changed.
//
//   PolicyService policies(&catalog->policies(), &jobs);
//   ASSIGN_OR_RETURN(v1::Policy stored, policies.Set(caller, policy));
//   PolicySnapshot now = policies.Current();  // now.version, *now.policies
#ifndef CAIRN_SERVER_SCHEDULE_POLICY_SERVICE_H_
#define CAIRN_SERVER_SCHEDULE_POLICY_SERVICE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/v1/admin.pb.h"
#include "server/auth/caller.h"
#include "server/catalog/policy_store.h"
#include "server/schedule/job_board.h"

namespace cairn {

struct PolicySnapshot {
  uint64_t version = 0;
  std::shared_ptr<const std::vector<v1::Policy>> policies;
};

class PolicyService final {
 public:
  PolicyService(PolicyStore* store, JobBoard* jobs) : store_(store), jobs_(jobs) {}

  absl::StatusOr<v1::ListPoliciesResponse> List(const Caller& caller);
  absl::StatusOr<v1::Policy> Get(const Caller& caller, absl::string_view name);
  // Validates, fills defaults and stores; the stored policy.
  absl::StatusOr<v1::Policy> Set(const Caller& caller, v1::Policy policy);
  absl::Status Delete(const Caller& caller, absl::string_view name);

  // Every policy, from the cache (read from the catalog once, then after
  // each edit).
  absl::StatusOr<PolicySnapshot> Current();

 private:
  void Invalidate();

  PolicyStore* store_;
  JobBoard* jobs_;
  absl::Mutex mu_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  std::shared_ptr<const std::vector<v1::Policy>> cached_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_POLICY_SERVICE_H_

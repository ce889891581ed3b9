#include "server/schedule/policy_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/schedule/policy_rules.h"

namespace cairn {

absl::StatusOr<v1::ListPoliciesResponse> PolicyService::List(const Caller&) {
  ASSIGN_OR_RETURN(PolicySnapshot now, Current());
  v1::ListPoliciesResponse response;
  for (const v1::Policy& p : *now.policies) *response.add_policies() = p;
  return response;
}

absl::StatusOr<v1::Policy> PolicyService::Get(const Caller&, absl::string_view name) {
  ASSIGN_OR_RETURN(std::optional<v1::Policy> policy, store_->Get(name));
  if (!policy.has_value()) {
    return absl::NotFoundError(absl::StrCat("no policy ", name, "; see `cairnctl policy list`"));
  }
  return *std::move(policy);
}

absl::StatusOr<v1::Policy> PolicyService::Set(const Caller&, v1::Policy policy) {
  RETURN_IF_ERROR(NormalizePolicy(&policy));
  RETURN_IF_ERROR(store_->Put(policy));
  Invalidate();
  return policy;
}

absl::Status PolicyService::Delete(const Caller&, absl::string_view name) {
  RETURN_IF_ERROR(store_->Delete(name));
  Invalidate();
  return absl::OkStatus();
}

void PolicyService::Invalidate() {
  {
    absl::MutexLock lock(&mu_);
    ++version_;
    cached_.reset();
  }
  jobs_->WakeAll();  // control sessions wake and push the change to agents
}

absl::StatusOr<PolicySnapshot> PolicyService::Current() {
  uint64_t version;
  {
    absl::MutexLock lock(&mu_);
    if (cached_ != nullptr) return PolicySnapshot{version_, cached_};
    version = version_;
  }
  ASSIGN_OR_RETURN(std::vector<v1::Policy> all, store_->List());
  auto loaded = std::make_shared<const std::vector<v1::Policy>>(std::move(all));
  absl::MutexLock lock(&mu_);
  // An edit while we read: serve what we read, but do not cache it.
  if (version_ == version) cached_ = loaded;
  return PolicySnapshot{version, loaded};
}

}  // namespace cairn

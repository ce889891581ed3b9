// Policies as the server applies them: validation with errors that name the
// field, and which policies cover which agent (agent globs, fnmatch).
#ifndef CAIRN_SERVER_SCHEDULE_POLICY_RULES_H_
#define CAIRN_SERVER_SCHEDULE_POLICY_RULES_H_

#include <vector>

#include "absl/status/status.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

// Checks a policy and fills defaults (interval 60 s, quiet 2 s, settle 30 s,
// schedule level incremental). Errors name the policy and the field.
absl::Status NormalizePolicy(v1::Policy* policy);

bool PolicyCoversAgent(const v1::Policy& policy, absl::string_view agent);
std::vector<v1::Policy> PoliciesForAgent(const std::vector<v1::Policy>& all,
                                         absl::string_view agent);

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_POLICY_RULES_H_

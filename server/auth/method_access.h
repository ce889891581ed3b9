// What each RPC requires of its caller, in one table (method_access.cc), and
// the one check every handler makes before anything else. A method missing
// from the table is refused, and a test checks that every method of the
// cairn.v1 services is in it. The table also says which calls the audit log
// records when they succeed (refusals are always recorded).
//
//   RETURN_IF_ERROR(Authorize(caller, "/cairn.v1.AdminService/Prune"));
#ifndef CAIRN_SERVER_AUTH_METHOD_ACCESS_H_
#define CAIRN_SERVER_AUTH_METHOD_ACCESS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/auth/caller.h"

namespace cairn {

// What the HTTPS listener's pages are checked as (they are not gRPC methods).
inline constexpr char kWebMetrics[] = "/cairn.web/Metrics";
inline constexpr char kWebStatus[] = "/cairn.web/Status";  // the status page and its data

enum class Access {
  kAnyone,    // no certificate needed: fetching the CA, enrolling
  kAgent,     // an enrolled agent (acting as itself; the core checks the resources)
  kViewer,    // an admin credential of role viewer or above
  kOperator,  // operator or above: order backups, restores, verifies
  kAdmin,     // admin: delete, change policies, maintenance, access
};

struct MethodRule {
  Access access;
  bool audited;  // successful calls go to the audit log
  // Agents waiting for approval may call it (Hello, renewing).
  bool before_approval = false;
};

// The rule of a full method name ("/cairn.v1.AgentService/Hello"); nullopt
// when the method is not in the table.
std::optional<MethodRule> RuleFor(absl::string_view method);
std::optional<Access> AccessFor(absl::string_view method);

// OK when `caller` may call `method`. Unauthenticated for a caller without a
// certificate where one is needed; PermissionDenied naming the method and
// what it needs otherwise.
absl::Status Authorize(const Caller& caller, absl::string_view method);

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_METHOD_ACCESS_H_

#include "server/auth/method_access.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

constexpr MethodRule kAgentCall{Access::kAgent, false};
constexpr MethodRule kRead{Access::kViewer, false};
constexpr MethodRule kOrder{Access::kOperator, true};
constexpr MethodRule kAdminCall{Access::kAdmin, true};

const absl::flat_hash_map<absl::string_view, MethodRule>& Table() {
  static const auto* table = new absl::flat_hash_map<absl::string_view, MethodRule>{
      // Anyone: the CA certificate (public) and enrollment with a join token.
      {"/cairn.v1.EnrollService/GetCaCertificate", {Access::kAnyone, false}},
      {"/cairn.v1.EnrollService/Enroll", {Access::kAnyone, true}},
      // Agents. Each acts only as itself: the core checks that the job,
      // snapshot or tenant named in the request is the caller's.
      {"/cairn.v1.AgentService/Hello", {Access::kAgent, false, true}},
      {"/cairn.v1.AgentService/RenewCertificate", {Access::kAgent, true, true}},
      {"/cairn.v1.AgentService/OpenDataSession", kAgentCall},
      {"/cairn.v1.AgentService/BeginBackup", kAgentCall},
      {"/cairn.v1.AgentService/FindMissingChunks", kAgentCall},
      {"/cairn.v1.AgentService/UploadChunks", kAgentCall},
      {"/cairn.v1.AgentService/FindMissingTrees", kAgentCall},
      {"/cairn.v1.AgentService/PutTrees", kAgentCall},
      {"/cairn.v1.AgentService/GetTree", kAgentCall},
      {"/cairn.v1.AgentService/GetTrees", kAgentCall},
      {"/cairn.v1.AgentService/CommitSnapshot", kAgentCall},
      {"/cairn.v1.AgentService/FinishJob", kAgentCall},
      {"/cairn.v1.AgentService/ReadChunks", kAgentCall},
      {"/cairn.v1.AgentService/ReportDamagedChunks", {Access::kAgent, true}},
      {"/cairn.v1.AgentService/Control", kAgentCall},
      // Admins: reading.
      {"/cairn.v1.AdminService/GetStatus", kRead},
      {"/cairn.v1.AdminService/ListAgents", kRead},
      {"/cairn.v1.AdminService/ListJobs", kRead},
      {"/cairn.v1.AdminService/GetJob", kRead},
      {"/cairn.v1.AdminService/WatchJob", kRead},
      {"/cairn.v1.AdminService/ListSnapshots", kRead},
      {"/cairn.v1.AdminService/ListFiles", kRead},
      {"/cairn.v1.AdminService/DiffSnapshots", kRead},
      {"/cairn.v1.AdminService/GetStorageStats", kRead},
      {"/cairn.v1.AdminService/ListPolicies", kRead},
      {"/cairn.v1.AdminService/GetPolicy", kRead},
      // Ordering work. (A restore that overwrites or makes special files
      // needs admin: the order service checks that.)
      {"/cairn.v1.AdminService/OrderRestore", kOrder},
      {"/cairn.v1.AdminService/OrderBackup", kOrder},
      {"/cairn.v1.AdminService/Verify", kOrder},
      // Changing what is kept, and deleting.
      {"/cairn.v1.AdminService/SetPolicy", kAdminCall},
      {"/cairn.v1.AdminService/DeletePolicy", kAdminCall},
      {"/cairn.v1.AdminService/Prune", kAdminCall},
      {"/cairn.v1.AdminService/CollectGarbage", kAdminCall},
      {"/cairn.v1.AdminService/ListTiers", kRead},
      {"/cairn.v1.AdminService/MoveTier", kAdminCall},
      {"/cairn.v1.AdminService/DeleteSnapshot", kAdminCall},
      {"/cairn.v1.AdminService/ProtectSnapshot", kAdminCall},
      // Access: who may call at all.
      {"/cairn.v1.AccessService/CreateJoinToken", kAdminCall},
      {"/cairn.v1.AccessService/ListJoinTokens", {Access::kAdmin, false}},
      {"/cairn.v1.AccessService/DeleteJoinToken", kAdminCall},
      {"/cairn.v1.AccessService/ApproveAgent", kAdminCall},
      {"/cairn.v1.AccessService/RevokeAgent", kAdminCall},
      {"/cairn.v1.AccessService/CreateCredential", kAdminCall},
      {"/cairn.v1.AccessService/ListCredentials", {Access::kAdmin, false}},
      {"/cairn.v1.AccessService/RevokeCredential", kAdminCall},
      {"/cairn.v1.AccessService/ListAudit", {Access::kAdmin, false}},
      {"/cairn.v1.AccessService/CreateWebLogin", {Access::kViewer, true}},
      // The HTTPS listener (server/web): Prometheus metrics, read-only.
      {kWebMetrics, kRead},
      {kWebStatus, kRead},
  };
  return *table;
}

absl::string_view NameOf(Access access) {
  switch (access) {
    case Access::kAnyone:
      return "nothing";
    case Access::kAgent:
      return "an enrolled agent";
    case Access::kViewer:
      return "the viewer role";
    case Access::kOperator:
      return "the operator role";
    case Access::kAdmin:
      return "the admin role";
  }
  return "?";
}

bool Allows(const MethodRule& rule, const Caller& caller) {
  switch (rule.access) {
    case Access::kAnyone:
      return true;
    case Access::kAgent:
      return caller.kind == Caller::Kind::kInternal ||
             (caller.kind == Caller::Kind::kAgent && (caller.approved || rule.before_approval));
    case Access::kViewer:
      return caller.HasRole(Role::kViewer);
    case Access::kOperator:
      return caller.HasRole(Role::kOperator);
    case Access::kAdmin:
      return caller.HasRole(Role::kAdmin);
  }
  return false;
}

}  // namespace

std::optional<MethodRule> RuleFor(absl::string_view method) {
  auto it = Table().find(method);
  if (it == Table().end()) return std::nullopt;
  return it->second;
}

std::optional<Access> AccessFor(absl::string_view method) {
  std::optional<MethodRule> rule = RuleFor(method);
  if (!rule.has_value()) return std::nullopt;
  return rule->access;
}

absl::Status Authorize(const Caller& caller, absl::string_view method) {
  std::optional<MethodRule> rule = RuleFor(method);
  if (!rule.has_value()) {
    return absl::PermissionDeniedError(absl::StrCat(method, " is not an allowed method"));
  }
  if (Allows(*rule, caller)) return absl::OkStatus();
  if (caller.kind == Caller::Kind::kAnonymous) {
    return absl::UnauthenticatedError(absl::StrCat(
        method,
        " needs a client certificate: enroll the agent (cairn-agent enroll --token ...) "
        "or give cairnctl a credentials file (--credentials)"));
  }
  if (caller.kind == Caller::Kind::kAgent && !caller.approved && rule->access == Access::kAgent) {
    return absl::PermissionDeniedError(absl::StrCat("agent ", caller.name,
                                                    " is waiting for approval: an admin runs "
                                                    "`cairnctl agents approve ",
                                                    caller.name, "`"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat(method, " needs ", NameOf(rule->access), "; ", caller.Describe(), " lacks it"));
}

}  // namespace cairn

#include "server/auth/method_access.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

const absl::flat_hash_map<absl::string_view, Access>& Table() {
  static const auto* table = new absl::flat_hash_map<absl::string_view, Access>{
      // Agents. Each acts only as itself: the core checks that the job,
      // snapshot or tenant named in the request is the caller's.
      {"/cairn.v1.AgentService/Hello", Access::kAgent},
      {"/cairn.v1.AgentService/BeginBackup", Access::kAgent},
      {"/cairn.v1.AgentService/FindMissingChunks", Access::kAgent},
      {"/cairn.v1.AgentService/UploadChunks", Access::kAgent},
      {"/cairn.v1.AgentService/FindMissingTrees", Access::kAgent},
      {"/cairn.v1.AgentService/PutTrees", Access::kAgent},
      {"/cairn.v1.AgentService/GetTree", Access::kAgent},
      {"/cairn.v1.AgentService/GetTrees", Access::kAgent},
      {"/cairn.v1.AgentService/CommitSnapshot", Access::kAgent},
      {"/cairn.v1.AgentService/FinishJob", Access::kAgent},
      {"/cairn.v1.AgentService/ReadChunks", Access::kAgent},
      {"/cairn.v1.AgentService/Control", Access::kAgent},
      // Admins: reading.
      {"/cairn.v1.AdminService/GetStatus", Access::kViewer},
      {"/cairn.v1.AdminService/ListAgents", Access::kViewer},
      {"/cairn.v1.AdminService/ListJobs", Access::kViewer},
      {"/cairn.v1.AdminService/GetJob", Access::kViewer},
      {"/cairn.v1.AdminService/WatchJob", Access::kViewer},
      {"/cairn.v1.AdminService/ListSnapshots", Access::kViewer},
      {"/cairn.v1.AdminService/ListFiles", Access::kViewer},
      {"/cairn.v1.AdminService/DiffSnapshots", Access::kViewer},
      {"/cairn.v1.AdminService/ListPolicies", Access::kViewer},
      {"/cairn.v1.AdminService/GetPolicy", Access::kViewer},
      // Ordering work.
      {"/cairn.v1.AdminService/OrderRestore", Access::kOperator},
      {"/cairn.v1.AdminService/OrderBackup", Access::kOperator},
      {"/cairn.v1.AdminService/Verify", Access::kOperator},
      // Changing what is kept, and deleting.
      {"/cairn.v1.AdminService/SetPolicy", Access::kAdmin},
      {"/cairn.v1.AdminService/DeletePolicy", Access::kAdmin},
      {"/cairn.v1.AdminService/Prune", Access::kAdmin},
      {"/cairn.v1.AdminService/CollectGarbage", Access::kAdmin},
  };
  return *table;
}

absl::string_view NameOf(Access access) {
  switch (access) {
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

}  // namespace

std::optional<Access> AccessFor(absl::string_view method) {
  auto it = Table().find(method);
  if (it == Table().end()) return std::nullopt;
  return it->second;
}

absl::Status Authorize(const Caller& caller, absl::string_view method) {
  std::optional<Access> access = AccessFor(method);
  if (!access.has_value()) {
    return absl::PermissionDeniedError(absl::StrCat(method, " is not an allowed method"));
  }
  bool allowed = false;
  switch (*access) {
    case Access::kAgent:
      allowed = caller.kind == Caller::Kind::kTrusted || caller.kind == Caller::Kind::kAgent;
      break;
    case Access::kViewer:
      allowed = caller.HasRole(Role::kViewer);
      break;
    case Access::kOperator:
      allowed = caller.HasRole(Role::kOperator);
      break;
    case Access::kAdmin:
      allowed = caller.HasRole(Role::kAdmin);
      break;
  }
  if (allowed) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(method, " needs ", NameOf(*access), "; ", caller.Describe(), " lacks it"));
}

}  // namespace cairn

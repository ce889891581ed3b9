#include "server/auth/tenant_key.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

absl::Status CheckSize(absl::string_view check) {
  if (check.size() != kKeyCheckBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("key_check must be ", kKeyCheckBytes, " bytes (got ", check.size(),
                     "); this agent is older than the server: upgrade it"));
  }
  return absl::OkStatus();
}

absl::Status Compare(absl::string_view tenant, absl::string_view stored, absl::string_view check) {
  if (stored.empty() || stored == check) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("this is not tenant ", tenant, "'s key (its key has fingerprint ",
                   KeyCheckText(stored), ", this one ", KeyCheckText(check),
                   "); copy the key file from an existing agent of the tenant (one key per tenant: "
                   "`cairn-agent init` only once)"));
}

}  // namespace

absl::Status CheckTenantKey(AgentStore& agents, absl::string_view tenant, absl::string_view check) {
  RETURN_IF_ERROR(CheckSize(check));
  ASSIGN_OR_RETURN(std::string stored, agents.SetKeyCheckIfUnset(tenant, check));
  return Compare(tenant, stored, check);
}

absl::Status PeekTenantKey(AgentStore& agents, absl::string_view tenant, absl::string_view check) {
  RETURN_IF_ERROR(CheckSize(check));
  ASSIGN_OR_RETURN(std::string stored, agents.KeyCheck(tenant));
  return Compare(tenant, stored, check);
}

}  // namespace cairn

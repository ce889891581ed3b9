// One key per tenant, checked up front. The server keeps each tenant's key
// check value (common/keys.h: it reveals nothing about the key) from the
// first agent that enrolls or says Hello, and refuses any other key with a
// message that says what to do.
//
//   RETURN_IF_ERROR(CheckTenantKey(catalog->agents(), "t1", request.key_check()));
#ifndef CAIRN_SERVER_AUTH_TENANT_KEY_H_
#define CAIRN_SERVER_AUTH_TENANT_KEY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/catalog/agent_store.h"

namespace cairn {

// OK when `check` is the tenant's (recording it if the tenant has none yet);
// FailedPrecondition naming both fingerprints otherwise; InvalidArgument for
// a check value of the wrong size.
absl::Status CheckTenantKey(AgentStore& agents, absl::string_view tenant, absl::string_view check);
// OK when `check` is the tenant's or the tenant has none yet; records nothing.
absl::Status PeekTenantKey(AgentStore& agents, absl::string_view tenant, absl::string_view check);

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_TENANT_KEY_H_

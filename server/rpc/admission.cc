#include "server/rpc/admission.h"

#include "common/status_macros.h"
#include "server/auth/method_access.h"

namespace cairn {

absl::StatusOr<Caller> Admit(grpc::ServerContext*, absl::string_view method) {
  // The transport is plaintext (docs/security.md): callers cannot be told
  // apart, so every caller is trusted. TLS identities replace this.
  Caller caller = Caller::Trusted();
  RETURN_IF_ERROR(Authorize(caller, method));
  return caller;
}

}  // namespace cairn

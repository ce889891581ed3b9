#include "common/log/grpc_log.h"

#include <grpc/support/log.h>

#include "absl/strings/match.h"
#include "common/log/log.h"

namespace cairn::log {
namespace {

// gRPC logs as an error every TLS client that names the server by another
// name than its certificate's (an address): the handshake goes on with the
// one certificate the server has, and the client checks it against the CA.
constexpr char kSniMismatch[] = "No match found for server name";

void ToEvent(gpr_log_func_args* args) {
  const char* message = args->message != nullptr ? args->message : "";
  Level level = Level::kError;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = Level::kInfo;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = Level::kDebug;
  if (absl::StartsWith(message, kSniMismatch)) level = Level::kDebug;
  Event(level, "grpc.log",
        {{"file", args->file != nullptr ? args->file : ""},
         {"line", args->line},
         {"message", message}});
}

}  // namespace

void RouteGrpcLogs() { gpr_set_log_function(ToEvent); }

}  // namespace cairn::log

#include "common/log/grpc_log.h"

#include <grpc/support/log.h>

#include "common/log/log.h"

namespace cairn::log {
namespace {

void ToEvent(gpr_log_func_args* args) {
  const char* message = args->message != nullptr ? args->message : "";
  Level level = Level::kError;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = Level::kInfo;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = Level::kDebug;
  Event(level, "grpc.log",
        {{"file", args->file != nullptr ? args->file : ""},
         {"line", args->line},
         {"message", message}});
}

}  // namespace

void RouteGrpcLogs() { gpr_set_log_function(ToEvent); }

}  // namespace cairn::log

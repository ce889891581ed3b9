// gRPC's own log messages (gpr_log: handshake failures, transport errors)
// as events of the daemons' log, so stderr holds only key=value lines:
//
//   ts=... level=error event=grpc.log file=src/core/tsi/ssl_transport_security.cc line=1432
//   message="..."
#ifndef CAIRN_COMMON_LOG_GRPC_LOG_H_
#define CAIRN_COMMON_LOG_GRPC_LOG_H_

namespace cairn::log {

// Sends gRPC's log through Event (GPR_ERROR as error, GPR_INFO as info,
// GPR_DEBUG as debug; which gRPC prints is still set by GRPC_VERBOSITY,
// ERROR by default). Call once, early in main.
void RouteGrpcLogs();

}  // namespace cairn::log

#endif  // CAIRN_COMMON_LOG_GRPC_LOG_H_

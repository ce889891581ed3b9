// The data port (docs/security.md, "The data channel"): a plaintext gRPC
// port that serves only UploadChunks and ReadChunks, to callers of a data
// session, every message tagged under the session key (chunk_upload.h,
// chunk_read.h). Every other method of AgentService answers UNIMPLEMENTED
// there. And
// OpenDataSessionFor, the TLS port's side: the session and where to dial.
#ifndef CAIRN_SERVER_RPC_DATA_SERVICE_H_
#define CAIRN_SERVER_RPC_DATA_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "server/auth/caller.h"
#include "server/core/server_core.h"

namespace cairn {

std::unique_ptr<v1::AgentService::Service> NewDataService(ServerCore* core);

// A new session for `caller`, or an empty answer when the server has no
// data port.
absl::StatusOr<v1::OpenDataSessionResponse> OpenDataSessionFor(ServerCore* core,
                                                               const Caller& caller);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_DATA_SERVICE_H_

// One UploadChunks call, served from the raw buffers gRPC received
// (upload_request.h): the TLS port's, and the data port's, where every
// message's tag is checked under the session key before its chunk is taken
// and the answer is tagged too (common/data_mac.h). Shared by the agent
// service and the data service.
#ifndef CAIRN_SERVER_RPC_CHUNK_UPLOAD_H_
#define CAIRN_SERVER_RPC_CHUNK_UPLOAD_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include "cairn/v1/agent.pb.h"
#include "server/auth/caller.h"
#include "server/auth/data_sessions.h"
#include "server/core/server_core.h"

namespace cairn {

// `data` is null on the TLS port. A message whose tag does not check ends
// the call with UNAUTHENTICATED before its chunk is taken (chunks before it,
// which did check, may already be in a pack that filled).
grpc::Status ServeUploadChunks(ServerCore* core, const Caller& caller, grpc::ServerContext* context,
                               grpc::ServerReader<grpc::ByteBuffer>* reader,
                               v1::UploadChunksResponse* response, const DataCallGrant* data);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_CHUNK_UPLOAD_H_

// One ReadChunks call: the sealed chunks of a snapshot, streamed as the core
// reads them. On the TLS port, and on the data port (`data` set), where the
// request's tag was checked before and each answer is tagged with its place
// in the call (common/data_mac.h). Shared by the agent service and the data
// service.
#ifndef CAIRN_SERVER_RPC_CHUNK_READ_H_
#define CAIRN_SERVER_RPC_CHUNK_READ_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/sync_stream.h>

#include "cairn/v1/agent.pb.h"
#include "server/auth/caller.h"
#include "server/auth/data_sessions.h"
#include "server/core/server_core.h"

namespace cairn {

grpc::Status ServeReadChunks(ServerCore* core, const Caller& caller, grpc::ServerContext* context,
                             const v1::ReadChunksRequest& request,
                             grpc::ServerWriter<v1::ReadChunkResponse>* writer,
                             const DataCallGrant* data);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_CHUNK_READ_H_

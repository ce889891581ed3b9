// gRPC handlers of cairn.v1.AgentService: each admits the caller and hands
// the request to the core (ingest, snapshot reads, control sessions, orders).
#ifndef CAIRN_SERVER_RPC_AGENT_SERVICE_H_
#define CAIRN_SERVER_RPC_AGENT_SERVICE_H_

#include <memory>

#include "cairn/v1/agent.grpc.pb.h"
#include "server/core/server_core.h"

namespace cairn {

std::unique_ptr<v1::AgentService::Service> NewAgentService(ServerCore* core);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_AGENT_SERVICE_H_

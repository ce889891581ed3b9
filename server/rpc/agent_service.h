// gRPC handlers of cairn.v1.AgentService. Each checks the request's shape,
// calls Repository or JobBoard, and converts the status once.
#ifndef CAIRN_SERVER_RPC_AGENT_SERVICE_H_
#define CAIRN_SERVER_RPC_AGENT_SERVICE_H_

#include <memory>

#include "cairn/v1/agent.grpc.pb.h"
#include "server/schedule/job_board.h"
#include "server/ingest/repository.h"

namespace cairn {

std::unique_ptr<v1::AgentService::Service> NewAgentService(Repository* repository,
                                                           JobBoard* jobs);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_AGENT_SERVICE_H_

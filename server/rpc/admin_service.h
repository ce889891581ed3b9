// gRPC handlers of cairn.v1.AdminService: status, listings, diff, orders,
// policies and maintenance; each admits the caller and calls the core.
#ifndef CAIRN_SERVER_RPC_ADMIN_SERVICE_H_
#define CAIRN_SERVER_RPC_ADMIN_SERVICE_H_

#include <memory>

#include "cairn/v1/admin.grpc.pb.h"
#include "server/core/server_core.h"

namespace cairn {

std::unique_ptr<v1::AdminService::Service> NewAdminService(ServerCore* core);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_ADMIN_SERVICE_H_

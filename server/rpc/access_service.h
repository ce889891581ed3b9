// gRPC handlers of cairn.v1.EnrollService (anonymous: the CA certificate and
// enrollment) and cairn.v1.AccessService (admins: tokens, agents' access,
// credentials, the audit log). Each admits the caller and hands the request
// to the core's AccessService.
#ifndef CAIRN_SERVER_RPC_ACCESS_SERVICE_H_
#define CAIRN_SERVER_RPC_ACCESS_SERVICE_H_

#include <memory>

#include "cairn/v1/security.grpc.pb.h"
#include "server/core/server_core.h"

namespace cairn {

std::unique_ptr<v1::EnrollService::Service> NewEnrollService(ServerCore* core);
std::unique_ptr<v1::AccessService::Service> NewAccessService(ServerCore* core);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_ACCESS_SERVICE_H_

// gRPC handlers of cairn.v1.AdminService: status, listings, diff, orders and
// verify. Handlers check bounds and delegate to Catalog, SnapshotBrowser,
// JobBoard and PackVerifier.
#ifndef CAIRN_SERVER_RPC_ADMIN_SERVICE_H_
#define CAIRN_SERVER_RPC_ADMIN_SERVICE_H_

#include <memory>

#include "absl/time/time.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "server/schedule/job_board.h"
#include "server/ingest/repository.h"

namespace cairn {

std::unique_ptr<v1::AdminService::Service> NewAdminService(Repository* repository,
                                                           JobBoard* jobs,
                                                           absl::Time started);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_ADMIN_SERVICE_H_

// What the HTTPS listener serves, and to whom. Every path but /healthz needs
// a client certificate this server issued (an admin credential; the same
// check and the same method table as gRPC, server/auth/method_access.h), and
// refusals go to the audit log.
//   /metrics  Prometheus text format (viewer role)
//   /healthz  "ok": the process answers (no certificate; for probes)
//
//   ASSIGN_OR_RETURN(auto web, HttpsServer::Start(listen, key, chain, WebHandler(core)));
#ifndef CAIRN_SERVER_WEB_WEB_ROUTES_H_
#define CAIRN_SERVER_WEB_WEB_ROUTES_H_

#include "server/core/server_core.h"
#include "server/web/https_server.h"

namespace cairn {

HttpHandler WebHandler(ServerCore* core);

}  // namespace cairn

#endif  // CAIRN_SERVER_WEB_WEB_ROUTES_H_

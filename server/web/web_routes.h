// What the HTTPS listener serves, and to whom. The caller is the browser
// session of its cookie (a one-time login: server/auth/web_sessions.h) or
// the client certificate it presented (an admin credential), checked with
// the same Authenticator and method table as gRPC
// (server/auth/method_access.h); refusals go to the audit log.
//   /metrics        Prometheus text format (viewer role)
//   /healthz        "ok": the process answers (anyone; for probes)
//   /login?token=T  redeems a login token (cairnctl web): session cookie, then /
//   /logout         ends the session
//   /, /app.js, /app.css   the status page (static, no data; anyone)
//   /api/status     GetStatus as JSON (viewer role), and /api/snapshots?agent=A,
//   /api/ls?snapshot=S&path=P&page=T, /api/diff?from=S1&to=S2, /api/history
//
//   ASSIGN_OR_RETURN(auto web, HttpsServer::Start(listen, key, chain, WebHandler(core, history)));
#ifndef CAIRN_SERVER_WEB_WEB_ROUTES_H_
#define CAIRN_SERVER_WEB_WEB_ROUTES_H_

#include "server/core/server_core.h"
#include "server/web/https_server.h"
#include "server/web/usage_history.h"

namespace cairn {

// `history` may be null (then /api/history is empty).
HttpHandler WebHandler(ServerCore* core, UsageHistory* history);

}  // namespace cairn

#endif  // CAIRN_SERVER_WEB_WEB_ROUTES_H_

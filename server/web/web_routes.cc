#include "server/web/web_routes.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/auth/method_access.h"

namespace cairn {
namespace {

// The caller, if it may see `what`; the refusal as a response otherwise.
absl::StatusOr<Caller> Admit(ServerCore* core, const HttpPeer& peer, absl::string_view what) {
  absl::StatusOr<Caller> caller = core->authenticator().Identify(peer.cert_pem);
  absl::Status allowed = caller.ok() ? Authorize(*caller, what) : caller.status();
  if (allowed.ok()) return caller;
  core->audit().Record(caller.ok() ? *caller : Caller::Anonymous(), peer.address, what, "",
                       allowed);
  return allowed;
}

HttpResponse Refusal(const absl::Status& status) {
  HttpResponse r;
  r.status = absl::IsUnauthenticated(status) ? 401 : 403;
  r.body = absl::StrCat(status.message(), "\n");
  if (r.status == 401) {
    absl::StrAppend(&r.body,
                    "Present an admin credential's certificate: cairnctl credentials create "
                    "--role viewer --name prometheus --pem-dir DIR writes ca.pem, cert.pem and "
                    "key.pem for Prometheus' tls_config or curl --cacert/--cert/--key.\n");
  }
  return r;
}

}  // namespace

HttpHandler WebHandler(ServerCore* core) {
  return [core](const HttpRequest& request, const HttpPeer& peer) -> HttpResponse {
    if (request.path == "/healthz") return HttpResponse{.body = "ok\n"};
    if (request.path == "/metrics") {
      absl::StatusOr<Caller> caller = Admit(core, peer, kWebMetrics);
      if (!caller.ok()) return Refusal(caller.status());
      return HttpResponse{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                          .body = core->metrics().registry().Render()};
    }
    return HttpResponse{.status = 404, .body = absl::StrCat("no page ", request.path, "\n")};
  };
}

}  // namespace cairn

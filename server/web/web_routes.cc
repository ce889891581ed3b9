#include "server/web/web_routes.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/json_output.h"
#include "common/path_text.h"
#include "server/auth/method_access.h"
#include "server/web/status_page.h"

namespace cairn {
namespace {

constexpr char kCookie[] = "cairn_session";

// The value of cookie `name` in the request's Cookie header, or "".
std::string CookieValue(const HttpRequest& request, absl::string_view name) {
  std::optional<std::string> header = request.Header("cookie");
  if (!header.has_value()) return "";
  for (absl::string_view part : absl::StrSplit(*header, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
      return std::string(part);
    }
  }
  return "";
}

// Who is asking: the session of the cookie, else the client certificate.
absl::StatusOr<Caller> Identify(ServerCore* core, const HttpRequest& request,
                                const HttpPeer& peer) {
  const std::string session = CookieValue(request, kCookie);
  if (!session.empty()) {
    std::optional<Caller> caller = core->web_sessions().Find(session);
    if (caller.has_value()) {
      absl::Status live = core->authenticator().StillLive(caller->serial);
      if (!live.ok()) {
        core->web_sessions().End(session);
        return live;
      }
      return *caller;
    }
  }
  return core->authenticator().Identify(peer.cert_pem);
}

// The caller, if it may see `what`; the refusal otherwise (audited).
absl::StatusOr<Caller> Admit(ServerCore* core, const HttpRequest& request, const HttpPeer& peer,
                             absl::string_view what) {
  absl::StatusOr<Caller> caller = Identify(core, request, peer);
  absl::Status allowed = caller.ok() ? Authorize(*caller, what) : caller.status();
  if (allowed.ok()) return caller;
  core->audit().Record(caller.ok() ? *caller : Caller::Anonymous(), peer.address, what,
                       request.path, allowed);
  return allowed;
}

HttpResponse Refusal(const absl::Status& status) {
  HttpResponse r;
  r.status = absl::IsUnauthenticated(status) ? 401 : 403;
  r.body = absl::StrCat(status.message(), "\n");
  if (r.status == 401) {
    absl::StrAppend(&r.body,
                    "Sign in with a link from `cairnctl web`, or present an admin credential's "
                    "certificate: cairnctl credentials create --role viewer --name prometheus "
                    "--pem-dir DIR writes ca.pem, cert.pem and key.pem for Prometheus' "
                    "tls_config or curl --cacert/--cert/--key.\n");
  }
  return r;
}

HttpResponse Json(const absl::StatusOr<std::string>& json) {
  if (!json.ok()) {
    const int status = absl::IsNotFound(json.status())          ? 404
                       : absl::IsInvalidArgument(json.status()) ? 400
                                                                : 500;
    return HttpResponse{.status = status, .body = absl::StrCat(json.status().message(), "\n")};
  }
  return HttpResponse{.content_type = "application/json", .body = *json};
}

template <typename T>
HttpResponse JsonOf(const absl::StatusOr<T>& message) {
  if (!message.ok()) return Json(message.status());
  return Json(ToJson(*message));
}

// A path parameter as the page sends it: PathToText text.
absl::StatusOr<std::string> PathParam(const HttpRequest& request, absl::string_view name) {
  std::optional<std::string> text = request.QueryParam(name);
  if (!text.has_value()) return std::string();
  return PathFromText(*text);
}

HttpResponse Api(ServerCore* core, UsageHistory* history, const HttpRequest& request,
                 const Caller& caller) {
  const std::string& path = request.path;
  if (path == "/api/status") return JsonOf(core->status().GetStatus(caller));
  if (path == "/api/history") {
    return Json(history != nullptr ? history->Json() : std::string("{\"samples\":[]}"));
  }
  if (path == "/api/snapshots") {
    v1::ListSnapshotsRequest r;
    r.set_agent(request.QueryParam("agent").value_or(""));
    uint32_t limit = 200;
    if (std::optional<std::string> l = request.QueryParam("limit"); l.has_value()) {
      if (!absl::SimpleAtoi(*l, &limit) || limit == 0 || limit > 1000) {
        return Json(absl::InvalidArgumentError("limit is 1 to 1000"));
      }
    }
    r.set_limit(limit);
    return JsonOf(core->browse().ListSnapshots(caller, r));
  }
  if (path == "/api/ls") {
    v1::ListFilesRequest r;
    r.set_snapshot_id(request.QueryParam("snapshot").value_or(""));
    absl::StatusOr<std::string> prefix = PathParam(request, "path");
    if (!prefix.ok()) return Json(prefix.status());
    absl::StatusOr<std::string> page = PathParam(request, "page");
    if (!page.ok()) return Json(page.status());
    r.set_prefix(*prefix);
    r.set_page_token(*page);
    r.set_limit(500);
    return JsonOf(core->browse().ListFiles(caller, r));
  }
  if (path == "/api/diff") {
    v1::DiffSnapshotsRequest r;
    r.set_from_snapshot_id(request.QueryParam("from").value_or(""));
    r.set_to_snapshot_id(request.QueryParam("to").value_or(""));
    r.set_limit(1000);
    return JsonOf(core->browse().Diff(caller, r));
  }
  return HttpResponse{.status = 404, .body = absl::StrCat("no page ", request.path, "\n")};
}

HttpResponse Login(ServerCore* core, const HttpRequest& request, const HttpPeer& peer) {
  absl::StatusOr<std::string> session =
      core->web_sessions().Redeem(request.QueryParam("token").value_or(""));
  if (!session.ok()) {
    // A guessed, used or stale link is a refusal like any other (the token
    // itself is not recorded).
    core->audit().Record(Caller::Anonymous(), peer.address, kWebStatus, "/login", session.status());
    return Refusal(session.status());
  }
  HttpResponse r{.status = 302, .body = "signed in\n"};
  r.headers.emplace_back("Location", "/");
  // The token was in the URL: it must not leave in a Referer.
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back(
      "Set-Cookie",
      absl::StrCat(kCookie, "=", *session, "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=",
                   absl::ToInt64Seconds(WebSessions::kSessionLifetime)));
  return r;
}

HttpResponse Static(const PageAsset& asset) {
  HttpResponse r{.content_type = std::string(asset.content_type), .body = std::string(asset.body)};
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                         "base-uri 'none'; form-action 'none'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

HttpHandler WebHandler(ServerCore* core, UsageHistory* history) {
  return [core, history](const HttpRequest& request, const HttpPeer& peer) -> HttpResponse {
    const std::string& path = request.path;
    if (path == "/healthz") return HttpResponse{.body = "ok\n"};
    if (path == "/metrics") {
      absl::StatusOr<Caller> caller = Admit(core, request, peer, kWebMetrics);
      if (!caller.ok()) return Refusal(caller.status());
      return HttpResponse{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                          .body = core->metrics().registry().Render()};
    }
    if (path == "/login") return Login(core, request, peer);
    if (path == "/logout") {
      core->web_sessions().End(CookieValue(request, kCookie));
      HttpResponse r{.status = 302, .body = "signed out\n"};
      r.headers.emplace_back("Location", "/");
      r.headers.emplace_back("Set-Cookie",
                             absl::StrCat(kCookie, "=; Path=/; Secure; HttpOnly; Max-Age=0"));
      return r;
    }
    if (std::optional<PageAsset> asset = FindPageAsset(path); asset.has_value()) {
      return Static(*asset);
    }
    if (absl::StartsWith(path, "/api/")) {
      absl::StatusOr<Caller> caller = Admit(core, request, peer, kWebStatus);
      if (!caller.ok()) return Refusal(caller.status());
      return Api(core, history, request, *caller);
    }
    return HttpResponse{.status = 404, .body = absl::StrCat("no page ", request.path, "\n")};
  };
}

}  // namespace cairn

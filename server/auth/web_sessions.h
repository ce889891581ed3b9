// Browser sessions of the status page. An admin credential (viewer role or
// above) asks for a one-time login token over gRPC (CreateWebLogin); the
// browser redeems it at /login within five minutes for a session id, sent
// back as an HttpOnly, Secure, SameSite=Strict cookie and valid 12 hours.
// A session carries the Caller that asked for the token (its role), and its
// certificate serial: the web routes check that the credential is still
// live on every request, so revoking it ends its sessions. Tokens and
// sessions are random (32 bytes, hex), kept in memory only (a restart logs
// everyone out) and bounded in number (the oldest go first).
//
//   ASSIGN_OR_RETURN(WebLogin login, sessions.NewLogin(caller));
//   ASSIGN_OR_RETURN(std::string session, sessions.Redeem(token));
//   std::optional<Caller> who = sessions.Find(session);
#ifndef CAIRN_SERVER_AUTH_WEB_SESSIONS_H_
#define CAIRN_SERVER_AUTH_WEB_SESSIONS_H_

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/auth/caller.h"

namespace cairn {

struct WebLogin {
  std::string token;
  absl::Time expires;
};

class WebSessions final {
 public:
  static constexpr absl::Duration kLoginLifetime = absl::Minutes(5);
  static constexpr absl::Duration kSessionLifetime = absl::Hours(12);
  static constexpr size_t kMaxLogins = 256;
  static constexpr size_t kMaxSessions = 1024;

  explicit WebSessions(std::function<absl::Time()> clock = absl::Now) : clock_(std::move(clock)) {}

  // A token for `caller`, an admin credential; PermissionDenied for others.
  absl::StatusOr<WebLogin> NewLogin(const Caller& caller);
  // The token's session id; the token is used up. Unauthenticated for an
  // unknown, used or expired token.
  absl::StatusOr<std::string> Redeem(absl::string_view token);
  // Who session `id` is, while it lasts.
  std::optional<Caller> Find(absl::string_view id);
  void End(absl::string_view id);

  // The web listener's port, for CreateWebLogin's answer (0: off).
  void set_web_port(int port) { web_port_.store(port); }
  int web_port() const { return web_port_.load(); }

 private:
  struct Entry {
    Caller caller;
    absl::Time expires;
  };
  // Drops expired entries, then the soonest to expire while over `max`.
  void Trim(absl::flat_hash_map<std::string, Entry>& map, size_t max, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::function<absl::Time()> clock_;
  std::atomic<int> web_port_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> logins_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry> sessions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_WEB_SESSIONS_H_

#include "server/auth/web_sessions.h"

#include <sodium.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "common/sodium_init.h"

namespace cairn {
namespace {

std::string RandomId() {
  EnsureSodiumInitialized();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace

void WebSessions::Trim(absl::flat_hash_map<std::string, Entry>& map, size_t max, absl::Time now) {
  std::vector<std::string> expired;
  for (const auto& [id, e] : map) {
    if (e.expires <= now) expired.push_back(id);
  }
  for (const std::string& id : expired) map.erase(id);
  while (map.size() > max) {
    auto oldest = map.begin();
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->second.expires < oldest->second.expires) oldest = it;
    }
    map.erase(oldest);
  }
}

absl::StatusOr<WebLogin> WebSessions::NewLogin(const Caller& caller) {
  if (caller.kind != Caller::Kind::kAdmin || !caller.HasRole(Role::kViewer)) {
    return absl::PermissionDeniedError("a status page login needs an admin credential");
  }
  const absl::Time now = clock_();
  WebLogin login{.token = RandomId(), .expires = now + kLoginLifetime};
  absl::MutexLock lock(&mu_);
  logins_[login.token] = Entry{.caller = caller, .expires = login.expires};
  Trim(logins_, kMaxLogins, now);
  return login;
}

absl::StatusOr<std::string> WebSessions::Redeem(absl::string_view token) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = logins_.find(token);
  if (it == logins_.end() || it->second.expires <= now) {
    if (it != logins_.end()) logins_.erase(it);
    return absl::UnauthenticatedError(
        "this login link is unknown, used or expired: run `cairnctl web` for a new one");
  }
  Entry entry = std::move(it->second);
  logins_.erase(it);
  std::string id = RandomId();
  sessions_[id] = Entry{.caller = std::move(entry.caller), .expires = now + kSessionLifetime};
  Trim(sessions_, kMaxSessions, now);
  return id;
}

std::optional<Caller> WebSessions::Find(absl::string_view id) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second.caller;
}

void WebSessions::End(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(id);
}

}  // namespace cairn

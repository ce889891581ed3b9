#include "server/auth/data_sessions.h"

#include <sodium.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/data_mac.h"
#include "common/sodium_init.h"
#include "common/status_macros.h"
#include "server/auth/authenticator.h"

namespace cairn {

absl::StatusOr<DataSessionGrant> DataSessions::Open(const Caller& caller) {
  if (caller.kind != Caller::Kind::kAgent) {
    return absl::PermissionDeniedError("only agents open data sessions");
  }
  EnsureSodiumInitialized();
  std::string id(kDataSessionIdBytes, '\0');
  randombytes_buf(id.data(), id.size());
  auto key = std::make_shared<const DataKey>(DataKey::Random());
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  Trim(caller.Principal(), now);
  Session& s = sessions_[absl::BytesToHexString(id)];
  s.caller = caller;
  s.key = key;
  s.opened = now;
  s.expires = now + kLifetime;
  return DataSessionGrant{.id = std::move(id), .key = std::move(key), .expires = s.expires};
}

void DataSessions::Trim(const std::string& principal, absl::Time now) {
  std::vector<std::pair<absl::Time, std::string>> mine;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.expires <= now) {
      sessions_.erase(it++);
      continue;
    }
    if (it->second.caller.Principal() == principal) mine.emplace_back(it->second.opened, it->first);
    ++it;
  }
  std::sort(mine.begin(), mine.end());
  for (size_t i = 0; i + kMaxPerPrincipal <= mine.size(); ++i) sessions_.erase(mine[i].second);
  while (sessions_.size() >= kMaxSessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.opened < oldest->second.opened) oldest = it;
    }
    sessions_.erase(oldest);
  }
}

absl::StatusOr<DataCallGrant> DataSessions::Admit(absl::string_view id_hex, uint64_t call) {
  if (call == 0) return absl::UnauthenticatedError("data call number 0 (they start at 1)");
  Caller caller;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(id_hex);
    if (it == sessions_.end() || it->second.expires <= clock_()) {
      if (it != sessions_.end()) sessions_.erase(it);
      return absl::UnauthenticatedError(
          "unknown or expired data session (the server restarted, or an hour passed): open "
          "another over TLS");
    }
    caller = it->second.caller;
  }
  // Outside the lock: it may read the catalog.
  if (authenticator_ != nullptr) {
    absl::Status live = authenticator_->StillLive(caller.serial);
    if (!live.ok()) {
      absl::MutexLock lock(&mu_);
      sessions_.erase(id_hex);
      return absl::UnauthenticatedError(
          absl::StrCat("the data session's certificate is no longer accepted: ", live.message()));
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id_hex);
  if (it == sessions_.end()) return absl::UnauthenticatedError("the data session ended");
  Session& s = it->second;
  if (call > s.highest_call) {
    const uint64_t shift = call - s.highest_call;
    s.used = shift >= kReplayWindow ? std::bitset<kReplayWindow>() : s.used << shift;
    s.highest_call = call;
    s.used.set(0);
  } else {
    const uint64_t behind = s.highest_call - call;
    if (behind >= kReplayWindow) {
      return absl::UnauthenticatedError(absl::StrCat(
          "data call ", call, " is too far behind the session's newest (", s.highest_call, ")"));
    }
    if (s.used.test(behind)) {
      return absl::UnauthenticatedError(absl::StrCat("data call ", call, " was used before"));
    }
    s.used.set(behind);
  }
  ++calls_admitted_;
  return DataCallGrant{.caller = s.caller, .key = s.key, .call = call};
}

}  // namespace cairn

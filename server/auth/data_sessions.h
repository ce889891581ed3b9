// Sessions of the data channel (docs/security.md, "The data channel"). An
// agent opens one over TLS (OpenDataSession) and gets a random id and key;
// its UploadChunks and ReadChunks calls then go to the server's plaintext data port, each
// naming the session and a call number in its metadata and carrying a tag
// under the key on every message (common/data_mac.h).
//
// A session is the Caller that opened it, for an hour at most. Admit() is
// the data port's authentication: the session must exist and be unexpired,
// its certificate still live (StillLive, checked on every call, so a revoked
// or retired agent is refused on its next call), and the call number new:
// each session remembers its highest call number and which of the 1,024
// below it were used, so a recorded call cannot be played again. Sessions
// are kept in memory only (a restarted server refuses old ones; agents then
// open another), at most 8 per agent and 65,536 in all (the oldest go first).
//
//   ASSIGN_OR_RETURN(DataSessionGrant grant, sessions.Open(caller));
//   ASSIGN_OR_RETURN(DataCallGrant call, sessions.Admit(id_hex, call_number));
#ifndef CAIRN_SERVER_AUTH_DATA_SESSIONS_H_
#define CAIRN_SERVER_AUTH_DATA_SESSIONS_H_

#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/data_mac.h"
#include "server/auth/caller.h"

namespace cairn {

class Authenticator;

struct DataSessionGrant {
  std::string id;  // kDataSessionIdBytes raw bytes
  std::shared_ptr<const DataKey> key;
  absl::Time expires;
};

// An admitted data call: who, and the key its messages are tagged with.
struct DataCallGrant {
  Caller caller;
  std::shared_ptr<const DataKey> key;
  uint64_t call = 0;
};

class DataSessions final {
 public:
  static constexpr absl::Duration kLifetime = absl::Hours(1);
  static constexpr size_t kMaxPerPrincipal = 8;
  static constexpr size_t kMaxSessions = 65536;
  static constexpr uint64_t kReplayWindow = 1024;

  // `authenticator` may be null (tests of the table alone): no liveness check.
  explicit DataSessions(Authenticator* authenticator, std::function<absl::Time()> clock = absl::Now)
      : authenticator_(authenticator), clock_(std::move(clock)) {}

  // A new session for `caller` (an agent).
  absl::StatusOr<DataSessionGrant> Open(const Caller& caller);
  // The call `call` of session `id_hex`, if it may go ahead. Unauthenticated,
  // with the reason, otherwise: unknown or expired session, a certificate no
  // longer live, a call number 0, used before, or too far behind.
  absl::StatusOr<DataCallGrant> Admit(absl::string_view id_hex, uint64_t call);

  // What OpenDataSession tells agents to dial ("" while there is no data
  // port: no sessions are opened then). Set once the port is bound.
  void set_address(std::string address) {
    absl::MutexLock lock(&mu_);
    address_ = std::move(address);
  }
  std::string address() {
    absl::MutexLock lock(&mu_);
    return address_;
  }

  // Calls admitted so far (for tests and the status page).
  uint64_t calls_admitted() {
    absl::MutexLock lock(&mu_);
    return calls_admitted_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return sessions_.size();
  }

 private:
  struct Session {
    Caller caller;
    std::shared_ptr<const DataKey> key;
    absl::Time opened;
    absl::Time expires;
    uint64_t highest_call = 0;
    std::bitset<kReplayWindow> used;  // bit i: call highest_call - i was used
  };
  // Makes room for one more session of `principal`.
  void Trim(const std::string& principal, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Authenticator* authenticator_;
  std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);  // by hex id
  uint64_t calls_admitted_ ABSL_GUARDED_BY(mu_) = 0;
  std::string address_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_DATA_SESSIONS_H_

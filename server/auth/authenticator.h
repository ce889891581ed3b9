// Who a call comes from, from the client certificate its TLS connection
// presented. The certificate must be signed by this server's CA, be within
// its validity, and have a serial the catalog knows and has not revoked; the
// catalog record (not the request, not even the certificate's subject) says
// which agent and tenant, or which admin credential and role, it is. The
// TLS layer does not verify client certificates itself, so that a
// certificate from another CA gets a clear UNAUTHENTICATED answer instead of
// a failed handshake.
//
//   ASSIGN_OR_RETURN(Caller caller, authenticator.Identify(peer_pem));
#ifndef CAIRN_SERVER_AUTH_AUTHENTICATOR_H_
#define CAIRN_SERVER_AUTH_AUTHENTICATOR_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/auth/caller.h"
#include "server/catalog/access_store.h"

namespace cairn {

class Authenticator final {
 public:
  Authenticator(AccessStore* store, std::string ca_cert_pem,
                std::function<absl::Time()> clock = absl::Now);

  // `peer_cert_pem`: the client certificate of the connection, empty when it
  // presented none (then the caller is anonymous). Unauthenticated, saying
  // what to do, for a certificate this server does not accept.
  // A renewed certificate's first call retires the certificate it replaces
  // (docs/security.md, "Approval, renewal, revocation").
  absl::StatusOr<Caller> Identify(absl::string_view peer_cert_pem);
  // OK while the certificate with `serial` is in the catalog, not revoked
  // and not expired (what a browser session rests on); "local" (the local socket's admin)
  // always is. Unauthenticated otherwise.
  absl::Status StillLive(const std::string& serial);
  // Forgets what it cached of certificate records: after a revocation or an
  // approval the next call sees the catalog's word.
  void ForgetRecords();

 private:
  struct Verified {
    std::string serial;
    absl::Time not_after;
  };
  static constexpr size_t kMaxCached = 4096;

  absl::StatusOr<Verified> Verify(absl::string_view pem, absl::Time now);
  absl::StatusOr<CertificateRecord> Record(const std::string& serial);
  // The first call with a renewed certificate retires the one it replaces.
  void RetireReplaced(const CertificateRecord& renewal);

  AccessStore* store_;
  const std::string ca_cert_pem_;
  std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Verified> verified_ ABSL_GUARDED_BY(mu_);  // by PEM
  absl::flat_hash_map<std::string, CertificateRecord> records_ ABSL_GUARDED_BY(mu_);
  // Bumped when cached records may have gone stale: a record read from the
  // catalog before a bump is not cached.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

Role RoleFromProto(int role);

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_AUTHENTICATOR_H_

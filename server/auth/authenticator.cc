#include "server/auth/authenticator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/status_macros.h"
#include "common/x509.h"

namespace cairn {
namespace {

constexpr char kWhatToDo[] =
    "an agent enrolls again with a new join token (cairn-agent enroll); an admin asks for a "
    "new credential (cairnctl credentials create)";

std::string FormatTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

}  // namespace

Role RoleFromProto(int role) {
  switch (role) {
    case v1::ROLE_VIEWER:
      return Role::kViewer;
    case v1::ROLE_OPERATOR:
      return Role::kOperator;
    case v1::ROLE_ADMIN:
      return Role::kAdmin;
    default:
      return Role::kNone;
  }
}

Authenticator::Authenticator(AccessStore* store, std::string ca_cert_pem,
                             std::function<absl::Time()> clock)
    : store_(store), ca_cert_pem_(std::move(ca_cert_pem)), clock_(std::move(clock)) {}

absl::StatusOr<Authenticator::Verified> Authenticator::Verify(absl::string_view pem,
                                                              absl::Time now) {
  {
    absl::MutexLock lock(&mu_);
    auto it = verified_.find(pem);
    if (it != verified_.end()) return it->second;
  }
  absl::Status valid = VerifyCertificate(pem, ca_cert_pem_, now, /*client=*/true);
  if (!valid.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("this server does not accept the client certificate (", valid.message(),
                     "; it must be issued by this server's CA): ", kWhatToDo));
  }
  ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificate(pem));
  Verified v{info.serial, info.not_after};
  absl::MutexLock lock(&mu_);
  if (verified_.size() >= kMaxCached) verified_.clear();
  verified_.emplace(std::string(pem), v);
  return v;
}

absl::StatusOr<CertificateRecord> Authenticator::Record(const std::string& serial) {
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(serial);
    if (it != records_.end()) return it->second;
  }
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    generation = generation_;
  }
  ASSIGN_OR_RETURN(std::optional<CertificateRecord> record, store_->GetCertificate(serial));
  if (!record.has_value()) {
    return absl::UnauthenticatedError(
        absl::StrCat("certificate ", serial,
                     " is signed by this server's CA but not in its catalog (was the "
                     "catalog restored from an older copy?): ",
                     kWhatToDo));
  }
  absl::MutexLock lock(&mu_);
  // Read before a revocation, retirement or approval that came since: not
  // cached, so the next call reads the catalog's word.
  if (generation != generation_) return *record;
  if (records_.size() >= kMaxCached) records_.clear();
  records_.emplace(serial, *record);
  return *record;
}

absl::StatusOr<Caller> Authenticator::Identify(absl::string_view peer_cert_pem) {
  if (peer_cert_pem.empty()) return Caller::Anonymous();
  const absl::Time now = clock_();
  ASSIGN_OR_RETURN(Verified cert, Verify(peer_cert_pem, now));
  if (now > cert.not_after) {
    return absl::UnauthenticatedError(absl::StrCat("the client certificate expired at ",
                                                   FormatTime(absl::ToUnixMillis(cert.not_after)),
                                                   ": ", kWhatToDo));
  }
  ASSIGN_OR_RETURN(CertificateRecord record, Record(cert.serial));
  const std::string who = record.kind == PrincipalKind::kAgent
                              ? absl::StrCat("agent ", record.name)
                              : absl::StrCat("credential ", record.name);
  if (!record.replaced_by.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the certificate of ", who, " was replaced by its renewal (certificate ",
        record.replaced_by, ") at ", FormatTime(record.revoked_ms),
        ": the agent keeps the renewed certificate in its credentials file and uses it; if that "
        "file was lost or restored from an older copy, or the renewal was not the agent's own, an "
        "admin revokes the agent (cairnctl agents revoke NAME) and it enrolls again with a new "
        "join token (cairn-agent enroll)"));
  }
  if (record.revoked_ms != 0) {
    return absl::UnauthenticatedError(absl::StrCat("the certificate of ", who, " was revoked at ",
                                                   FormatTime(record.revoked_ms), ": ", kWhatToDo));
  }
  if (!record.replaces.empty()) RetireReplaced(record);
  Caller caller = record.kind == PrincipalKind::kAgent
                      ? Caller::Agent(record.name, record.tenant)
                      : Caller::Admin(record.name, RoleFromProto(record.role));
  caller.approved = !record.pending;
  caller.serial = record.serial;
  return caller;
}

absl::Status Authenticator::StillLive(const std::string& serial) {
  if (serial == "local") return absl::OkStatus();
  ASSIGN_OR_RETURN(CertificateRecord record, Record(serial));
  if (record.revoked_ms != 0) {
    return absl::UnauthenticatedError(absl::StrCat("credential ", record.name, " was revoked at ",
                                                   FormatTime(record.revoked_ms), ": ", kWhatToDo));
  }
  if (record.expires_ms != 0 && absl::ToUnixMillis(clock_()) > record.expires_ms) {
    return absl::UnauthenticatedError(absl::StrCat("credential ", record.name, " expired at ",
                                                   FormatTime(record.expires_ms), ": ", kWhatToDo));
  }
  return absl::OkStatus();
}

// The old certificate stays valid until the renewal is used, so an agent
// that renewed but crashed before it kept the new file still gets in; from
// the renewal's first call on, a copy of the old key is worth nothing.
void Authenticator::RetireReplaced(const CertificateRecord& renewal) {
  absl::StatusOr<int> retired =
      store_->RetireReplaced(renewal.serial, renewal.replaces, absl::ToUnixMillis(clock_()));
  if (!retired.ok()) {
    // Tried again on the renewal's next call.
    log::Warn("certificate.retire_failed",
              {{"serial", renewal.replaces}, {"by", renewal.serial}, {"error", retired.status()}});
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (*retired > 0) {
      // The old certificate and any other renewal of it may be cached live.
      records_.clear();
      ++generation_;
    } else {
      auto it = records_.find(renewal.serial);
      if (it != records_.end()) it->second.replaces.clear();
    }
  }
  if (*retired > 0) {
    log::Info("certificate.replaced", {{"agent", renewal.name},
                                       {"tenant", renewal.tenant},
                                       {"serial", renewal.replaces},
                                       {"by", renewal.serial},
                                       {"retired", *retired}});
  }
}

void Authenticator::ForgetRecords() {
  absl::MutexLock lock(&mu_);
  records_.clear();
  ++generation_;
}

}  // namespace cairn

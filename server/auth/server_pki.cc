#include "server/auth/server_pki.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/client_tls.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "common/x509.h"

namespace cairn {
namespace {

constexpr size_t kMaxPemFileBytes = 64 << 10;
constexpr absl::Duration kCaValidity = absl::Hours(24 * 365 * 10);
constexpr absl::Duration kServerCertValidity = absl::Hours(24 * 365 * 2);
constexpr absl::Duration kRenewServerCertWithin = absl::Hours(24 * 30);

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, kMaxPemFileBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("reading ", path, ": ", text.status().message()));
  }
  return text;
}

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

struct Paths {
  std::string ca_cert, ca_key, cert, key;
  bool own_ca = true;  // made and kept by cairn-server
  bool own_cert = true;
};

Paths PathsFor(const std::string& dir, const v1::TlsConfig& tls) {
  Paths p;
  p.own_ca = tls.ca_cert_file().empty();
  p.ca_cert = p.own_ca ? dir + "/ca.crt" : tls.ca_cert_file();
  p.ca_key = tls.ca_key_file().empty() ? dir + "/ca.key" : tls.ca_key_file();
  p.own_cert = tls.cert_file().empty();
  p.cert = p.own_cert ? dir + "/server.crt" : tls.cert_file();
  p.key = tls.key_file().empty() ? dir + "/server.key" : tls.key_file();
  return p;
}

// The CA: read, or made when neither of our own files exists yet.
absl::Status LoadOrMakeCa(const Paths& p, ServerPki* pki) {
  const bool have_cert = Exists(p.ca_cert);
  const bool have_key = Exists(p.ca_key);
  if (!have_cert && !have_key && p.own_ca) {
    ASSIGN_OR_RETURN(pki->ca_key_pem, GeneratePrivateKeyPem());
    ASSIGN_OR_RETURN(
        pki->ca_cert_pem,
        SelfSignedCaPem(pki->ca_key_pem, absl::StrCat("cairn CA ", NewJobId()), kCaValidity));
    // The key first: a CA certificate without its key would be a dead end.
    RETURN_IF_ERROR(Annotate(WriteFileAtomically(p.ca_key, pki->ca_key_pem, 0600), p.ca_key));
    return Annotate(WriteFileAtomically(p.ca_cert, pki->ca_cert_pem, 0644), p.ca_cert);
  }
  if (!have_cert) {
    return absl::FailedPreconditionError(
        absl::StrCat("the CA certificate ", p.ca_cert, " is missing but its key ", p.ca_key,
                     " is there: restore it from a backup of the state directory (a new CA would "
                     "lock out every enrolled agent)"));
  }
  if (!have_key) {
    return absl::FailedPreconditionError(
        absl::StrCat("the CA key ", p.ca_key,
                     " is missing: cairn-server needs it to sign agents' "
                     "certificates (tls.ca_key_file names it)"));
  }
  ASSIGN_OR_RETURN(pki->ca_cert_pem, ReadPem(p.ca_cert));
  ASSIGN_OR_RETURN(pki->ca_key_pem, ReadPem(p.ca_key));
  absl::StatusOr<CertificateInfo> ca = ReadCertificate(pki->ca_cert_pem);
  RETURN_IF_ERROR(Annotate(ca.status(), p.ca_cert));
  if (!ca->is_ca) {
    return absl::FailedPreconditionError(absl::StrCat(p.ca_cert, " is not a CA certificate"));
  }
  return Annotate(CheckKeyMatches(pki->ca_key_pem, pki->ca_cert_pem),
                  absl::StrCat(p.ca_key, " and ", p.ca_cert));
}

// Whether our own server certificate must be made (again).
bool NeedsNewServerCert(const Paths& p, const ServerPki& pki, absl::Time now) {
  if (!Exists(p.cert) || !Exists(p.key)) return true;
  absl::StatusOr<std::string> cert = ReadPem(p.cert);
  absl::StatusOr<std::string> key = ReadPem(p.key);
  if (!cert.ok() || !key.ok()) return true;
  absl::StatusOr<CertificateInfo> info = ReadCertificate(*cert);
  return !info.ok() || info->common_name != pki.server_name ||
         info->not_after - now < kRenewServerCertWithin ||
         !VerifyCertificate(*cert, pki.ca_cert_pem, now).ok() || !CheckKeyMatches(*key, *cert).ok();
}

absl::Status MakeServerCert(const Paths& p, ServerPki* pki) {
  ASSIGN_OR_RETURN(std::string key, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr, MakeCsrPem(key));
  ASSIGN_OR_RETURN(std::string cert, SignCsr(pki->ca_cert_pem, pki->ca_key_pem, csr,
                                             CertificateRequest{.common_name = pki->server_name,
                                                                .dns_names = {pki->server_name},
                                                                .server = true,
                                                                .validity = kServerCertValidity}));
  RETURN_IF_ERROR(Annotate(WriteFileAtomically(p.key, key, 0600), p.key));
  return Annotate(WriteFileAtomically(p.cert, cert, 0644), p.cert);
}

}  // namespace

absl::StatusOr<ServerPki> LoadOrCreateServerPki(const std::string& dir, const v1::TlsConfig& tls,
                                                absl::Time now) {
  RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  ::chmod(dir.c_str(), 0700);
  const Paths p = PathsFor(dir, tls);
  ServerPki pki;
  pki.server_name = tls.server_name().empty() ? kDefaultServerName : tls.server_name();
  RETURN_IF_ERROR(LoadOrMakeCa(p, &pki));
  if (p.own_cert && NeedsNewServerCert(p, pki, now)) RETURN_IF_ERROR(MakeServerCert(p, &pki));
  ASSIGN_OR_RETURN(std::string cert, ReadPem(p.cert));
  ASSIGN_OR_RETURN(pki.key_pem, ReadPem(p.key));
  RETURN_IF_ERROR(
      Annotate(CheckKeyMatches(pki.key_pem, cert), absl::StrCat(p.key, " and ", p.cert)));
  std::vector<std::string> chain = SplitPemCertificates(cert);
  if (chain.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(p.cert, " holds no PEM certificate"));
  }
  RETURN_IF_ERROR(Annotate(VerifyCertificate(chain.front(), pki.ca_cert_pem, now),
                           absl::StrCat(p.cert, " against the CA ", p.ca_cert)));
  pki.cert_chain_pem = chain.size() > 1 ? cert : absl::StrCat(cert, pki.ca_cert_pem);
  ASSIGN_OR_RETURN(pki.ca_fingerprint, CertificateFingerprint(pki.ca_cert_pem));
  return pki;
}

}  // namespace cairn

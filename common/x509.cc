#include "common/x509.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

// The reason OpenSSL gives (and clears its error queue), after `what`.
absl::Status OpenSslError(absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInternal) {
  std::string reasons;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&reasons, reasons.empty() ? "" : "; ", buf);
  }
  return absl::Status(code, absl::StrCat(what, reasons.empty() ? "" : ": ", reasons));
}

absl::Status BadInput(absl::string_view what) {
  return OpenSslError(what, absl::StatusCode::kInvalidArgument);
}

Bio MemoryBio(absl::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::Status CheckSize(absl::string_view pem, absl::string_view what) {
  if (pem.empty() || pem.size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", pem.size(), " bytes; expected 1 to ", kMaxPemBytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<Key> ReadKey(absl::string_view pem) {
  RETURN_IF_ERROR(CheckSize(pem, "private key"));
  Bio bio = MemoryBio(pem);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) return BadInput("private key does not parse");
  return key;
}

absl::StatusOr<Cert> ReadCert(absl::string_view pem) {
  RETURN_IF_ERROR(CheckSize(pem, "certificate"));
  Bio bio = MemoryBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return BadInput("certificate does not parse");
  return cert;
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("writing a certificate");
  return BioText(bio.get());
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) return OpenSslError("adding an extension");
  return absl::OkStatus();
}

// RFC 5280's upper bound on a common name and an organizational unit name.
constexpr size_t kMaxSubjectFieldBytes = 64;

// The subject is the CA's own choice, so a bad one is the caller's mistake:
// refused by name, not as an OpenSSL error.
absl::Status CheckSubject(const std::string& common_name, const std::string& unit) {
  if (common_name.empty() || common_name.size() > kMaxSubjectFieldBytes) {
    return absl::InvalidArgumentError(absl::StrCat("certificate common name is ",
                                                   common_name.size(), " bytes; expected 1 to ",
                                                   kMaxSubjectFieldBytes));
  }
  if (unit.size() > kMaxSubjectFieldBytes) {
    return absl::InvalidArgumentError(absl::StrCat("certificate organizational unit \"", unit,
                                                   "\" is ", unit.size(), " bytes; at most ",
                                                   kMaxSubjectFieldBytes, " fit"));
  }
  return absl::OkStatus();
}

// A certificate for `subject_key`, with a random serial, signed by
// `signer_key` as `issuer` (itself when null).
absl::StatusOr<Cert> BuildCertificate(EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* signer_key,
                                      const std::string& common_name, const std::string& unit,
                                      absl::Duration validity,
                                      const std::vector<std::pair<int, std::string>>& extensions) {
  RETURN_IF_ERROR(CheckSubject(common_name, unit));
  Cert cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), 2) != 1) {
    return OpenSslError("new certificate");
  }
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return OpenSslError("serial");
  serial_bytes[0] &= 0x7f;  // positive
  serial_bytes[0] |= 0x40;  // and never shorter than the others
  Bignum serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("serial");
  }
  // Valid from five minutes ago: clocks of agent and server may differ a little.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(validity)) == nullptr) {
    return OpenSslError("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return OpenSslError("subject name");
  }
  if (!unit.empty() && X509_NAME_add_entry_by_txt(
                           name, "OU", MBSTRING_UTF8,
                           reinterpret_cast<const unsigned char*>(unit.c_str()), -1, -1, 0) != 1) {
    return OpenSslError("subject unit");
  }
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return OpenSslError("issuer or public key");
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
  for (const auto& [nid, value] : extensions) {
    RETURN_IF_ERROR(AddExtension(cert.get(), signer, nid, value));
  }
  if (X509_sign(cert.get(), signer_key, EVP_sha256()) == 0) return OpenSslError("signing");
  return cert;
}

absl::Time AsnTime(const ASN1_TIME* t) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace

absl::StatusOr<std::string> GeneratePrivateKeyPem() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("generating an EC P-256 key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("writing a private key");
  }
  return BioText(bio.get());
}

absl::StatusOr<std::string> MakeCsrPem(absl::string_view key_pem) {
  ASSIGN_OR_RETURN(Key key, ReadKey(key_pem));
  Req req(X509_REQ_new());
  if (req == nullptr || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) == 0) {
    return OpenSslError("making a certificate request");
  }
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return OpenSslError("writing a CSR");
  return BioText(bio.get());
}

absl::StatusOr<std::string> SelfSignedCaPem(absl::string_view key_pem,
                                            absl::string_view common_name,
                                            absl::Duration validity) {
  ASSIGN_OR_RETURN(Key key, ReadKey(key_pem));
  ASSIGN_OR_RETURN(
      Cert cert,
      BuildCertificate(key.get(), nullptr, key.get(), std::string(common_name), "", validity,
                       {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                        {NID_key_usage, "critical,keyCertSign,cRLSign"}}));
  return CertPem(cert.get());
}

absl::StatusOr<std::string> SignCsr(absl::string_view ca_cert_pem, absl::string_view ca_key_pem,
                                    absl::string_view csr_pem, const CertificateRequest& what) {
  ASSIGN_OR_RETURN(Cert ca, ReadCert(ca_cert_pem));
  ASSIGN_OR_RETURN(Key ca_key, ReadKey(ca_key_pem));
  RETURN_IF_ERROR(CheckSize(csr_pem, "certificate request"));
  Bio bio = MemoryBio(csr_pem);
  Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (req == nullptr) return BadInput("certificate request does not parse");
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req.get());
  if (public_key == nullptr || X509_REQ_verify(req.get(), public_key) != 1) {
    return BadInput("certificate request is not signed by its own key");
  }
  std::vector<std::string> names;
  for (const std::string& d : what.dns_names) names.push_back("DNS:" + d);
  for (const std::string& ip : what.ip_addresses) names.push_back("IP:" + ip);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, what.server ? "serverAuth" : "clientAuth"}};
  if (!names.empty()) extensions.push_back({NID_subject_alt_name, absl::StrJoin(names, ",")});
  ASSIGN_OR_RETURN(Cert cert, BuildCertificate(public_key, ca.get(), ca_key.get(), what.common_name,
                                               what.unit, what.validity, extensions));
  return CertPem(cert.get());
}

absl::StatusOr<CertificateInfo> ReadCertificate(absl::string_view cert_pem) {
  ASSIGN_OR_RETURN(Cert cert, ReadCert(cert_pem));
  CertificateInfo info;
  char cn[256] = {};
  int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof(cn));
  if (n > 0) info.common_name.assign(cn, static_cast<size_t>(n));
  Bignum serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  if (serial != nullptr) {
    char* hex = BN_bn2hex(serial.get());
    if (hex != nullptr) {
      info.serial = absl::AsciiStrToLower(hex);
      OPENSSL_free(hex);
    }
  }
  info.not_before = AsnTime(X509_get0_notBefore(cert.get()));
  info.not_after = AsnTime(X509_get0_notAfter(cert.get()));
  info.is_ca = X509_check_ca(cert.get()) > 0;
  return info;
}

absl::StatusOr<std::string> CertificateFingerprint(absl::string_view cert_pem) {
  ASSIGN_OR_RETURN(Cert cert, ReadCert(cert_pem));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) return OpenSslError("fingerprint");
  return absl::StrCat(
      "sha256:", absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(md), len)));
}

absl::Status VerifyCertificate(absl::string_view cert_pem, absl::string_view ca_cert_pem,
                               absl::Time now, bool client) {
  ASSIGN_OR_RETURN(Cert cert, ReadCert(cert_pem));
  ASSIGN_OR_RETURN(Cert ca, ReadCert(ca_cert_pem));
  Store store(X509_STORE_new());
  StoreCtx ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return OpenSslError("certificate store");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (client && X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
    return OpenSslError("certificate purpose");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::PermissionDeniedError(
        absl::StrCat("certificate not valid: ", X509_verify_cert_error_string(error)));
  }
  return absl::OkStatus();
}

absl::Status CheckKeyMatches(absl::string_view key_pem, absl::string_view cert_pem) {
  ASSIGN_OR_RETURN(Key key, ReadKey(key_pem));
  ASSIGN_OR_RETURN(Cert cert, ReadCert(cert_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the private key does not belong to the certificate");
  }
  return absl::OkStatus();
}

std::vector<std::string> SplitPemCertificates(absl::string_view pem_chain) {
  static constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t begin = pem_chain.find("-----BEGIN CERTIFICATE-----", start);
    if (begin == absl::string_view::npos) break;
    size_t end = pem_chain.find(kEnd, begin);
    if (end == absl::string_view::npos) break;
    out.emplace_back(pem_chain.substr(begin, end + kEnd.size() - begin));
    out.back() += "\n";
    start = end + kEnd.size();
  }
  return out;
}

}  // namespace cairn

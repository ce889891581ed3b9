// cairn's small PKI (common/x509): keys and CSRs are PEM, a CA signs a CSR
// into a client or server certificate whose fields (CN, OU, serial, SANs,
// validity) read back, VerifyCertificate refuses another CA's certificate, an
// expired or not-yet-valid one and a server certificate used as a client,
// and malformed, truncated or over-size PEM is InvalidArgument, never a crash.
#include "common/x509.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;
using ::testing::StartsWith;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using ParsedCert = std::unique_ptr<X509, X509Free>;

// The certificate as OpenSSL parses it, to check what ReadCertificate does not report.
ParsedCert Parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  ParsedCert cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

std::string SubjectField(const std::string& pem, int nid) {
  ParsedCert cert = Parse(pem);
  if (cert == nullptr) return "(unparsed)";
  char text[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), nid, text, sizeof(text));
  return n < 0 ? "" : std::string(text, static_cast<size_t>(n));
}

// The DER inside a PEM block, and a PEM block around DER.
std::string DerOf(absl::string_view pem) {
  std::string body;
  for (absl::string_view line : absl::StrSplit(pem, '\n')) {
    if (!line.empty() && !absl::StartsWith(line, "-----")) absl::StrAppend(&body, line);
  }
  std::string der;
  EXPECT_TRUE(absl::Base64Unescape(body, &der));
  return der;
}
std::string PemOf(absl::string_view label, absl::string_view der) {
  std::string b64 = absl::Base64Escape(der);
  std::string out = absl::StrCat("-----BEGIN ", label, "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&out, b64.substr(i, 64), "\n");
  return absl::StrCat(out, "-----END ", label, "-----\n");
}

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(ca_key_, GeneratePrivateKeyPem());
    ASSERT_OK_AND_ASSIGN(ca_, SelfSignedCaPem(ca_key_, "test CA", absl::Hours(24 * 30)));
  }

  // A new key and a certificate for it, signed by the test CA as `what` says.
  void Issue(const CertificateRequest& what, std::string* key, std::string* cert) {
    ASSERT_OK_AND_ASSIGN(*key, GeneratePrivateKeyPem());
    ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(*key));
    ASSERT_OK_AND_ASSIGN(*cert, SignCsr(ca_, ca_key_, csr, what));
  }

  std::string ca_key_;
  std::string ca_;
};

TEST_F(X509Test, KeysAndRequestsArePemAndKeysAreFresh) {
  ASSERT_OK_AND_ASSIGN(std::string a, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string b, GeneratePrivateKeyPem());
  EXPECT_THAT(a, StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_NE(a, b);
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(a));
  EXPECT_THAT(csr, StartsWith("-----BEGIN CERTIFICATE REQUEST-----\n"));
}

TEST_F(X509Test, SelfSignedCaReadsBack) {
  const absl::Time before = absl::Now();
  ASSERT_OK_AND_ASSIGN(std::string ca, SelfSignedCaPem(ca_key_, "cairn CA", absl::Hours(48)));
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(ca));
  EXPECT_EQ(info.common_name, "cairn CA");
  EXPECT_TRUE(info.is_ca);
  EXPECT_THAT(info.serial, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_LE(info.not_before, before);  // back-dated for clock skew
  EXPECT_GE(info.not_after, before + absl::Hours(47));
  EXPECT_LE(info.not_after, before + absl::Hours(49));
  EXPECT_OK(CheckKeyMatches(ca_key_, ca));
}

TEST_F(X509Test, ClientCertificateCarriesWhatTheCaChose) {
  std::string key, cert;
  Issue({.common_name = "gpu-07", .unit = "agent of t1", .validity = absl::Hours(10)}, &key, &cert);
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(cert));
  EXPECT_EQ(info.common_name, "gpu-07");
  EXPECT_FALSE(info.is_ca);
  EXPECT_THAT(info.serial, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(SubjectField(cert, NID_organizationalUnitName), "agent of t1");
  EXPECT_LE(info.not_after - info.not_before, absl::Hours(10) + absl::Minutes(6));
  EXPECT_GE(info.not_after - info.not_before, absl::Hours(10));
  EXPECT_OK(CheckKeyMatches(key, cert));
  ParsedCert parsed = Parse(cert);
  ASSERT_NE(parsed, nullptr);
  EXPECT_NE(X509_get_extended_key_usage(parsed.get()) & XKU_SSL_CLIENT, 0u);
  EXPECT_EQ(X509_get_extended_key_usage(parsed.get()) & XKU_SSL_SERVER, 0u);
}

TEST_F(X509Test, SerialsAreDistinct) {
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    std::string key, cert;
    Issue({.common_name = "a"}, &key, &cert);
    ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(cert));
    serials.insert(info.serial);
  }
  EXPECT_THAT(serials, SizeIs(20));
}

TEST_F(X509Test, ServerCertificateNamesItsHostsAndAddresses) {
  std::string key, cert;
  Issue({.common_name = "cairn-server",
         .dns_names = {"cairn-server", "backup.example"},
         .ip_addresses = {"127.0.0.1", "::1"},
         .server = true},
        &key, &cert);
  ParsedCert parsed = Parse(cert);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(X509_check_host(parsed.get(), "backup.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(parsed.get(), "other.example", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(parsed.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(parsed.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(parsed.get(), "10.0.0.1", 0), 0);
  EXPECT_NE(X509_get_extended_key_usage(parsed.get()) & XKU_SSL_SERVER, 0u);
}

TEST_F(X509Test, VerifyTellsClientFromServerUsage) {
  std::string client_key, client, server_key, server;
  Issue({.common_name = "a1"}, &client_key, &client);
  Issue({.common_name = "cairn-server", .server = true}, &server_key, &server);
  const absl::Time now = absl::Now();
  EXPECT_OK(VerifyCertificate(client, ca_, now, /*client=*/true));
  EXPECT_OK(VerifyCertificate(server, ca_, now, /*client=*/false));
  absl::Status as_client = VerifyCertificate(server, ca_, now, /*client=*/true);
  EXPECT_EQ(as_client.code(), absl::StatusCode::kPermissionDenied) << as_client;
  EXPECT_THAT(as_client.message(), HasSubstr("purpose"));
  // The CA's own certificate is no client credential either.
  EXPECT_EQ(VerifyCertificate(ca_, ca_, now, /*client=*/true).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(X509Test, AnotherCasCertificateIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::string other_key, GeneratePrivateKeyPem());
  // Same name as ours: only the key counts.
  ASSERT_OK_AND_ASSIGN(std::string other_ca, SelfSignedCaPem(other_key, "test CA", absl::Hours(1)));
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(key));
  ASSERT_OK_AND_ASSIGN(std::string foreign,
                       SignCsr(other_ca, other_key, csr, {.common_name = "a1"}));
  absl::Status status = VerifyCertificate(foreign, ca_, absl::Now(), /*client=*/true);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(status.message(), HasSubstr("certificate not valid"));
  EXPECT_OK(VerifyCertificate(foreign, other_ca, absl::Now(), /*client=*/true));
}

TEST_F(X509Test, CertificateSignedByALeafIsRefused) {
  std::string leaf_key, leaf;
  Issue({.common_name = "a1"}, &leaf_key, &leaf);
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(key));
  ASSERT_OK_AND_ASSIGN(std::string grandchild, SignCsr(leaf, leaf_key, csr, {.common_name = "b"}));
  EXPECT_EQ(VerifyCertificate(grandchild, ca_, absl::Now(), true).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(X509Test, OutsideItsValidityIsRefused) {
  std::string key, cert;
  Issue({.common_name = "a1", .validity = absl::Hours(2)}, &key, &cert);
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(cert));
  EXPECT_OK(VerifyCertificate(cert, ca_, info.not_after - absl::Seconds(1), true));
  EXPECT_OK(VerifyCertificate(cert, ca_, info.not_before + absl::Seconds(1), true));
  absl::Status expired = VerifyCertificate(cert, ca_, info.not_after + absl::Seconds(1), true);
  EXPECT_EQ(expired.code(), absl::StatusCode::kPermissionDenied) << expired;
  EXPECT_THAT(expired.message(), HasSubstr("expired"));
  absl::Status early = VerifyCertificate(cert, ca_, info.not_before - absl::Seconds(1), true);
  EXPECT_EQ(early.code(), absl::StatusCode::kPermissionDenied) << early;
  EXPECT_THAT(early.message(), HasSubstr("not yet valid"));
  // An expired CA takes its certificates with it.
  ASSERT_OK_AND_ASSIGN(CertificateInfo ca, ReadCertificate(ca_));
  EXPECT_EQ(VerifyCertificate(cert, ca_, ca.not_after + absl::Seconds(1), true).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(X509Test, MalformedPemIsInvalidArgumentEverywhere) {
  std::string key, cert;
  Issue({.common_name = "a1"}, &key, &cert);
  const std::string bad[] = {
      "",
      "hello",
      cert.substr(0, cert.size() / 2),
      PemOf("CERTIFICATE", "not DER at all"),
      PemOf("CERTIFICATE", DerOf(cert).substr(0, 100)),
      key,  // a key where a certificate belongs
      std::string(kMaxPemBytes + 1, 'A'),
      absl::StrCat(cert, std::string(kMaxPemBytes, '\n')),  // valid, but over-size
  };
  for (const std::string& pem : bad) {
    SCOPED_TRACE(absl::StrCat(pem.size(), " bytes: ", pem.substr(0, 40)));
    for (const absl::Status& status :
         {ReadCertificate(pem).status(), CertificateFingerprint(pem).status(),
          VerifyCertificate(pem, ca_, absl::Now()), VerifyCertificate(cert, pem, absl::Now()),
          CheckKeyMatches(key, pem)}) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    }
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL's error queue was left dirty";
  }
  absl::Status huge = ReadCertificate(std::string(kMaxPemBytes + 1, 'A')).status();
  EXPECT_THAT(huge.message(), HasSubstr(absl::StrCat(kMaxPemBytes + 1, " bytes")));
  EXPECT_THAT(ReadCertificate("hello").status().message(), HasSubstr("does not parse"));
}

TEST_F(X509Test, MalformedKeysAndRequestsAreInvalidArgument) {
  std::string key, cert;
  Issue({.common_name = "a1"}, &key, &cert);
  for (const std::string& pem : {std::string(), std::string("junk"), key.substr(0, 60), cert,
                                 std::string(kMaxPemBytes + 1, 'k')}) {
    SCOPED_TRACE(pem.substr(0, 40));
    EXPECT_EQ(MakeCsrPem(pem).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(SelfSignedCaPem(pem, "x", absl::Hours(1)).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(CheckKeyMatches(pem, cert).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(SignCsr(ca_, ca_key_, pem, {.common_name = "a"}).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(SignCsr(ca_, pem, MakeCsrPem(key).value(), {.common_name = "a"}).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(X509Test, RequestNotSignedByItsKeyIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(key));
  std::string der = DerOf(csr);
  der.back() ^= 1;  // the last byte of the signature's s
  absl::StatusOr<std::string> signed_cert =
      SignCsr(ca_, ca_key_, PemOf("CERTIFICATE REQUEST", der), {.common_name = "a"});
  EXPECT_EQ(signed_cert.status().code(), absl::StatusCode::kInvalidArgument)
      << signed_cert.status();
  EXPECT_THAT(signed_cert.status().message(), HasSubstr("not signed by its own key"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(X509Test, KeyOfAnotherCertificateDoesNotMatch) {
  std::string key_a, cert_a, key_b, cert_b;
  Issue({.common_name = "a"}, &key_a, &cert_a);
  Issue({.common_name = "b"}, &key_b, &cert_b);
  EXPECT_OK(CheckKeyMatches(key_b, cert_b));
  absl::Status status = CheckKeyMatches(key_b, cert_a);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(X509Test, FingerprintIsSha256OfTheDer) {
  std::string key, cert;
  Issue({.common_name = "a1"}, &key, &cert);
  ASSERT_OK_AND_ASSIGN(std::string fp, CertificateFingerprint(cert));
  const std::string der = DerOf(cert);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), digest);
  EXPECT_EQ(fp, absl::StrCat("sha256:", absl::BytesToHexString(absl::string_view(
                                            reinterpret_cast<char*>(digest), sizeof(digest)))));
  ASSERT_OK_AND_ASSIGN(std::string ca_fp, CertificateFingerprint(ca_));
  EXPECT_THAT(ca_fp, MatchesRegex("sha256:[0-9a-f]{64}"));
  EXPECT_NE(ca_fp, fp);
}

TEST_F(X509Test, SplitFindsEveryCompleteCertificate) {
  std::string key, cert;
  Issue({.common_name = "a1"}, &key, &cert);
  std::vector<std::string> two = SplitPemCertificates(absl::StrCat("junk\n", cert, "x\n", ca_));
  ASSERT_THAT(two, SizeIs(2));
  EXPECT_EQ(two[0], cert);
  EXPECT_EQ(two[1], ca_);
  // An unterminated second certificate is dropped, not half-returned.
  std::vector<std::string> one =
      SplitPemCertificates(absl::StrCat(cert, ca_.substr(0, ca_.size() - 10)));
  ASSERT_THAT(one, SizeIs(1));
  EXPECT_EQ(one[0], cert);
  EXPECT_THAT(SplitPemCertificates(""), SizeIs(0));
  EXPECT_THAT(SplitPemCertificates(key), SizeIs(0));
}

TEST_F(X509Test, OverLongSubjectIsInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCsrPem(key));
  // X.509 bounds both at 64 characters (RFC 5280 ub-common-name, ub-organizational-unit-name).
  ASSERT_OK_AND_ASSIGN(std::string cert, SignCsr(ca_, ca_key_, csr,
                                                 {.common_name = std::string(64, 'c'),
                                                  .unit = std::string(64, 'u')}));
  ASSERT_OK_AND_ASSIGN(CertificateInfo info, ReadCertificate(cert));
  EXPECT_EQ(info.common_name, std::string(64, 'c'));
  EXPECT_EQ(SubjectField(cert, NID_organizationalUnitName), std::string(64, 'u'));
  absl::Status cn = SignCsr(ca_, ca_key_, csr, {.common_name = std::string(65, 'c')}).status();
  EXPECT_EQ(cn.code(), absl::StatusCode::kInvalidArgument) << cn;
  EXPECT_THAT(cn.message(), HasSubstr("common name"));
  absl::Status ou =
      SignCsr(ca_, ca_key_, csr, {.common_name = "a", .unit = std::string(65, 'u')}).status();
  EXPECT_EQ(ou.code(), absl::StatusCode::kInvalidArgument) << ou;
  EXPECT_THAT(ou.message(), HasSubstr("unit"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace cairn

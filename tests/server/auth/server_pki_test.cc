// LoadOrCreateServerPki: the first call makes a CA and a server certificate
// in the directory (keys mode 0600), later calls load the same ones, a
// server certificate near its end (or for another name) is made again under
// the same CA, damaged or missing files are refused naming the file, and an
// operator's own files named in v1::TlsConfig are used instead.
#include "server/auth/server_pki.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::Duration kDay = absl::Hours(24);

class ServerPkiTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = NewTempDir("pki") + "/tls"; }
  void TearDown() override { RemoveTestDirUnlessFailed(dir_.substr(0, dir_.rfind('/'))); }

  std::string dir_;
};

TEST_F(ServerPkiTest, FirstCallMakesACaAndAServerCertificateWithPrivateKeys) {
  ASSERT_OK_AND_ASSIGN(ServerPki pki, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  EXPECT_EQ(FileModeOf(dir_), 0700);
  EXPECT_EQ(FileModeOf(dir_ + "/ca.key"), 0600);
  EXPECT_EQ(FileModeOf(dir_ + "/server.key"), 0600);
  EXPECT_NE(FileModeOf(dir_ + "/ca.crt"), -1);
  EXPECT_NE(FileModeOf(dir_ + "/server.crt"), -1);
  EXPECT_EQ(ReadTestFile(dir_ + "/ca.crt"), pki.ca_cert_pem);
  EXPECT_EQ(ReadTestFile(dir_ + "/ca.key"), pki.ca_key_pem);
  EXPECT_EQ(ReadTestFile(dir_ + "/server.key"), pki.key_pem);

  EXPECT_EQ(pki.server_name, "cairn-server");
  ASSERT_OK_AND_ASSIGN(std::string fingerprint, CertificateFingerprint(pki.ca_cert_pem));
  EXPECT_EQ(pki.ca_fingerprint, fingerprint);
  EXPECT_THAT(pki.ca_fingerprint, StartsWith("sha256:"));
  ASSERT_OK_AND_ASSIGN(CertificateInfo ca, ReadCertificate(pki.ca_cert_pem));
  EXPECT_TRUE(ca.is_ca);
  EXPECT_OK(CheckKeyMatches(pki.ca_key_pem, pki.ca_cert_pem));

  // The chain: the server's certificate, for its name, then the CA's.
  std::vector<std::string> chain = SplitPemCertificates(pki.cert_chain_pem);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[1], SplitPemCertificates(pki.ca_cert_pem).at(0));
  ASSERT_OK_AND_ASSIGN(CertificateInfo server, ReadCertificate(chain[0]));
  EXPECT_FALSE(server.is_ca);
  EXPECT_EQ(server.common_name, "cairn-server");
  EXPECT_OK(VerifyCertificate(chain[0], pki.ca_cert_pem, absl::Now()));
  EXPECT_OK(CheckKeyMatches(pki.key_pem, chain[0]));
  // Valid about two years.
  EXPECT_GT(server.not_after, absl::Now() + 700 * kDay);
  EXPECT_LT(server.not_after, absl::Now() + 740 * kDay);
}

TEST_F(ServerPkiTest, SecondCallLoadsTheSameCaAndCertificate) {
  ASSERT_OK_AND_ASSIGN(ServerPki first, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  ASSERT_OK_AND_ASSIGN(ServerPki second, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  EXPECT_EQ(second.ca_fingerprint, first.ca_fingerprint);
  EXPECT_EQ(second.ca_key_pem, first.ca_key_pem);
  EXPECT_EQ(second.cert_chain_pem, first.cert_chain_pem);
  EXPECT_EQ(second.key_pem, first.key_pem);
}

TEST_F(ServerPkiTest, ServerCertificateIsMadeAgainWhenUnder30DaysRemain) {
  ASSERT_OK_AND_ASSIGN(ServerPki first, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  ASSERT_OK_AND_ASSIGN(CertificateInfo cert,
                       ReadCertificate(SplitPemCertificates(first.cert_chain_pem).at(0)));
  // 31 days before its end: kept.
  ASSERT_OK_AND_ASSIGN(ServerPki kept,
                       LoadOrCreateServerPki(dir_, v1::TlsConfig(), cert.not_after - 31 * kDay));
  EXPECT_EQ(kept.cert_chain_pem, first.cert_chain_pem);
  EXPECT_EQ(kept.key_pem, first.key_pem);
  // 29 days before: a new key and certificate, under the same CA.
  ASSERT_OK_AND_ASSIGN(ServerPki renewed,
                       LoadOrCreateServerPki(dir_, v1::TlsConfig(), cert.not_after - 29 * kDay));
  EXPECT_NE(renewed.cert_chain_pem, first.cert_chain_pem);
  EXPECT_NE(renewed.key_pem, first.key_pem);
  EXPECT_EQ(renewed.ca_fingerprint, first.ca_fingerprint);
  EXPECT_EQ(ReadTestFile(dir_ + "/server.key"), renewed.key_pem);
  EXPECT_EQ(FileModeOf(dir_ + "/server.key"), 0600);
  EXPECT_OK(CheckKeyMatches(renewed.key_pem, SplitPemCertificates(renewed.cert_chain_pem).at(0)));
}

TEST_F(ServerPkiTest, ANewServerNameGetsANewCertificate) {
  ASSERT_OK_AND_ASSIGN(ServerPki first, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  v1::TlsConfig tls;
  tls.set_server_name("backup.example.com");
  ASSERT_OK_AND_ASSIGN(ServerPki named, LoadOrCreateServerPki(dir_, tls));
  EXPECT_EQ(named.server_name, "backup.example.com");
  EXPECT_EQ(named.ca_fingerprint, first.ca_fingerprint);
  ASSERT_OK_AND_ASSIGN(CertificateInfo cert,
                       ReadCertificate(SplitPemCertificates(named.cert_chain_pem).at(0)));
  EXPECT_EQ(cert.common_name, "backup.example.com");
}

TEST_F(ServerPkiTest, DamagedCaCertificateIsRefusedNamingTheFile) {
  ASSERT_OK(LoadOrCreateServerPki(dir_, v1::TlsConfig()).status());
  ASSERT_OK(WriteFileAtomically(dir_ + "/ca.crt", "-----BEGIN CERTIFICATE-----\ngarbage\n", 0644));
  absl::StatusOr<ServerPki> pki = LoadOrCreateServerPki(dir_, v1::TlsConfig());
  ASSERT_FALSE(pki.ok());
  EXPECT_THAT(pki.status().message(), HasSubstr(dir_ + "/ca.crt")) << pki.status();
  EXPECT_EQ(ReadTestFile(dir_ + "/ca.crt"), "-----BEGIN CERTIFICATE-----\ngarbage\n")
      << "a damaged CA must never be replaced: that would lock out every agent";
}

TEST_F(ServerPkiTest, DamagedCaKeyIsRefusedNamingTheFile) {
  ASSERT_OK(LoadOrCreateServerPki(dir_, v1::TlsConfig()).status());
  ASSERT_OK(WriteFileAtomically(dir_ + "/ca.key", "not a key", 0600));
  absl::StatusOr<ServerPki> pki = LoadOrCreateServerPki(dir_, v1::TlsConfig());
  ASSERT_FALSE(pki.ok());
  EXPECT_THAT(pki.status().message(), HasSubstr(dir_ + "/ca.key")) << pki.status();
}

TEST_F(ServerPkiTest, OverSizedCaFileIsRefusedNamingTheFile) {
  ASSERT_OK(LoadOrCreateServerPki(dir_, v1::TlsConfig()).status());
  ASSERT_OK(WriteFileAtomically(dir_ + "/ca.crt", std::string(1 << 20, 'A'), 0644));
  absl::StatusOr<ServerPki> pki = LoadOrCreateServerPki(dir_, v1::TlsConfig());
  ASSERT_FALSE(pki.ok());
  EXPECT_THAT(pki.status().message(), HasSubstr(dir_ + "/ca.crt")) << pki.status();
}

TEST_F(ServerPkiTest, HalfACaIsRefusedNotReplaced) {
  ASSERT_OK(LoadOrCreateServerPki(dir_, v1::TlsConfig()).status());
  ASSERT_EQ(::unlink((dir_ + "/ca.crt").c_str()), 0);
  absl::StatusOr<ServerPki> no_cert = LoadOrCreateServerPki(dir_, v1::TlsConfig());
  EXPECT_EQ(no_cert.status().code(), absl::StatusCode::kFailedPrecondition) << no_cert.status();
  EXPECT_THAT(no_cert.status().message(), HasSubstr(dir_ + "/ca.crt"));
  EXPECT_EQ(FileModeOf(dir_ + "/ca.crt"), -1);

  const std::string other = NewTempDir("pki_half") + "/tls";
  ASSERT_OK(LoadOrCreateServerPki(other, v1::TlsConfig()).status());
  ASSERT_EQ(::unlink((other + "/ca.key").c_str()), 0);
  absl::StatusOr<ServerPki> no_key = LoadOrCreateServerPki(other, v1::TlsConfig());
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kFailedPrecondition) << no_key.status();
  EXPECT_THAT(no_key.status().message(), HasSubstr(other + "/ca.key"));
  RemoveTestDirUnlessFailed(other.substr(0, other.rfind('/')));
}

TEST_F(ServerPkiTest, ACertificateThatIsNoCaIsRefusedAsTheCa) {
  ASSERT_OK_AND_ASSIGN(ServerPki pki, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  ASSERT_OK(WriteFileAtomically(dir_ + "/ca.crt", ReadTestFile(dir_ + "/server.crt"), 0644));
  absl::StatusOr<ServerPki> again = LoadOrCreateServerPki(dir_, v1::TlsConfig());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr(dir_ + "/ca.crt is not a CA certificate"));
}

TEST_F(ServerPkiTest, DamagedOwnServerCertificateIsMadeAgain) {
  ASSERT_OK_AND_ASSIGN(ServerPki first, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  ASSERT_OK(WriteFileAtomically(dir_ + "/server.crt", "garbage", 0644));
  ASSERT_OK_AND_ASSIGN(ServerPki again, LoadOrCreateServerPki(dir_, v1::TlsConfig()));
  EXPECT_EQ(again.ca_fingerprint, first.ca_fingerprint);
  EXPECT_OK(VerifyCertificate(SplitPemCertificates(again.cert_chain_pem).at(0), again.ca_cert_pem,
                              absl::Now()));
}

// An operator's PKI: made by a first call in a directory of its own.
class OperatorPkiTest : public ServerPkiTest {
 protected:
  void SetUp() override {
    ServerPkiTest::SetUp();
    op_dir_ = NewTempDir("pki_operator") + "/tls";
    ASSERT_OK_AND_ASSIGN(op_, LoadOrCreateServerPki(op_dir_, v1::TlsConfig()));
  }
  void TearDown() override {
    RemoveTestDirUnlessFailed(op_dir_.substr(0, op_dir_.rfind('/')));
    ServerPkiTest::TearDown();
  }
  v1::TlsConfig AllFiles() const {
    v1::TlsConfig tls;
    tls.set_ca_cert_file(op_dir_ + "/ca.crt");
    tls.set_ca_key_file(op_dir_ + "/ca.key");
    tls.set_cert_file(op_dir_ + "/server.crt");
    tls.set_key_file(op_dir_ + "/server.key");
    return tls;
  }

  std::string op_dir_;
  ServerPki op_;
};

TEST_F(OperatorPkiTest, TheOperatorsFilesAreUsedAndNothingIsMade) {
  ASSERT_OK_AND_ASSIGN(ServerPki pki, LoadOrCreateServerPki(dir_, AllFiles()));
  EXPECT_EQ(pki.ca_fingerprint, op_.ca_fingerprint);
  EXPECT_EQ(pki.ca_key_pem, op_.ca_key_pem);
  EXPECT_EQ(pki.key_pem, op_.key_pem);
  EXPECT_EQ(pki.cert_chain_pem, op_.cert_chain_pem);
  for (const char* name : {"/ca.crt", "/ca.key", "/server.crt", "/server.key"}) {
    EXPECT_EQ(FileModeOf(dir_ + name), -1) << name << " made despite the operator's files";
  }
}

TEST_F(OperatorPkiTest, TheOperatorsCaSignsAServerCertificateMadeHere) {
  v1::TlsConfig tls = AllFiles();
  tls.clear_cert_file();
  tls.clear_key_file();
  ASSERT_OK_AND_ASSIGN(ServerPki pki, LoadOrCreateServerPki(dir_, tls));
  EXPECT_EQ(pki.ca_fingerprint, op_.ca_fingerprint);
  EXPECT_EQ(FileModeOf(dir_ + "/server.key"), 0600);
  EXPECT_EQ(FileModeOf(dir_ + "/ca.crt"), -1);
  EXPECT_OK(VerifyCertificate(SplitPemCertificates(pki.cert_chain_pem).at(0), op_.ca_cert_pem,
                              absl::Now()));
}

TEST_F(OperatorPkiTest, AnOperatorsCaWithoutItsKeyIsRefused) {
  v1::TlsConfig tls = AllFiles();
  tls.clear_ca_key_file();
  absl::StatusOr<ServerPki> pki = LoadOrCreateServerPki(dir_, tls);
  EXPECT_EQ(pki.status().code(), absl::StatusCode::kFailedPrecondition) << pki.status();
  EXPECT_THAT(pki.status().message(), HasSubstr(dir_ + "/ca.key"));
  EXPECT_THAT(pki.status().message(), HasSubstr("tls.ca_key_file"));
  EXPECT_EQ(FileModeOf(dir_ + "/ca.key"), -1) << "made a CA key for someone else's CA";
}

TEST_F(OperatorPkiTest, AServerCertificateOfAnotherCaIsRefused) {
  const std::string stranger = NewTempDir("pki_stranger") + "/tls";
  ASSERT_OK(LoadOrCreateServerPki(stranger, v1::TlsConfig()).status());
  v1::TlsConfig tls = AllFiles();
  tls.set_cert_file(stranger + "/server.crt");
  tls.set_key_file(stranger + "/server.key");
  absl::StatusOr<ServerPki> pki = LoadOrCreateServerPki(dir_, tls);
  ASSERT_FALSE(pki.ok());
  EXPECT_THAT(pki.status().message(), HasSubstr(stranger + "/server.crt"));
  RemoveTestDirUnlessFailed(stranger.substr(0, stranger.rfind('/')));
}

TEST_F(OperatorPkiTest, AKeyThatIsNotTheCertificatesIsRefusedNamingBoth) {
  v1::TlsConfig tls = AllFiles();
  tls.set_key_file(op_dir_ + "/ca.key");
  absl::StatusOr<ServerPki> pki = LoadOrCreateServerPki(dir_, tls);
  ASSERT_FALSE(pki.ok());
  EXPECT_THAT(pki.status().message(), HasSubstr(op_dir_ + "/ca.key"));
  EXPECT_THAT(pki.status().message(), HasSubstr(op_dir_ + "/server.crt"));
}

}  // namespace
}  // namespace cairn

// The client side of cairn's TLS (common/client_tls): credentials files are
// written 0600 in one rename and read back only when private to their owner
// and complete; an enrolling agent's CA fetch from a real CairnServer is
// accepted for the pinned fingerprint and PermissionDenied for any other; a
// channel that trusts another CA, or expects another server name, reaches
// nothing, and a client certificate of another CA is refused by the server.
#include "common/client_tls.h"

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "cairn/v1/security.grpc.pb.h"
#include "common/status_macros.h"
#include "common/text_config.h"
#include "common/x509.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/tier_test_dir.h"
#include "tests/server/tls_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A CA of its own and a client certificate it signed: credentials no server knows.
struct Pki {
  std::string ca_key, ca, key, cert;
};
absl::StatusOr<Pki> NewPki(absl::string_view name) {
  Pki p;
  ASSIGN_OR_RETURN(p.ca_key, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(p.ca, SelfSignedCaPem(p.ca_key, absl::StrCat(name, " CA"), absl::Hours(2)));
  ASSIGN_OR_RETURN(p.key, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr, MakeCsrPem(p.key));
  ASSIGN_OR_RETURN(p.cert, SignCsr(p.ca, p.ca_key, csr, {.common_name = std::string(name)}));
  return p;
}

class CredentialsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("credentials");
    path_ = dir_ + "/agent.credentials";
    ASSERT_OK_AND_ASSIGN(Pki pki, NewPki("a1"));
    credentials_.set_server("127.0.0.1:7420");
    credentials_.set_server_name("cairn-server");
    credentials_.set_ca_cert_pem(pki.ca);
    credentials_.set_cert_pem(pki.cert);
    credentials_.set_key_pem(pki.key);
    credentials_.set_name("a1");
    credentials_.set_tenant("t1");
  }
  void TearDown() override { RemoveTestDirUnlessFailed(dir_); }

  std::string dir_;
  std::string path_;
  v1::ClientCredentials credentials_;
};

TEST_F(CredentialsFileTest, WrittenPrivateAndReadBack) {
  ASSERT_OK(WriteCredentialsFile(path_, credentials_));
  EXPECT_EQ(ModeOf(path_), 0600u);
  ASSERT_OK_AND_ASSIGN(v1::ClientCredentials read, ReadCredentialsFile(path_));
  EXPECT_TRUE(MessageDifferencer::Equals(read, credentials_)) << read.DebugString();
}

TEST_F(CredentialsFileTest, WriteReplacesAWiderFileInOneRename) {
  WriteRaw(path_, "old contents");
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  ASSERT_OK(WriteCredentialsFile(path_, credentials_));
  EXPECT_EQ(ModeOf(path_), 0600u);
  EXPECT_THAT(RawDirListing(dir_), ElementsAre("agent.credentials"));  // no temp file left
  ASSERT_OK_AND_ASSIGN(v1::ClientCredentials read, ReadCredentialsFile(path_));
  EXPECT_EQ(read.name(), "a1");
}

TEST_F(CredentialsFileTest, WriteIntoAMissingDirectoryFailsAndLeavesNothing) {
  EXPECT_FALSE(WriteCredentialsFile(dir_ + "/missing/agent.credentials", credentials_).ok());
  EXPECT_THAT(RawDirListing(dir_), IsEmpty());
}

TEST_F(CredentialsFileTest, ReadableByGroupOrOthersIsRefused) {
  ASSERT_OK(WriteCredentialsFile(path_, credentials_));
  for (mode_t mode : {0640, 0604, 0644, 0660, 0620, 0602, 0601, 0610, 0700 | 0044}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    absl::Status status = ReadCredentialsFile(path_).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(status.message(), HasSubstr("chmod 600"));
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0400), 0);
  EXPECT_OK(ReadCredentialsFile(path_).status());
}

TEST_F(CredentialsFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadCredentialsFile(path_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CredentialsFileTest, EachMissingPartIsRefused) {
  using Clear = void (v1::ClientCredentials::*)();
  for (Clear clear :
       {&v1::ClientCredentials::clear_server_name, &v1::ClientCredentials::clear_ca_cert_pem,
        &v1::ClientCredentials::clear_cert_pem, &v1::ClientCredentials::clear_key_pem}) {
    v1::ClientCredentials partial = credentials_;
    (partial.*clear)();
    ASSERT_OK(WriteCredentialsFile(path_, partial));
    absl::Status status = ReadCredentialsFile(path_).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("not a complete credentials file"));
  }
}

TEST_F(CredentialsFileTest, KeyOfAnotherCertificateIsRefused) {
  ASSERT_OK_AND_ASSIGN(Pki other, NewPki("a2"));
  credentials_.set_key_pem(other.key);
  ASSERT_OK(WriteCredentialsFile(path_, credentials_));
  absl::Status status = ReadCredentialsFile(path_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(path_));
}

TEST_F(CredentialsFileTest, GarbageAndOverSizeFilesAreRefused) {
  for (const std::string& bytes :
       {std::string("server_name: "), std::string("no_such_field: 1"), std::string("\xff\xfe"),
        absl::StrCat(PrintTextConfig(credentials_), "\n#", std::string(64 << 10, 'x'))}) {
    WriteRaw(path_, bytes);
    ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
    absl::Status status = ReadCredentialsFile(path_).status();
    EXPECT_FALSE(status.ok()) << bytes.substr(0, 40);
  }
}

class ClientTlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = FreshTestDir("client_tls");
    v1::ServerConfig config;
    config.set_listen("127.0.0.1:0");
    config.set_state_dir(state_dir_);
    ASSERT_OK_AND_ASSIGN(server_, CairnServer::Start(config));
  }
  void TearDown() override {
    server_.reset();
    RemoveTestDirUnlessFailed(state_dir_);
  }

  // EnrollService.GetCaCertificate over a channel built from `credentials`.
  grpc::Status GetCa(const v1::ClientCredentials& credentials) {
    auto stub = v1::EnrollService::NewStub(
        NewClientChannel(AddressOf(*server_), credentials, CairnChannelArguments()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::GetCaCertificateResponse response;
    return stub->GetCaCertificate(&context, v1::GetCaCertificateRequest(), &response);
  }
  // AdminService.ListAgents presenting `credentials`.
  grpc::Status ListAgents(const v1::ClientCredentials& credentials) {
    auto stub = v1::AdminService::NewStub(
        NewClientChannel(AddressOf(*server_), credentials, CairnChannelArguments()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::ListAgentsResponse response;
    return stub->ListAgents(&context, v1::ListAgentsRequest(), &response);
  }

  std::string state_dir_;
  std::unique_ptr<CairnServer> server_;
};

TEST_F(ClientTlsServerTest, FetchAcceptsThePinnedCa) {
  ASSERT_OK_AND_ASSIGN(v1::GetCaCertificateResponse ca,
                       FetchPinnedCaCertificate(AddressOf(*server_), server_->ca_fingerprint()));
  ASSERT_OK_AND_ASSIGN(std::string fingerprint, CertificateFingerprint(ca.ca_cert_pem()));
  EXPECT_EQ(fingerprint, server_->ca_fingerprint());
  EXPECT_EQ(ca.server_name(), AnonymousCredentials(*server_).server_name());
  EXPECT_FALSE(ca.server_name().empty());
}

TEST_F(ClientTlsServerTest, FetchRefusesAnyOtherFingerprint) {
  std::string wrong = server_->ca_fingerprint();
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  ASSERT_OK_AND_ASSIGN(Pki other, NewPki("other"));
  ASSERT_OK_AND_ASSIGN(std::string other_fp, CertificateFingerprint(other.ca));
  for (const std::string& pinned : {wrong, other_fp, std::string(), std::string("sha256:")}) {
    absl::StatusOr<v1::GetCaCertificateResponse> fetched =
        FetchPinnedCaCertificate(AddressOf(*server_), pinned);
    EXPECT_EQ(fetched.status().code(), absl::StatusCode::kPermissionDenied) << fetched.status();
    EXPECT_THAT(fetched.status().message(), HasSubstr(server_->ca_fingerprint()));
    EXPECT_THAT(fetched.status().message(), HasSubstr("not the server the token was made for"));
  }
}

TEST_F(ClientTlsServerTest, ChannelTrustingAnotherCaReachesNothing) {
  v1::ClientCredentials right = AnonymousCredentials(*server_);
  ASSERT_FALSE(right.ca_cert_pem().empty());
  grpc::Status ok = GetCa(right);
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  ASSERT_OK_AND_ASSIGN(Pki other, NewPki("other"));
  v1::ClientCredentials wrong_ca = right;
  wrong_ca.set_ca_cert_pem(other.ca);
  EXPECT_EQ(GetCa(wrong_ca).error_code(), grpc::StatusCode::UNAVAILABLE);

  v1::ClientCredentials wrong_name = right;
  wrong_name.set_server_name("not-cairn-server");
  EXPECT_EQ(GetCa(wrong_name).error_code(), grpc::StatusCode::UNAVAILABLE);

  // An admin's own certificate does not help a channel that trusts another CA.
  ASSERT_OK_AND_ASSIGN(v1::ClientCredentials admin, AdminCredentials(*server_, v1::ROLE_ADMIN));
  grpc::Status listed = ListAgents(admin);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
  admin.set_ca_cert_pem(other.ca);
  EXPECT_EQ(ListAgents(admin).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ClientTlsServerTest, ClientCertificateOfAnotherCaIsRefused) {
  ASSERT_OK_AND_ASSIGN(Pki other, NewPki("intruder"));
  v1::ClientCredentials intruder = AnonymousCredentials(*server_);
  intruder.set_cert_pem(other.cert);
  intruder.set_key_pem(other.key);
  grpc::Status status = ListAgents(intruder);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
}

}  // namespace
}  // namespace cairn

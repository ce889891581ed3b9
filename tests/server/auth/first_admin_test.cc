// EnsureFirstAdmin and LocalDialAddress: a server without a live admin
// credential writes STATE_DIR/admin.credentials (mode 0600) once, with a
// credential that calls the server over TLS; it never overwrites a file
// there and writes none while an admin credential is live; a wildcard listen
// address is dialled as 127.0.0.1.
#include "server/auth/first_admin.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>

#include "cairn/v1/admin.grpc.pb.h"
#include "common/file_util.h"
#include "common/text_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/auth/access_service_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

TEST(FirstAdminServerTest, TheServerWritesAWorkingCredentialOnceOnly) {
  const std::string state = NewTempDir("first_admin");
  const std::string path = state + "/admin.credentials";
  v1::ServerConfig config;
  config.set_listen("127.0.0.1:0");
  config.set_state_dir(state);
  std::string written;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CairnServer> server, CairnServer::Start(config));
    EXPECT_EQ(server->admin_credentials_written(), path);
    EXPECT_EQ(FileModeOf(path), 0600);
    v1::ClientCredentials credentials;
    ASSERT_OK(LoadTextConfig(path, &credentials));
    EXPECT_EQ(credentials.name(), "admin");
    EXPECT_EQ(credentials.role(), v1::ROLE_ADMIN);
    EXPECT_EQ(credentials.server(), AddressOf(*server));
    EXPECT_FALSE(credentials.key_pem().empty());
    // It calls the server, as an admin.
    auto stub = v1::AdminService::NewStub(TestChannel(*server, credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::GetStatusResponse status;
    grpc::Status rpc = stub->GetStatus(&context, v1::GetStatusRequest(), &status);
    EXPECT_TRUE(rpc.ok()) << rpc.error_code() << ": " << rpc.error_message();
    written = ReadTestFile(path);
  }
  // A second start finds the live admin and the file, and leaves both.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CairnServer> again, CairnServer::Start(config));
  EXPECT_EQ(again->admin_credentials_written(), "");
  EXPECT_EQ(ReadTestFile(path), written);
  again.reset();
  RemoveTestDirUnlessFailed(state);
}

class FirstAdminTest : public AccessServiceTest {
 protected:
  void SetUp() override {
    AccessServiceTest::SetUp();
    dir_ = NewTempDir("first_admin_file");
    path_ = dir_ + "/admin.credentials";
  }
  void TearDown() override {
    RemoveTestDirUnlessFailed(dir_);
    AccessServiceTest::TearDown();
  }
  std::string dir_, path_;
};

TEST_F(FirstAdminTest, WritesOnceAndNeverOverwrites) {
  ASSERT_OK_AND_ASSIGN(std::string written, EnsureFirstAdmin(access(), path_, "10.0.0.1:7420"));
  EXPECT_EQ(written, path_);
  EXPECT_EQ(FileModeOf(path_), 0600);
  const std::string first = ReadTestFile(path_);
  v1::ClientCredentials credentials;
  ASSERT_OK(LoadTextConfig(path_, &credentials));
  EXPECT_EQ(credentials.server(), "10.0.0.1:7420");
  EXPECT_EQ(credentials.ca_cert_pem(), pki_->ca_cert_pem);
  EXPECT_EQ(credentials.server_name(), "cairn-server");
  ASSERT_OK_AND_ASSIGN(Caller caller,
                       repo_->core->authenticator().Identify(credentials.cert_pem()));
  EXPECT_EQ(caller.kind, Caller::Kind::kAdmin);
  EXPECT_EQ(caller.role, Role::kAdmin);

  ASSERT_OK_AND_ASSIGN(std::string second, EnsureFirstAdmin(access(), path_, "10.0.0.1:7420"));
  EXPECT_EQ(second, "");
  EXPECT_EQ(ReadTestFile(path_), first);
  // Gone from disk, but the admin is live: nothing new is minted.
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_OK_AND_ASSIGN(std::string third, EnsureFirstAdmin(access(), path_, "10.0.0.1:7420"));
  EXPECT_EQ(third, "");
  EXPECT_EQ(FileModeOf(path_), -1);
  EXPECT_EQ(Rows("certificates"), 1);
}

TEST_F(FirstAdminTest, AFileAlreadyThereIsLeftAlone) {
  ASSERT_OK(WriteFileAtomically(path_, "the operator's own", 0640));
  ASSERT_OK_AND_ASSIGN(std::string written, EnsureFirstAdmin(access(), path_, "h:1"));
  EXPECT_EQ(written, "");
  EXPECT_EQ(ReadTestFile(path_), "the operator's own");
  EXPECT_EQ(Rows("certificates"), 0);
}

// A credential whose file cannot be written is withdrawn: otherwise the
// next start would see a live admin nobody holds and write none.
TEST_F(FirstAdminTest, ACredentialThatCouldNotBeWrittenIsWithdrawn) {
  const std::string unwritable = dir_ + "/no-such-dir/admin.credentials";
  EXPECT_FALSE(EnsureFirstAdmin(access(), unwritable, "h:1").ok());
  ASSERT_OK_AND_ASSIGN(bool live, access().HasLiveAdmin());
  EXPECT_FALSE(live);
  ASSERT_OK_AND_ASSIGN(std::string written, EnsureFirstAdmin(access(), path_, "h:1"));
  EXPECT_EQ(written, path_);
  ASSERT_OK_AND_ASSIGN(live, access().HasLiveAdmin());
  EXPECT_TRUE(live);
}

TEST_F(FirstAdminTest, ALiveAdminMeansNoFile) {
  AdminCertificate("alice", v1::ROLE_ADMIN);
  ASSERT_OK_AND_ASSIGN(std::string written, EnsureFirstAdmin(access(), path_, "h:1"));
  EXPECT_EQ(written, "");
  EXPECT_EQ(FileModeOf(path_), -1);
  // An operator credential is no admin: the first admin is still made.
  clock_.Advance(absl::Hours(25));  // alice expired
  AdminCertificate("olga", v1::ROLE_OPERATOR);
  ASSERT_OK_AND_ASSIGN(written, EnsureFirstAdmin(access(), path_, "h:1"));
  EXPECT_EQ(written, path_);
}

TEST(LocalDialAddressTest, WildcardsBecomeLoopback) {
  EXPECT_EQ(LocalDialAddress("0.0.0.0:7420", 7420), "127.0.0.1:7420");
  EXPECT_EQ(LocalDialAddress("[::]:0", 5555), "127.0.0.1:5555");
  EXPECT_EQ(LocalDialAddress(":7420", 7420), "127.0.0.1:7420");
  EXPECT_EQ(LocalDialAddress("10.1.2.3:0", 4000), "10.1.2.3:4000");
  EXPECT_EQ(LocalDialAddress("[::1]:7420", 7420), "[::1]:7420");
  EXPECT_EQ(LocalDialAddress("backup.example:7420", 7421), "backup.example:7421");
  EXPECT_EQ(LocalDialAddress("unix:/run/cairn/tls.sock", 1), "unix:/run/cairn/tls.sock");
}

}  // namespace
}  // namespace cairn

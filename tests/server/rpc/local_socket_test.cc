// The server's optional local socket (ServerConfig.local_socket): it is made
// owner-only; a caller on it without metadata is the admin "local" and needs
// no certificate; with cairn-agent/cairn-tenant metadata it is that agent
// (which still proves the tenant key at Hello), and a malformed name is
// refused; the TCP port keeps refusing callers without a certificate; and
// a socket file a dead server left behind does not stop a restart. And the
// TLS port itself may be a Unix socket ("unix:PATH"), which is no local socket.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "cairn/v1/admin.grpc.pb.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "common/client_tls.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/rpc/rpc_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"

namespace cairn {
namespace {

class LocalSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("local_socket");
    socket_ = dir_ + "/cairn.sock";
    Start();
  }
  void TearDown() override {
    server_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }
  void Start() {
    v1::ServerConfig config;
    config.set_listen("127.0.0.1:0");
    config.set_state_dir(dir_);
    config.set_local_socket(socket_);
    ASSERT_OK_AND_ASSIGN(server_, CairnServer::Start(config));
  }
  // A channel on the socket, naming `agent` of `tenant` unless empty.
  std::shared_ptr<grpc::Channel> Local(const std::string& agent = "",
                                       const std::string& tenant = "") {
    v1::ClientCredentials as;
    as.set_name(agent);
    as.set_tenant(tenant);
    return NewClientChannel("local:" + socket_, as);
  }

  std::string dir_;
  std::string socket_;
  std::unique_ptr<CairnServer> server_;
};

TEST_F(LocalSocketTest, TheSocketIsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LocalSocketTest, ACallerWithoutMetadataIsTheLocalAdmin) {
  auto admin = v1::AdminService::NewStub(Local());
  grpc::ClientContext context;
  v1::GetStatusResponse status;
  grpc::Status got = admin->GetStatus(&context, v1::GetStatusRequest(), &status);
  ASSERT_TRUE(got.ok()) << Describe(got);
  EXPECT_FALSE(status.version().empty());

  // The same call on the TCP port, without a certificate: refused.
  auto anonymous = v1::AdminService::NewStub(TestChannel(*server_, AnonymousCredentials(*server_)));
  grpc::ClientContext tcp;
  got = anonymous->GetStatus(&tcp, v1::GetStatusRequest(), &status);
  EXPECT_EQ(got.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(got);
}

TEST_F(LocalSocketTest, MetadataNamesTheAgentWhichStillProvesTheKey) {
  auto agent = v1::AgentService::NewStub(Local("gpu-1", "t1"));
  v1::HelloRequest hello;
  hello.set_agent("gpu-1");
  hello.set_tenant("t1");
  hello.set_key_check(TestKeyCheck("t1"));
  {
    grpc::ClientContext context;
    v1::HelloResponse response;
    grpc::Status got = agent->Hello(&context, hello, &response);
    ASSERT_TRUE(got.ok()) << Describe(got);
  }
  {
    // Not as another agent.
    v1::HelloRequest other = hello;
    other.set_agent("gpu-2");
    grpc::ClientContext context;
    v1::HelloResponse response;
    grpc::Status got = agent->Hello(&context, other, &response);
    EXPECT_EQ(got.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(got);
  }
  {
    // Not with another key for the tenant.
    v1::HelloRequest wrong = hello;
    wrong.set_key_check(TestKeyCheck("another tenant's key"));
    grpc::ClientContext context;
    v1::HelloResponse response;
    grpc::Status got = agent->Hello(&context, wrong, &response);
    EXPECT_EQ(got.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(got);
    EXPECT_NE(got.error_message().find("not tenant t1's key"), std::string::npos) << Describe(got);
  }
  {
    // An agent is not an admin, on the socket either.
    auto as_admin = v1::AdminService::NewStub(Local("gpu-1", "t1"));
    grpc::ClientContext context;
    v1::PruneResponse response;
    grpc::Status got = as_admin->Prune(&context, v1::PruneRequest(), &response);
    EXPECT_EQ(got.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(got);
  }
}

TEST_F(LocalSocketTest, AMalformedAgentNameIsUnauthenticated) {
  auto agent = v1::AgentService::NewStub(Local("bad name/..", "t1"));
  grpc::ClientContext context;
  v1::HelloRequest hello;
  hello.set_agent("bad name/..");
  hello.set_tenant("t1");
  v1::HelloResponse response;
  grpc::Status got = agent->Hello(&context, hello, &response);
  EXPECT_EQ(got.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(got);
}

TEST_F(LocalSocketTest, ASocketLeftByADeadServerDoesNotStopARestart) {
  // A killed server leaves its socket file (a clean shutdown removes it).
  server_.reset();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(socket_.size(), sizeof(addr.sun_path));
  socket_.copy(addr.sun_path, socket_.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  struct stat st;
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  ASSERT_TRUE(S_ISSOCK(st.st_mode));
  Start();
  auto admin = v1::AdminService::NewStub(Local());
  grpc::ClientContext context;
  v1::GetStatusResponse status;
  grpc::Status got = admin->GetStatus(&context, v1::GetStatusRequest(), &status);
  EXPECT_TRUE(got.ok()) << Describe(got);
}

// `listen` may be a Unix socket too: TLS and certificates as on a TCP port.
TEST(UnixListenTest, TheTlsPortCanBeAUnixSocket) {
  const std::string dir = FreshTestDir("unix_listen");
  v1::ServerConfig config;
  config.set_listen("unix:" + dir + "/tls.sock");
  config.set_state_dir(dir + "/state");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CairnServer> server, CairnServer::Start(config));
  ASSERT_OK_AND_ASSIGN(v1::ClientCredentials admin, AdminCredentials(*server, v1::ROLE_ADMIN));
  {
    auto stub = v1::AdminService::NewStub(NewClientChannel(config.listen(), admin));
    grpc::ClientContext context;
    v1::GetStatusResponse status;
    grpc::Status got = stub->GetStatus(&context, v1::GetStatusRequest(), &status);
    EXPECT_TRUE(got.ok()) << Describe(got);
  }
  {
    // Without a certificate: refused, as on TCP (it is no local socket).
    v1::ClientCredentials anonymous = admin;
    anonymous.clear_cert_pem();
    anonymous.clear_key_pem();
    auto stub = v1::AdminService::NewStub(NewClientChannel(config.listen(), anonymous));
    grpc::ClientContext context;
    v1::GetStatusResponse status;
    grpc::Status got = stub->GetStatus(&context, v1::GetStatusRequest(), &status);
    EXPECT_EQ(got.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(got);
  }
  // The first admin credential names the socket as the server's address.
  ASSERT_OK_AND_ASSIGN(v1::ClientCredentials first,
                       ReadCredentialsFile(dir + "/state/admin.credentials"));
  EXPECT_EQ(first.server(), config.listen());
  server.reset();
  RemoveTestDirUnlessFailed(dir);
}

}  // namespace
}  // namespace cairn

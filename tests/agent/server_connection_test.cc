// ServerConnection::Call on loopback: against an address where nothing
// listens it retries UNAVAILABLE and gives up once give_up_after has passed;
// a server that comes up while it retries is reached (the first attempt is
// seen failing first); a non-transient error is returned without retrying
// (a retry would wait out an hour); and a call that succeeds returns its
// response. The agent's TLS identity is what AgentTestEnv enrolled; the
// retry tests need none (nothing answers, or the answer is a refusal).
#include "agent/server_connection.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/agent_identity.h"
#include "common/x509.h"
#include "gtest/gtest.h"
#include "server/auth/server_pki.h"
#include "server/server.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

// A TCP socket bound to a free loopback port. Unless it listens, connections
// to the port are refused, and no one else can take the port meanwhile.
class BoundPort {
 public:
  BoundPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    socklen_t len = sizeof(addr);
    ok_ = ok_ && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    port_ = ntohs(addr.sin_port);
  }
  ~BoundPort() { Close(); }
  bool ok() const { return ok_; }
  int fd() const { return fd_; }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool ok_ = false;
};

v1::HelloRequest Hello(const std::string& agent) {
  v1::HelloRequest hello;
  hello.set_agent(agent);
  hello.set_tenant("t1");
  return hello;
}

TEST(ServerConnectionTest, NothingListeningIsRetriedThenGivenUp) {
  BoundPort port;
  ASSERT_TRUE(port.ok());
  ServerConnection connection(port.address(), v1::ClientCredentials());
  // No time to retry: one attempt.
  absl::StatusOr<v1::HelloResponse> once = connection.Call(
      &v1::AgentService::Stub::Hello, Hello("a1"), absl::Seconds(5), absl::ZeroDuration());
  EXPECT_EQ(once.status().code(), absl::StatusCode::kUnavailable) << once.status();

  // A second to retry in: the backoff (100, 200, 400 ms, ...) runs until
  // the next wait would pass the second, then the call gives up.
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::HelloResponse> retried = connection.Call(
      &v1::AgentService::Stub::Hello, Hello("a1"), absl::Seconds(5), absl::Seconds(1));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(retried.status().code(), absl::StatusCode::kUnavailable) << retried.status();
  EXPECT_GE(took, absl::Milliseconds(700)) << "it did not wait between attempts";
}

TEST(ServerConnectionTest, AServerThatComesUpWhileRetryingIsReached) {
  BoundPort port;
  ASSERT_TRUE(port.ok());
  ASSERT_EQ(::listen(port.fd(), 8), 0);
  const std::string state = MakeTestDir("connection_server");
  // The server's CA exists before the server does; the caller trusts it
  // but presents no certificate, so the server's answer is a refusal —
  // which proves it was reached.
  CAIRN_ASSERT_OK_AND_ASSIGN(ServerPki pki, LoadOrCreateServerPki(state + "/tls", {}));
  v1::ClientCredentials anonymous;
  anonymous.set_ca_cert_pem(pki.ca_cert_pem);
  anonymous.set_server_name(pki.server_name);
  absl::StatusOr<v1::HelloResponse> answer;
  std::thread caller([&] {
    ServerConnection connection(port.address(), anonymous);
    // Generous: the server is up well before; a guard, not a timing claim.
    answer = connection.Call(&v1::AgentService::Stub::Hello, Hello("a1"), absl::Seconds(5),
                             absl::Seconds(60));
  });
  // The first attempt reaches this socket, which is no server: it hangs up.
  const int first = ::accept(port.fd(), nullptr, nullptr);
  ASSERT_GE(first, 0);
  ::close(first);
  port.Close();
  // Now a real server on that port.
  v1::ServerConfig config;
  config.set_listen(port.address());
  config.set_state_dir(state);
  absl::StatusOr<std::unique_ptr<CairnServer>> server = CairnServer::Start(config);
  caller.join();
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnauthenticated) << answer.status();
  server->reset();
  RemoveTree(state);
}

class ServerConnectionWithServerTest : public ::testing::Test {
 protected:
  void SetUp() override { CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("connection")); }
  void TearDown() override {
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  std::unique_ptr<AgentTestEnv> env_;
};

TEST_F(ServerConnectionWithServerTest, ANonTransientErrorIsReturnedAtOnce) {
  ServerConnection& connection = *env_->connection();
  // With an hour to retry in, only a call that does not retry returns.
  absl::StatusOr<v1::HelloResponse> bad = connection.Call(
      &v1::AgentService::Stub::Hello, Hello("bad name"), absl::Seconds(30), absl::Hours(1));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  v1::BeginBackupRequest begin;
  begin.set_agent("someone-else");  // not the name its certificate carries
  begin.add_roots("/data");
  absl::StatusOr<v1::BeginBackupResponse> other = connection.Call(
      &v1::AgentService::Stub::BeginBackup, begin, absl::Seconds(30), absl::Hours(1));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied) << other.status();
}

TEST_F(ServerConnectionWithServerTest, ASuccessfulCallReturnsTheResponse) {
  ServerConnection& connection = *env_->connection();
  const AgentIdentity& agent = env_->agent();
  CAIRN_ASSERT_OK_AND_ASSIGN(
      v1::HelloResponse hello,
      connection.Call(&v1::AgentService::Stub::Hello,
                      MakeHello(agent.config, *agent.crypto, /*with_roots=*/false)));
  EXPECT_EQ(hello.max_message_bytes(), static_cast<uint32_t>(32 << 20));
  EXPECT_NE(connection.stub(), nullptr);
}

// The daemon's renewal over real TLS: with a third of its lifetime left,
// RenewIfDue gets a new certificate, keeps it in the credentials file and
// uses it; a connection still holding the old one works until the renewal's
// first call, and is refused from then on, told what happened. The data
// session of the old certificate ends with it; the renewed connection opens
// its own.
TEST_F(ServerConnectionWithServerTest, ARenewalIsUsedAndRetiresTheOldCertificate) {
  const AgentIdentity& agent = env_->agent();
  ServerConnection& connection = *env_->connection();
  v1::ClientCredentials credentials = agent.credentials;
  ServerConnection old(agent.config.server(), agent.credentials);
  CAIRN_ASSERT_OK_AND_ASSIGN(CertificateInfo first, ReadCertificate(credentials.cert_pem()));
  const v1::HelloRequest hello = MakeHello(agent.config, *agent.crypto, /*with_roots=*/false);
  // A data session of the first certificate.
  std::optional<ServerConnection::DataCall> before = connection.StartDataCall();
  ASSERT_TRUE(before.has_value());

  CAIRN_ASSERT_OK_AND_ASSIGN(bool early, RenewIfDue(&connection, agent.config, &credentials,
                                                    first.not_before + absl::Hours(1)));
  EXPECT_FALSE(early) << "two thirds of the lifetime are left";
  CAIRN_ASSERT_OK_AND_ASSIGN(bool renewed, RenewIfDue(&connection, agent.config, &credentials,
                                                      first.not_after - absl::Hours(24)));
  ASSERT_TRUE(renewed);
  CAIRN_ASSERT_OK_AND_ASSIGN(CertificateInfo second, ReadCertificate(credentials.cert_pem()));
  EXPECT_NE(second.serial, first.serial);
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::ClientCredentials on_disk, LoadAgentCredentials(agent.config));
  EXPECT_EQ(on_disk.cert_pem(), credentials.cert_pem()) << "kept in the credentials file";
  // The renewal has not been used yet: the old certificate still works.
  CAIRN_ASSERT_OK(old.Call(&v1::AgentService::Stub::Hello, hello).status());

  CAIRN_ASSERT_OK(connection.Call(&v1::AgentService::Stub::Hello, hello).status());
  absl::StatusOr<v1::HelloResponse> refused =
      old.Call(&v1::AgentService::Stub::Hello, hello, absl::Seconds(30), absl::Seconds(1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  EXPECT_NE(refused.status().message().find("replaced by its renewal"), std::string::npos)
      << refused.status();
  CAIRN_ASSERT_OK(connection.Call(&v1::AgentService::Stub::Hello, hello).status());
  // The data session went with the old certificate: the server refuses it,
  // and the connection opened one of the new certificate's.
  DataSessions& sessions = env_->server()->core()->data_sessions();
  EXPECT_TRUE(
      absl::IsUnauthenticated(sessions.Admit(before->session_hex, before->call + 1).status()));
  std::optional<ServerConnection::DataCall> after = connection.StartDataCall();
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->session_hex, before->session_hex);
  CAIRN_ASSERT_OK(sessions.Admit(after->session_hex, after->call).status());
}

}  // namespace
}  // namespace cairn

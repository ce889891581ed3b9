// The server's HTTPS listener against a real CairnServer (port 0, TLS, its
// own CA): who may read /metrics, what the exposition holds after real
// backups through the agent RPCs, promtool's verdict on it, and hostile
// requests (malformed heads, oversized heads, bodies, silent clients).
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/process_util.h"
#include "tests/server/rpc/rpc_test_util.h"
#include "tests/server/tls_test_util.h"
#include "tests/server/web/https_test_client.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The value of the sample whose line starts with `series` ("name{labels}"),
// or -1 when there is none.
double SampleValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
  }
  return -1;
}

class WebListenerTest : public BrowseTest {
 protected:
  HttpsReply Get(const std::string& path, const v1::ClientCredentials& credentials) {
    return HttpsGet(server_->web_port(), path, credentials);
  }
};

TEST_F(WebListenerTest, MetricsNeedAViewerCredential) {
  ASSERT_GT(server_->web_port(), 0);
  HttpsReply anonymous = Get("/metrics", AnonymousCredentials(*server_));
  EXPECT_EQ(anonymous.status, 401) << anonymous.error;
  EXPECT_THAT(anonymous.body, HasSubstr("--pem-dir"));
  // An agent's certificate is no admin credential.
  HttpsReply agent = Get("/metrics", enrolled_.begin()->second);
  EXPECT_EQ(agent.status, 403) << agent.error;
  EXPECT_THAT(agent.body, HasSubstr("viewer"));
  absl::StatusOr<v1::ClientCredentials> viewer =
      AdminCredentials(*server_, v1::ROLE_VIEWER, "prometheus");
  ASSERT_TRUE(viewer.ok()) << viewer.status();
  HttpsReply ok = Get("/metrics", *viewer);
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_THAT(ok.content_type, StartsWith("text/plain; version=0.0.4"));
  // /healthz is for probes: no certificate.
  HttpsReply health = Get("/healthz", AnonymousCredentials(*server_));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(Get("/nothing", *viewer).status, 404);
}

TEST_F(WebListenerTest, MetricsCountTheBackupsAndPassPromtool) {
  // The catalog totals in /metrics are up to a minute old (they cost a scan
  // of the chunk table); a status call computes them afresh.
  v1::GetStatusResponse status;
  ASSERT_TRUE(admin_->GetStatus(Context().get(), v1::GetStatusRequest(), &status).ok());
  HttpsReply r = Get("/metrics", admin_credentials_);
  ASSERT_EQ(r.status, 200) << r.error;
  const std::string& text = r.body;
  // BrowseTest made two snapshots through the agent RPCs.
  EXPECT_EQ(SampleValue(text, "cairn_jobs_finished_total{kind=\"backup\",result=\"succeeded\"}"),
            2);
  EXPECT_EQ(SampleValue(text, "cairn_snapshots"), 2);
  EXPECT_GE(SampleValue(text,
                        "cairn_rpc_calls_total{method=\"/cairn.v1.AgentService/"
                        "CommitSnapshot\",code=\"OK\"}"),
            2);
  EXPECT_GE(SampleValue(text,
                        "cairn_rpc_duration_seconds_count{method=\"/cairn.v1."
                        "AgentService/CommitSnapshot\"}"),
            2);
  EXPECT_GT(SampleValue(text, "cairn_ingest_received_bytes_total"), 0);
  EXPECT_GT(SampleValue(text, "cairn_ingest_chunks_total{result=\"stored\"}"), 0);
  EXPECT_GT(SampleValue(text, "cairn_catalog_file_bytes"), 0);
  EXPECT_EQ(SampleValue(text, "cairn_tier_up{tier=\"hot\",kind=\"local\"}"), 1);
  const std::string agent = absl::StrCat("{agent=\"", current_agent_, "\",tenant=\"",
                                         enrolled_[current_agent_].tenant(), "\"}");
  EXPECT_GT(SampleValue(text, "cairn_agent_last_backup_timestamp_seconds" + agent), 1.7e9);
  EXPECT_EQ(SampleValue(text, "cairn_agent_rpo_violated" + agent), 0);

  const std::string dir = e2e::NewTestDir("promtool");
  const std::string file = dir + "/metrics.txt";
  std::ofstream(file) << text;
  e2e::CommandResult check =
      e2e::RunCommand({"/bin/sh", "-c", absl::StrCat("promtool check metrics < ", file)});
  EXPECT_EQ(check.exit_code, 0) << check.Describe()
                                << "\n(promtool comes with Debian's prometheus package; "
                                   "make test installs it)";
}

// Every cairn_* metric deploy/'s alert rules and Grafana dashboard use is one
// the server exports (a renamed metric must not leave a silent alert).
TEST_F(WebListenerTest, DeployFilesNameOnlyExportedMetrics) {
  HttpsReply r = Get("/metrics", admin_credentials_);
  ASSERT_EQ(r.status, 200) << r.error;
  std::set<std::string> exported;
  for (absl::string_view line : absl::StrSplit(r.body, '\n')) {
    if (!absl::StartsWith(line, "# TYPE ")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    ASSERT_EQ(parts.size(), 4u) << line;
    exported.insert(parts[2]);
  }
  ASSERT_GT(exported.size(), 30u);
  for (const char* file : {"/prometheus/cairn-alerts.yml", "/grafana/cairn-dashboard.json"}) {
    std::ifstream in(std::string(CAIRN_DEPLOY_DIR) + file);
    ASSERT_TRUE(in.good()) << file;
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::set<std::string> used;
    for (size_t at = text.find("cairn_"); at != std::string::npos; at = text.find("cairn_", at)) {
      size_t end = at;
      while (end < text.size() && (absl::ascii_islower(text[end]) || text[end] == '_')) ++end;
      std::string name = text.substr(at, end - at);
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (absl::EndsWith(name, suffix) && !exported.contains(name)) {
          name.resize(name.size() - strlen(suffix));
        }
      }
      used.insert(name);
      at = end;
    }
    EXPECT_GT(used.size(), 5u) << file;
    for (const std::string& name : used) {
      EXPECT_TRUE(exported.contains(name)) << file << " uses " << name << ", not exported";
    }
  }
}

TEST_F(WebListenerTest, AMethodLabelNeverComesFromTheCaller) {
  // A call to a method no service has is counted as "unknown", not by its name.
  std::shared_ptr<grpc::Channel> channel = TestChannel(*server_, admin_credentials_);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    grpc::Slice slice(std::string("\x0a\x01x"));
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    const grpc::internal::RpcMethod method(absl::StrCat("/made.up.Service/M", i).c_str(),
                                           grpc::internal::RpcMethod::NORMAL_RPC);
    grpc::Status status =
        grpc::internal::BlockingUnaryCall(channel.get(), method, &context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  HttpsReply r = Get("/metrics", admin_credentials_);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_THAT(r.body, Not(HasSubstr("made.up")));
  EXPECT_GE(SampleValue(r.body, "cairn_rpc_calls_total{method=\"unknown\",code=\"UNIMPLEMENTED\"}"),
            3);
}

TEST_F(WebListenerTest, HostileRequestsGetAClearRefusal) {
  const int port = server_->web_port();
  struct Case {
    std::string bytes;
    std::string status;
  } cases[] = {
      {"GET /metrics\r\n\r\n", "400"},
      {"GET metrics HTTP/1.1\r\n\r\n", "400"},
      {"GET /metrics HTTP/2.0\r\n\r\n", "400"},
      {"GET /%zz HTTP/1.1\r\n\r\n", "400"},
      {"GET /a%00b HTTP/1.1\r\n\r\n", "400"},
      {"GET / HTTP/1.1\r\nno-colon\r\n\r\n", "400"},
      {"GET / HTTP/1.1\r\n folded: x\r\n\r\n", "400"},
      {"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "400"},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
      {"POST /metrics HTTP/1.1\r\n\r\n", "405"},
      {absl::StrCat("GET / HTTP/1.1\r\nX: ", std::string(20000, 'a'), "\r\n\r\n"), "431"},
  };
  for (const Case& c : cases) {
    std::string reply = RawTlsExchange(port, c.bytes);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 " + c.status)) << c.bytes.substr(0, 60);
  }
  // Plain HTTP on the TLS port: the handshake fails, the server goes on.
  EXPECT_THAT(RawTcpExchange(port, "GET /metrics HTTP/1.1\r\n\r\n"), Not(HasSubstr("cairn_")));
  EXPECT_EQ(Get("/healthz", AnonymousCredentials(*server_)).status, 200);
}

TEST_F(WebListenerTest, SilentClientsDoNotBlockOthers) {
  // More idle connections than workers, each waiting far longer than the
  // listener's deadline: each holds a worker until that deadline at most, so
  // a request behind them is still answered before curl gives up (30 s).
  std::vector<std::thread> idle;
  for (int i = 0; i < 12; ++i) {
    idle.emplace_back([port = server_->web_port()] {
      RawTlsExchange(port, "GET / HTTP/1.1\r\n", absl::Seconds(30));
    });
  }
  HttpsReply r = Get("/healthz", AnonymousCredentials(*server_));
  EXPECT_EQ(r.status, 200) << r.error;
  for (std::thread& t : idle) t.join();
}

}  // namespace
}  // namespace cairn

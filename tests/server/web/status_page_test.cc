// The status page against a real CairnServer holding two real snapshots:
// one-time login links (CreateWebLogin over gRPC), session cookies, who may
// read the API, and the page as Debian's chromium renders it headless
// (its DOM shows the agent and the jobs; a screenshot is kept as a test
// artifact in CAIRN_TEST_ARTIFACTS_DIR).
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/v1/security.grpc.pb.h"
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

class StatusPageTest : public BrowseTest {
 protected:
  // A login token made over gRPC with `credentials`.
  grpc::Status Login(const v1::ClientCredentials& credentials,
                     v1::CreateWebLoginResponse* response) {
    auto stub = v1::AccessService::NewStub(TestChannel(*server_, credentials));
    return stub->CreateWebLogin(Context().get(), v1::CreateWebLoginRequest(), response);
  }
  std::string Token() {
    v1::CreateWebLoginResponse response;
    grpc::Status status = Login(admin_credentials_, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return response.token();
  }
  // The session cookie ("cairn_session=...") /login answers `token` with.
  std::string Session(const std::string& token) {
    HttpsReply r =
        HttpsGet(server_->web_port(), "/login?token=" + token, AnonymousCredentials(*server_));
    EXPECT_EQ(r.status, 302) << r.error << r.body;
    const size_t at = r.headers.find("cairn_session=");
    if (at == std::string::npos) return "";
    return r.headers.substr(at, r.headers.find(';', at) - at);
  }
  // Runs headless chromium on the page at `path`, with `flags`.
  e2e::CommandResult Chromium(const std::string& path, std::vector<std::string> flags) {
    const std::string profile = e2e::NewTestDir("chromium");
    std::vector<std::string> argv = {"/usr/bin/chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--no-first-run",
                                     "--ignore-certificate-errors",
                                     "--host-resolver-rules=MAP cairn-server 127.0.0.1",
                                     "--user-data-dir=" + profile,
                                     "--virtual-time-budget=15000"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(absl::StrCat("https://cairn-server:", server_->web_port(), path));
    return e2e::RunCommand(argv, absl::Seconds(120));
  }
};

TEST_F(StatusPageTest, ALoginLinkWorksOnceAndTheSessionReadsTheApi) {
  v1::CreateWebLoginResponse login;
  ASSERT_TRUE(Login(admin_credentials_, &login).ok());
  EXPECT_EQ(login.web_port(), server_->web_port());
  EXPECT_EQ(login.server_name(), "cairn-server");
  EXPECT_EQ(login.token().size(), 64u);
  const std::string cookie = Session(login.token());
  ASSERT_THAT(cookie, testing::StartsWith("cairn_session="));
  // Used up.
  HttpsReply again = HttpsGet(server_->web_port(), "/login?token=" + login.token(),
                              AnonymousCredentials(*server_));
  EXPECT_EQ(again.status, 401);
  EXPECT_THAT(again.body, HasSubstr("cairnctl web"));
  // The refusal is audited, without the token.
  {
    auto access = v1::AccessService::NewStub(TestChannel(*server_, admin_credentials_));
    v1::ListAuditRequest request;
    request.set_refused_only(true);
    v1::ListAuditResponse audit;
    ASSERT_TRUE(access->ListAudit(Context().get(), request, &audit).ok());
    bool found = false;
    for (const v1::AuditEntry& e : audit.entries()) {
      if (e.method() == "/cairn.web/Status" && e.resource() == "/login") {
        found = true;
        EXPECT_EQ(e.code(), "UNAUTHENTICATED");
        EXPECT_THAT(e.message() + e.resource(), Not(HasSubstr(login.token())));
      }
    }
    EXPECT_TRUE(found) << audit.DebugString();
  }

  const v1::ClientCredentials anonymous = AnonymousCredentials(*server_);
  HttpsReply status = HttpsGet(server_->web_port(), "/api/status", anonymous, cookie);
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.content_type, "application/json");
  EXPECT_THAT(status.body, HasSubstr(absl::StrCat("\"name\":\"", current_agent_, "\"")));
  HttpsReply snaps =
      HttpsGet(server_->web_port(), "/api/snapshots?agent=" + current_agent_, anonymous, cookie);
  ASSERT_EQ(snaps.status, 200) << snaps.body;
  EXPECT_THAT(snaps.body, HasSubstr(first_.id()));
  HttpsReply ls =
      HttpsGet(server_->web_port(), absl::StrCat("/api/ls?snapshot=", first_.id(), "&path=dir"),
               anonymous, cookie);
  ASSERT_EQ(ls.status, 200) << ls.body;
  EXPECT_THAT(ls.body, HasSubstr("\"path\":\"dir/x\""));
  HttpsReply diff = HttpsGet(server_->web_port(),
                             absl::StrCat("/api/diff?from=", first_.id(), "&to=", second_.id()),
                             anonymous, cookie);
  ASSERT_EQ(diff.status, 200) << diff.body;
  EXPECT_THAT(diff.body, HasSubstr("\"path\":\"b.txt\""));
  EXPECT_EQ(HttpsGet(server_->web_port(), "/api/history", anonymous, cookie).status, 200);
  EXPECT_EQ(HttpsGet(server_->web_port(), "/api/ls?snapshot=s-none", anonymous, cookie).status,
            404);

  // Without the cookie: 401. With a made-up one: 401.
  EXPECT_EQ(HttpsGet(server_->web_port(), "/api/status", anonymous).status, 401);
  EXPECT_EQ(HttpsGet(server_->web_port(), "/api/status", anonymous,
                     "cairn_session=" + std::string(64, 'a'))
                .status,
            401);
  // The page itself holds no data: served to anyone, with a strict policy.
  HttpsReply page = HttpsGet(server_->web_port(), "/", anonymous);
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.headers, HasSubstr("Content-Security-Policy: default-src 'self'"));
  // Signing out ends the session.
  EXPECT_EQ(HttpsGet(server_->web_port(), "/logout", anonymous, cookie).status, 302);
  EXPECT_EQ(HttpsGet(server_->web_port(), "/api/status", anonymous, cookie).status, 401);
}

TEST_F(StatusPageTest, AgentsGetNoLoginAndARevokedCredentialLosesItsSessions) {
  v1::CreateWebLoginResponse login;
  grpc::Status status = Login(enrolled_.begin()->second, &login);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);

  absl::StatusOr<v1::ClientCredentials> viewer =
      AdminCredentials(*server_, v1::ROLE_VIEWER, "watcher");
  ASSERT_TRUE(viewer.ok()) << viewer.status();
  ASSERT_TRUE(Login(*viewer, &login).ok());
  const std::string cookie = Session(login.token());
  const v1::ClientCredentials anonymous = AnonymousCredentials(*server_);
  ASSERT_EQ(HttpsGet(server_->web_port(), "/api/status", anonymous, cookie).status, 200);
  auto access = v1::AccessService::NewStub(TestChannel(*server_, admin_credentials_));
  v1::RevokeCredentialRequest revoke;
  revoke.set_name("watcher");
  v1::RevokeCredentialResponse revoked;
  ASSERT_TRUE(access->RevokeCredential(Context().get(), revoke, &revoked).ok());
  HttpsReply after = HttpsGet(server_->web_port(), "/api/status", anonymous, cookie);
  EXPECT_EQ(after.status, 401) << after.body;
  EXPECT_THAT(after.body, HasSubstr("revoked"));
}

TEST_F(StatusPageTest, ChromiumRendersTheAgentAndItsJobs) {
  v1::GetStatusResponse status;
  ASSERT_TRUE(admin_->GetStatus(Context().get(), v1::GetStatusRequest(), &status).ok());
  ASSERT_GT(status.recent_jobs_size(), 0);
  e2e::CommandResult dom = Chromium("/login?token=" + Token(), {"--dump-dom"});
  ASSERT_EQ(dom.exit_code, 0) << dom.Describe()
                              << "\n(chromium comes from Debian's chromium package; make test "
                                 "installs it)";
  EXPECT_THAT(dom.out, HasSubstr("data-loaded=\"true\"")) << dom.out.substr(0, 4000);
  EXPECT_THAT(dom.out, HasSubstr(absl::StrCat("data-agent=\"", current_agent_, "\"")));
  EXPECT_THAT(dom.out, HasSubstr(status.recent_jobs(0).id()));
  EXPECT_THAT(dom.out, HasSubstr("<svg"));  // the plots
  EXPECT_THAT(dom.out, Not(HasSubstr("Sign in</h2><p>Run")));

  const std::string shot = std::string(CAIRN_TEST_ARTIFACTS_DIR) + "/status_page.png";
  std::remove(shot.c_str());
  e2e::CommandResult png =
      Chromium("/login?token=" + Token(),
               {"--screenshot=" + shot, "--window-size=1400,1300", "--hide-scrollbars"});
  ASSERT_EQ(png.exit_code, 0) << png.Describe();
  std::ifstream in(shot, std::ios::binary);
  std::string header(8, '\0');
  in.read(header.data(), 8);
  EXPECT_EQ(header, "\x89PNG\r\n\x1a\n") << shot;
  std::cout << "status page screenshot: " << shot << "\n";
}

}  // namespace
}  // namespace cairn

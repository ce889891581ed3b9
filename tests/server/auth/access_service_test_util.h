// Shared fixture of the AccessService tests (and the Authenticator's): a real
// ServerCore in a temp directory with a CA of its own (LoadOrCreateServerPki)
// and a clock the test moves, join tokens and enrollments made through the
// core's AccessService, and row counts read over a connection of its own.
//
//   TEST_F(AccessServiceTest, X) {
//     ASSERT_OK_AND_ASSIGN(v1::EnrollResponse e, Enroll(Token("t1"), "gpu-1", "t1"));
//     EXPECT_EQ(Rows("certificates"), 1);
//   }
#ifndef CAIRN_TESTS_SERVER_AUTH_ACCESS_SERVICE_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_AUTH_ACCESS_SERVICE_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/config.pb.h"
#include "cairn/v1/security.pb.h"
#include "gtest/gtest.h"
#include "server/auth/access_service.h"
#include "server/auth/caller.h"
#include "server/auth/server_pki.h"
#include "tests/server/maintenance/gc_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {

class AccessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(v1::ServerLimits()); }
  void TearDown() override { repo_.reset(); }

  // (Re)opens the core over a fresh directory with `limits`.
  void Open(const v1::ServerLimits& limits);

  AccessService& access() { return repo_->core->access(); }
  Catalog& catalog() { return *repo_->catalog; }

  // A join token's text for `tenant`, or "" after a failure.
  std::string Token(absl::string_view tenant, absl::string_view glob = "*", uint32_t uses = 1,
                    bool needs_approval = false, uint32_t ttl_seconds = 0);
  // An enroll request for `agent` with a new key's CSR and `key_check`
  // (TestKeyCheck(tenant) when empty).
  v1::EnrollRequest EnrollRequest(const std::string& token, absl::string_view agent,
                                  absl::string_view tenant, std::string key_check = "");
  absl::StatusOr<v1::EnrollResponse> Enroll(const std::string& token, absl::string_view agent,
                                            absl::string_view tenant, std::string key_check = "");
  // Creates a token and enrolls `agent` of `tenant` with it; the certificate.
  std::string EnrollNew(absl::string_view agent, absl::string_view tenant,
                        bool needs_approval = false);
  // An admin credential `name` with `role`, made as the first admin's is.
  std::string AdminCertificate(const std::string& name, v1::Role role);
  // The number of rows in `table` of the catalog.
  int64_t Rows(absl::string_view table);
  // The uses left of the token whose text is `token` (-1: no such token).
  int64_t UsesLeft(const std::string& token);

  const Caller admin_ = Caller::Admin("root", Role::kAdmin);
  TestClock clock_;
  std::shared_ptr<const ServerPki> pki_;
  std::unique_ptr<TestRepo> repo_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_AUTH_ACCESS_SERVICE_TEST_UTIL_H_

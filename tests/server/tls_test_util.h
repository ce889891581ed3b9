// Identities for tests that talk to a real CairnServer over its TLS port:
// admin credentials minted by the server core (as the first admin's are),
// agents enrolled through the real Enroll RPC with a fresh join token, and
// channels that present them.
//
//   ASSERT_OK_AND_ASSIGN(v1::ClientCredentials admin, AdminCredentials(*server_, v1::ROLE_ADMIN));
//   auto stub = v1::AdminService::NewStub(TestChannel(*server_, admin));
#ifndef CAIRN_TESTS_SERVER_TLS_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_TLS_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/security.pb.h"
#include "server/server.h"

namespace cairn {

// A key check value standing for tenant `tenant`'s key (16 bytes).
std::string TestKeyCheck(absl::string_view tenant);
// "127.0.0.1:<port>" of `server`.
std::string AddressOf(const CairnServer& server);
// A new admin credential `name` with `role`.
absl::StatusOr<v1::ClientCredentials> AdminCredentials(CairnServer& server, v1::Role role,
                                                       const std::string& name = "");
// Enrolls agent `name` of `tenant` with a fresh one-use token through the
// Enroll RPC; `key_check` defaults to TestKeyCheck(tenant).
absl::StatusOr<v1::ClientCredentials> EnrollAgentForTest(CairnServer& server,
                                                         absl::string_view tenant,
                                                         absl::string_view name,
                                                         std::string key_check = "");
// A TLS channel presenting `credentials` (none when they have no
// certificate) that sends messages of any size (so the server's bounds are
// what is tested).
std::shared_ptr<grpc::Channel> TestChannel(const CairnServer& server,
                                           const v1::ClientCredentials& credentials);
// The server's CA and name, without a client certificate: an anonymous caller.
v1::ClientCredentials AnonymousCredentials(CairnServer& server);

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_TLS_TEST_UTIL_H_

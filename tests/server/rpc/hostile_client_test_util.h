// Shared fixture of the hostile-client tests (hostile_client_test.cc,
// hostile_admin_test.cc): BrowseTest's server and two snapshots, stubs for
// any identity (an agent, an admin role, a certificate of another CA, none),
// and a fingerprint of everything a refused call must leave alone: the
// catalog's rows (all tables but the audit log, which grows by design) and
// the pack files.
//
//   const std::string before = Fingerprint();
//   ExpectRefused(Admin(v1::ROLE_VIEWER)->OrderRestore(...), grpc::PERMISSION_DENIED);
//   EXPECT_EQ(Fingerprint(), before);
#ifndef CAIRN_TESTS_SERVER_RPC_HOSTILE_CLIENT_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_RPC_HOSTILE_CLIENT_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "cairn/v1/security.grpc.pb.h"
#include "tests/server/rpc/rpc_test_util.h"

namespace cairn {

// Every row of the catalog's tables except `audit` (and `meta`), and every
// pack file's name and size, as text: equal before and after a refused call.
std::string CatalogFingerprint(const std::string& state_dir);

// Credentials signed by a CA this server never saw, naming `name` of `tenant`
// in their subject, for the server at `address`.
v1::ClientCredentials ForeignCredentials(CairnServer& server, const std::string& name,
                                         const std::string& tenant);

class HostileClientTest : public BrowseTest {
 protected:
  std::string Fingerprint() const { return CatalogFingerprint(state_dir_); }

  // Stubs presenting `credentials` (a fresh channel each).
  std::unique_ptr<v1::AgentService::Stub> AgentStub(const v1::ClientCredentials& credentials);
  std::unique_ptr<v1::AdminService::Stub> AdminStub(const v1::ClientCredentials& credentials);
  std::unique_ptr<v1::AccessService::Stub> AccessStub(const v1::ClientCredentials& credentials);
  // An admin credential of `role`, and stubs presenting it.
  v1::ClientCredentials Role(v1::Role role);
  // Agent `agent` of `tenant` (enrolled the first time), as GrpcServiceTest
  // keeps it.
  const v1::ClientCredentials& Agent(absl::string_view agent, absl::string_view tenant);

  // A committed snapshot of agent `agent` of `tenant` holding one file.
  v1::Snapshot OneFileSnapshot(absl::string_view agent, absl::string_view tenant, uint32_t salt);

  // The outcome of a ReadChunks stream, and how many chunks it sent.
  static grpc::Status ReadChunks(v1::AgentService::Stub* stub, const v1::ReadChunksRequest& request,
                                 int* chunks = nullptr);
  // The outcome of an UploadChunks stream of one chunk into `job`.
  static grpc::Status UploadOne(v1::AgentService::Stub* stub, absl::string_view job, uint32_t salt);
};

// `status` has `code`; the message is printed when not.
void ExpectCode(const grpc::Status& status, grpc::StatusCode code, absl::string_view what);
// UNAUTHENTICATED or PERMISSION_DENIED.
void ExpectRefused(const grpc::Status& status, absl::string_view what);

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_RPC_HOSTILE_CLIENT_TEST_UTIL_H_

// Hostile clients at the RPC boundary, against a real CairnServer on loopback
// with real TLS: a plaintext client, a TLS client without a certificate, a
// certificate from another CA, a revoked agent (and credential), expired and
// reused join tokens, an agent acting as another agent, and an agent with
// another key than its tenant's. Each is refused (UNAUTHENTICATED or
// PERMISSION_DENIED; a wrong key FAILED_PRECONDITION naming the tenant) and
// leaves the catalog's rows and the pack files as they were.
// Roles and deletion rules: hostile_admin_test.cc. Covered elsewhere: the
// access table itself (tests/server/auth/method_access_test.cc); enrollments
// refused for a bad CSR, name or key without spending the token
// (tests/server/auth/access_service_enroll_test.cc); another tenant's
// snapshot unable to reach this tenant's chunks (agent_service_test.cc
// ReadChunksIsScopedByTheSnapshot). Agents of one tenant share its key and
// may read each other's snapshots (a restore onto another machine): only
// another tenant's are refused here.
#include <string>

#include "absl/time/clock.h"
#include "common/join_token.h"
#include "common/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/rpc/hostile_client_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

v1::HelloRequest HelloAs(absl::string_view agent, absl::string_view tenant,
                         absl::string_view key_tenant = "") {
  v1::HelloRequest request;
  request.set_agent(std::string(agent));
  request.set_tenant(std::string(tenant));
  request.set_key_check(TestKeyCheck(key_tenant.empty() ? tenant : key_tenant));
  return request;
}

class HostileAgentTest : public HostileClientTest {
 protected:
  // Every agent call a backup or restore makes, as whoever `stub` presents,
  // naming agent a1 and its first snapshot; each must be refused.
  void ExpectAgentCallsRefused(v1::AgentService::Stub* stub, absl::string_view job) {
    v1::HelloResponse hello;
    ExpectRefused(stub->Hello(Context().get(), HelloAs("a1", "t1"), &hello), "Hello");
    v1::BeginBackupRequest begin;
    begin.set_agent("a1");
    begin.add_roots("/data");
    v1::BeginBackupResponse begun;
    ExpectRefused(stub->BeginBackup(Context().get(), begin, &begun), "BeginBackup");
    ExpectRefused(UploadOne(stub, job, 5), "UploadChunks");
    v1::GetTreeRequest tree;
    tree.set_snapshot_id(first_.id());
    v1::GetTreeResponse got;
    ExpectRefused(stub->GetTree(Context().get(), tree, &got), "GetTree");
    v1::ReadChunksRequest read;
    read.set_snapshot_id(first_.id());
    read.add_ids(TestChunkId(1, 7));
    int chunks = 0;
    ExpectRefused(ReadChunks(stub, read, &chunks), "ReadChunks");
    EXPECT_EQ(chunks, 0);
  }

  // An Enroll call through a TLS channel without a client certificate.
  grpc::Status Enroll(const std::string& token, const std::string& agent,
                      const std::string& csr = "", const std::string& key_check = "") {
    v1::EnrollRequest request;
    request.set_token(token);
    request.set_agent(agent);
    request.set_key_check(key_check.empty() ? TestKeyCheck("t1") : key_check);
    if (csr.empty()) {
      absl::StatusOr<std::string> key = GeneratePrivateKeyPem();
      EXPECT_TRUE(key.ok()) << key.status();
      absl::StatusOr<std::string> made = MakeCsrPem(*key);
      EXPECT_TRUE(made.ok()) << made.status();
      request.set_csr_pem(*made);
    } else {
      request.set_csr_pem(csr);
    }
    auto stub = v1::EnrollService::NewStub(TestChannel(*server_, AnonymousCredentials(*server_)));
    v1::EnrollResponse response;
    return stub->Enroll(Context().get(), request, &response);
  }

  std::string NewToken(uint32_t uses) {
    v1::CreateJoinTokenRequest request;
    request.set_tenant("t1");
    request.set_uses(uses);
    absl::StatusOr<v1::CreateJoinTokenResponse> token =
        server_->core()->access().CreateJoinToken(Caller::Internal(), request);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? token->token() : "";
  }
};

TEST_F(HostileAgentTest, APlaintextClientGetsNowhere) {
  const std::string token = NewToken(1);
  const std::string before = Fingerprint();
  auto channel = grpc::CreateChannel(AddressOf(*server_), grpc::InsecureChannelCredentials());
  auto agent = v1::AgentService::NewStub(channel);
  v1::HelloResponse hello;
  grpc::Status status = agent->Hello(Context().get(), HelloAs("a1", "t1"), &hello);
  // TLS only: no handshake, so the call never reaches a handler.
  ExpectCode(status, grpc::StatusCode::UNAVAILABLE, "plaintext Hello");
  v1::DeleteSnapshotRequest del;
  del.set_snapshot_id(first_.id());
  v1::DeleteSnapshotResponse deleted;
  status = v1::AdminService::NewStub(channel)->DeleteSnapshot(Context().get(), del, &deleted);
  ExpectCode(status, grpc::StatusCode::UNAVAILABLE, "plaintext DeleteSnapshot");
  v1::EnrollRequest enroll;
  enroll.set_token(token);
  enroll.set_agent("plain");
  v1::EnrollResponse enrolled;
  status = v1::EnrollService::NewStub(channel)->Enroll(Context().get(), enroll, &enrolled);
  ExpectCode(status, grpc::StatusCode::UNAVAILABLE, "plaintext Enroll");
  EXPECT_EQ(Fingerprint(), before);
  // Over TLS the same token enrolls, and the fingerprint sees it.
  status = Enroll(token, "plain");
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_NE(Fingerprint(), before);
}

TEST_F(HostileAgentTest, ATlsClientWithoutACertificateIsUnauthenticated) {
  const std::string job = Begin("a1", "t1");
  ASSERT_FALSE(job.empty());
  const std::string before = Fingerprint();
  const v1::ClientCredentials anonymous = AnonymousCredentials(*server_);
  auto agent = AgentStub(anonymous);
  ExpectAgentCallsRefused(agent.get(), job);
  v1::HelloResponse hello;
  ExpectCode(agent->Hello(Context().get(), HelloAs("a1", "t1"), &hello),
             grpc::StatusCode::UNAUTHENTICATED, "anonymous Hello");
  auto admin = AdminStub(anonymous);
  v1::DeleteSnapshotRequest del;
  del.set_snapshot_id(first_.id());
  v1::DeleteSnapshotResponse deleted;
  ExpectCode(admin->DeleteSnapshot(Context().get(), del, &deleted),
             grpc::StatusCode::UNAUTHENTICATED, "anonymous DeleteSnapshot");
  v1::ListSnapshotsResponse listed;
  ExpectCode(admin->ListSnapshots(Context().get(), v1::ListSnapshotsRequest(), &listed),
             grpc::StatusCode::UNAUTHENTICATED, "anonymous ListSnapshots");
  v1::CreateJoinTokenRequest token;
  token.set_tenant("t1");
  v1::CreateJoinTokenResponse made;
  ExpectCode(AccessStub(anonymous)->CreateJoinToken(Context().get(), token, &made),
             grpc::StatusCode::UNAUTHENTICATED, "anonymous CreateJoinToken");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HostileAgentTest, ACertificateOfAnotherCaIsUnauthenticated) {
  const std::string job = Begin("a1", "t1");
  ASSERT_FALSE(job.empty());
  const std::string before = Fingerprint();
  auto agent = AgentStub(ForeignCredentials(*server_, "a1", "t1"));
  ExpectAgentCallsRefused(agent.get(), job);
  v1::HelloResponse hello;
  grpc::Status status = agent->Hello(Context().get(), HelloAs("a1", "t1"), &hello);
  ExpectCode(status, grpc::StatusCode::UNAUTHENTICATED, "foreign Hello");
  EXPECT_THAT(status.error_message(), HasSubstr("this server's CA"));
  // The subject of the admin's credential, signed by the wrong CA.
  auto admin = AdminStub(ForeignCredentials(*server_, admin_credentials_.name(), ""));
  v1::DeleteSnapshotRequest del;
  del.set_snapshot_id(first_.id());
  v1::DeleteSnapshotResponse deleted;
  ExpectCode(admin->DeleteSnapshot(Context().get(), del, &deleted),
             grpc::StatusCode::UNAUTHENTICATED, "foreign DeleteSnapshot");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HostileAgentTest, ARevokedAgentIsRefusedAtItsNextCall) {
  const v1::ClientCredentials a2 = Agent("a2", "t1");
  const std::string job = Begin("a2", "t1");
  ASSERT_FALSE(job.empty());
  auto agent = AgentStub(a2);  // one channel, kept open across the revocation
  v1::HelloResponse hello;
  grpc::Status status = agent->Hello(Context().get(), HelloAs("a2", "t1"), &hello);
  ASSERT_TRUE(status.ok()) << Describe(status);

  v1::AgentAccessRequest revoke;
  revoke.set_agent("a2");
  v1::AgentAccessResponse revoked;
  status = AccessStub(admin_credentials_)->RevokeAgent(Context().get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const std::string before = Fingerprint();
  status = agent->Hello(Context().get(), HelloAs("a2", "t1"), &hello);
  ExpectCode(status, grpc::StatusCode::UNAUTHENTICATED, "revoked Hello");
  EXPECT_THAT(status.error_message(), HasSubstr("revoked"));
  ExpectCode(UploadOne(agent.get(), job, 5), grpc::StatusCode::UNAUTHENTICATED, "revoked upload");
  v1::GetTreeRequest tree;  // a1's snapshot: same tenant, readable before
  tree.set_snapshot_id(first_.id());
  v1::GetTreeResponse got;
  ExpectCode(agent->GetTree(Context().get(), tree, &got), grpc::StatusCode::UNAUTHENTICATED,
             "revoked GetTree");
  v1::RenewCertificateRequest renew;
  renew.set_csr_pem("any");
  v1::RenewCertificateResponse renewed;
  ExpectCode(agent->RenewCertificate(Context().get(), renew, &renewed),
             grpc::StatusCode::UNAUTHENTICATED, "revoked RenewCertificate");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HostileAgentTest, ARevokedCredentialIsRefusedAtItsNextCall) {
  v1::ClientCredentials operator_credentials = Role(v1::ROLE_OPERATOR);
  auto op = AdminStub(operator_credentials);
  v1::ListSnapshotsResponse listed;
  grpc::Status status = op->ListSnapshots(Context().get(), v1::ListSnapshotsRequest(), &listed);
  ASSERT_TRUE(status.ok()) << Describe(status);
  v1::RevokeCredentialRequest revoke;
  revoke.set_name(operator_credentials.name());
  v1::RevokeCredentialResponse revoked;
  status = AccessStub(admin_credentials_)->RevokeCredential(Context().get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const std::string before = Fingerprint();
  v1::RestoreOrder order;
  order.set_snapshot_id(first_.id());
  order.set_target_directory("/restore");
  v1::OrderRestoreRequest request;
  *request.mutable_order() = order;
  v1::OrderResponse ordered;
  status = op->OrderRestore(Context().get(), request, &ordered);
  ExpectCode(status, grpc::StatusCode::UNAUTHENTICATED, "revoked credential");
  EXPECT_THAT(status.error_message(), HasSubstr("revoked"));
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HostileAgentTest, AnExpiredOrSpentTokenEnrollsNobody) {
  JoinTokenParts parts = NewJoinToken(server_->ca_fingerprint());
  v1::JoinToken expired;
  expired.set_id(parts.id);
  expired.set_tenant("t1");
  expired.set_agent_glob("*");
  expired.set_uses_left(1);
  expired.set_expires_unix_ms(absl::ToUnixMillis(absl::Now()) - 1000);
  ASSERT_OK(server_->catalog()->access().AddToken(expired, HashJoinSecret(parts.secret)));
  const std::string one_use = NewToken(1);
  grpc::Status status = Enroll(one_use, "first");
  ASSERT_TRUE(status.ok()) << Describe(status);

  const std::string before = Fingerprint();
  ExpectCode(Enroll(FormatJoinToken(parts), "late"), grpc::StatusCode::UNAUTHENTICATED,
             "expired token");
  ExpectCode(Enroll(one_use, "second"), grpc::StatusCode::UNAUTHENTICATED, "spent token");
  ExpectCode(Enroll(one_use, "first"), grpc::StatusCode::UNAUTHENTICATED, "spent token again");
  // The right id with a guessed secret.
  JoinTokenParts guessed = parts;
  guessed.secret = std::string(guessed.secret.size(), '0');
  ExpectCode(Enroll(FormatJoinToken(guessed), "guess"), grpc::StatusCode::UNAUTHENTICATED,
             "guessed secret");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HostileAgentTest, AnAgentCannotActAsAnotherAgent) {
  const v1::Snapshot other = OneFileSnapshot("b1", "t2", 9);  // tenant t2's agent B
  ASSERT_FALSE(other.id().empty());
  const std::string b_job = Begin("b1", "t2");
  const std::string a2_job = Begin("a2", "t1");  // same tenant, another agent
  ASSERT_FALSE(b_job.empty());
  ASSERT_FALSE(a2_job.empty());
  auto a1 = AgentStub(Agent("a1", "t1"));
  const std::string before = Fingerprint();

  v1::HelloResponse hello;
  for (const auto& [agent, tenant] :
       {std::pair<std::string, std::string>("a2", "t1"), {"b1", "t2"}, {"a1", "t2"}}) {
    ExpectCode(a1->Hello(Context().get(), HelloAs(agent, tenant), &hello),
               grpc::StatusCode::PERMISSION_DENIED, "Hello as " + agent + " of " + tenant);
  }
  for (const std::string agent : {"a2", "b1"}) {
    v1::BeginBackupRequest begin;
    begin.set_agent(agent);
    begin.add_roots("/data");
    v1::BeginBackupResponse begun;
    ExpectCode(a1->BeginBackup(Context().get(), begin, &begun), grpc::StatusCode::PERMISSION_DENIED,
               "BeginBackup as " + agent);
  }
  // B's snapshot, of another tenant.
  v1::GetTreeRequest tree;
  tree.set_snapshot_id(other.id());
  v1::GetTreeResponse got;
  ExpectCode(a1->GetTree(Context().get(), tree, &got), grpc::StatusCode::PERMISSION_DENIED,
             "GetTree");
  v1::GetTreesRequest trees;
  trees.set_snapshot_id(other.id());
  trees.add_ids(other.root_tree_id());
  v1::GetTreesResponse gots;
  ExpectCode(a1->GetTrees(Context().get(), trees, &gots), grpc::StatusCode::PERMISSION_DENIED,
             "GetTrees");
  v1::ReadChunksRequest read;
  read.set_snapshot_id(other.id());
  read.add_ids(TestChunkId(0, 9));
  int chunks = 0;
  ExpectCode(ReadChunks(a1.get(), read, &chunks), grpc::StatusCode::PERMISSION_DENIED,
             "ReadChunks");
  EXPECT_EQ(chunks, 0);
  read.set_superseded(true);  // the copies kept after damage reports: scoped alike
  ExpectCode(ReadChunks(a1.get(), read, &chunks), grpc::StatusCode::PERMISSION_DENIED,
             "ReadChunks(superseded)");
  EXPECT_EQ(chunks, 0);
  v1::ReportDamagedChunksRequest damage;
  damage.set_snapshot_id(other.id());
  damage.add_ids(TestChunkId(0, 9));
  v1::ReportDamagedChunksResponse reported;
  ExpectCode(a1->ReportDamagedChunks(Context().get(), damage, &reported),
             grpc::StatusCode::PERMISSION_DENIED, "ReportDamagedChunks");
  // B's and a2's running jobs.
  for (const std::string& job : {b_job, a2_job}) {
    v1::FindMissingChunksRequest missing;
    missing.set_job_id(job);
    missing.add_ids(TestChunkId(3, 3));
    v1::FindMissingChunksResponse found;
    ExpectCode(a1->FindMissingChunks(Context().get(), missing, &found),
               grpc::StatusCode::PERMISSION_DENIED, "FindMissingChunks");
    ExpectCode(UploadOne(a1.get(), job, 3), grpc::StatusCode::PERMISSION_DENIED, "UploadChunks");
    v1::PutTreesRequest put;
    put.set_job_id(job);
    put.add_trees(TreeBytes({FileEntry("x", {TestChunkId(0, 9)}, 2048)}));
    v1::PutTreesResponse putted;
    ExpectCode(a1->PutTrees(Context().get(), put, &putted), grpc::StatusCode::PERMISSION_DENIED,
               "PutTrees");
    v1::CommitSnapshotRequest commit;
    commit.set_job_id(job);
    commit.set_root_tree_id(other.root_tree_id());
    commit.set_manifest_mac(std::string(32, 'm'));
    v1::CommitSnapshotResponse committed;
    ExpectCode(a1->CommitSnapshot(Context().get(), commit, &committed),
               grpc::StatusCode::PERMISSION_DENIED, "CommitSnapshot");
    v1::FinishJobRequest finish;
    finish.set_job_id(job);
    finish.set_state(v1::JOB_STATE_FAILED);
    v1::FinishJobResponse finished;
    ExpectCode(a1->FinishJob(Context().get(), finish, &finished),
               grpc::StatusCode::PERMISSION_DENIED, "FinishJob");
  }
  // The control stream, opened with a hello naming another agent.
  auto context = Context();
  auto stream = a1->Control(context.get());
  v1::AgentEvent event;
  *event.mutable_hello() = HelloAs("a2", "t1");
  stream->Write(event);
  stream->WritesDone();
  ExpectCode(stream->Finish(), grpc::StatusCode::PERMISSION_DENIED, "Control as a2");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HostileAgentTest, AWrongKeyIsRefusedAtConnectNamingTheTenant) {
  auto a1 = AgentStub(Agent("a1", "t1"));
  const std::string before = Fingerprint();
  v1::HelloResponse hello;
  grpc::Status status = a1->Hello(Context().get(), HelloAs("a1", "t1", "t9"), &hello);
  ExpectCode(status, grpc::StatusCode::FAILED_PRECONDITION, "Hello with t9's key");
  EXPECT_THAT(status.error_message(), HasSubstr("not tenant t1's key"));
  auto context = Context();
  auto stream = a1->Control(context.get());
  v1::AgentEvent event;
  *event.mutable_hello() = HelloAs("a1", "t1", "t9");
  stream->Write(event);
  stream->WritesDone();
  status = stream->Finish();
  ExpectCode(status, grpc::StatusCode::FAILED_PRECONDITION, "Control with t9's key");
  EXPECT_THAT(status.error_message(), HasSubstr("tenant t1"));
  EXPECT_EQ(Fingerprint(), before);
  status = a1->Hello(Context().get(), HelloAs("a1", "t1"), &hello);
  EXPECT_TRUE(status.ok()) << "the right key still works: " << Describe(status);
}

}  // namespace
}  // namespace cairn

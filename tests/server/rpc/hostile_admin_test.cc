// Callers without the role a change needs, against a real CairnServer on
// loopback with real TLS: an agent calling prune, garbage collection, policy
// changes, deletions and restore orders; a viewer ordering work; an operator
// pruning, deleting, collecting garbage, lifting a protection or ordering an
// overwriting restore. Each is refused with PERMISSION_DENIED and leaves the
// catalog's rows and the pack files as they were. Then an admin: a
// protected snapshot and one younger than the retention lock
// (min_retention_days) are refused (FAILED_PRECONDITION), by delete and by
// prune alike. Transport and identity attacks: hostile_client_test.cc. The
// deletion rules in the core: tests/server/maintenance/deletion_rules_test.cc.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/rpc/hostile_client_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class HostileAdminTest : public HostileClientTest {
 protected:
  using Call = std::function<grpc::Status(v1::AdminService::Stub*, v1::AccessService::Stub*)>;

  // The calls that change what is kept or who may call, each named.
  std::vector<std::pair<std::string, Call>> AdminOnlyCalls() {
    const std::string first = first_.id();
    return {
        {"Prune",
         [](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::PruneResponse r;
           return s->Prune(Context().get(), v1::PruneRequest(), &r);
         }},
        {"CollectGarbage",
         [](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::GcResponse r;
           return s->CollectGarbage(Context().get(), v1::GcRequest(), &r);
         }},
        {"SetPolicy",
         [](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::Policy p = KeepLastPolicy();
           v1::Policy r;
           return s->SetPolicy(Context().get(), p, &r);
         }},
        {"DeletePolicy",
         [](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::GetPolicyRequest q;
           q.set_name("keep-one");
           v1::DeletePolicyResponse r;
           return s->DeletePolicy(Context().get(), q, &r);
         }},
        {"DeleteSnapshot",
         [first](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::DeleteSnapshotRequest q;
           q.set_snapshot_id(first);
           v1::DeleteSnapshotResponse r;
           return s->DeleteSnapshot(Context().get(), q, &r);
         }},
        {"ProtectSnapshot(false)",
         [first](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::ProtectSnapshotRequest q;
           q.set_snapshot_id(first);
           q.set_protect(false);
           v1::ProtectSnapshotResponse r;
           return s->ProtectSnapshot(Context().get(), q, &r);
         }},
        {"OrderRestore(overwrite)",
         [first](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::OrderRestoreRequest q = RestoreOf(first);
           q.mutable_order()->set_overwrite(true);
           v1::OrderResponse r;
           return s->OrderRestore(Context().get(), q, &r);
         }},
        {"OrderRestore(allow_special)",
         [first](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
           v1::OrderRestoreRequest q = RestoreOf(first);
           q.mutable_order()->set_allow_special(true);
           v1::OrderResponse r;
           return s->OrderRestore(Context().get(), q, &r);
         }},
        {"CreateJoinToken",
         [](v1::AdminService::Stub*, v1::AccessService::Stub* s) {
           v1::CreateJoinTokenRequest q;
           q.set_tenant("t1");
           v1::CreateJoinTokenResponse r;
           return s->CreateJoinToken(Context().get(), q, &r);
         }},
        {"CreateCredential(admin)",
         [](v1::AdminService::Stub*, v1::AccessService::Stub* s) {
           v1::CreateCredentialRequest q;
           q.set_name("escalated");
           q.set_role(v1::ROLE_ADMIN);
           q.set_csr_pem("-");
           v1::CreateCredentialResponse r;
           return s->CreateCredential(Context().get(), q, &r);
         }},
        {"RevokeAgent",
         [](v1::AdminService::Stub*, v1::AccessService::Stub* s) {
           v1::AgentAccessRequest q;
           q.set_agent("a1");
           v1::AgentAccessResponse r;
           return s->RevokeAgent(Context().get(), q, &r);
         }},
    };
  }

  static v1::Policy KeepLastPolicy() {
    v1::Policy p;
    p.set_name("keep-one");
    p.add_agents("a1");
    p.add_roots("/data");
    p.mutable_retention()->set_keep_last(1);
    return p;
  }

  static v1::OrderRestoreRequest RestoreOf(const std::string& snapshot) {
    v1::OrderRestoreRequest q;
    q.mutable_order()->set_snapshot_id(snapshot);
    q.mutable_order()->set_target_directory("/restore");
    return q;
  }

  // Runs every call as `credentials`: each is PERMISSION_DENIED, and the
  // catalog and packs are unchanged.
  void ExpectAllDenied(const v1::ClientCredentials& credentials,
                       const std::vector<std::pair<std::string, Call>>& calls) {
    auto admin = AdminStub(credentials);
    auto access = AccessStub(credentials);
    const std::string before = Fingerprint();
    for (const auto& [name, call] : calls) {
      ExpectCode(call(admin.get(), access.get()), grpc::StatusCode::PERMISSION_DENIED, name);
    }
    EXPECT_EQ(Fingerprint(), before);
  }

  grpc::Status Delete(const std::string& snapshot) {
    v1::DeleteSnapshotRequest q;
    q.set_snapshot_id(snapshot);
    v1::DeleteSnapshotResponse r;
    return admin_->DeleteSnapshot(Context().get(), q, &r);
  }

  v1::PruneResponse Prune() {
    v1::PruneResponse r;
    grpc::Status status = admin_->Prune(Context().get(), v1::PruneRequest(), &r);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return r;
  }
};

TEST_F(HostileAdminTest, AnAgentCannotPruneCollectChangePoliciesOrOrder) {
  std::vector<std::pair<std::string, Call>> calls = AdminOnlyCalls();
  const std::string first = first_.id();
  calls.push_back({"OrderRestore", [first](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
                     v1::OrderResponse r;
                     return s->OrderRestore(Context().get(), RestoreOf(first), &r);
                   }});
  calls.push_back({"OrderBackup", [](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
                     v1::OrderBackupRequest q;
                     q.set_agent("a1");
                     v1::OrderResponse r;
                     return s->OrderBackup(Context().get(), q, &r);
                   }});
  calls.push_back({"ListSnapshots", [](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
                     v1::ListSnapshotsResponse r;
                     return s->ListSnapshots(Context().get(), v1::ListSnapshotsRequest(), &r);
                   }});
  ExpectAllDenied(Agent("a1", "t1"), calls);
}

TEST_F(HostileAdminTest, AViewerCannotOrderARestoreOrChangeAnything) {
  const v1::ClientCredentials viewer = Role(v1::ROLE_VIEWER);
  std::vector<std::pair<std::string, Call>> calls = AdminOnlyCalls();
  const std::string first = first_.id();
  calls.push_back({"OrderRestore", [first](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
                     v1::OrderResponse r;
                     return s->OrderRestore(Context().get(), RestoreOf(first), &r);
                   }});
  calls.push_back({"OrderBackup", [](v1::AdminService::Stub* s, v1::AccessService::Stub*) {
                     v1::OrderBackupRequest q;
                     q.set_agent("a1");
                     v1::OrderResponse r;
                     return s->OrderBackup(Context().get(), q, &r);
                   }});
  ExpectAllDenied(viewer, calls);
  // The credential itself works: it reads.
  v1::ListSnapshotsResponse listed;
  grpc::Status status =
      AdminStub(viewer)->ListSnapshots(Context().get(), v1::ListSnapshotsRequest(), &listed);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(listed.snapshots_size(), 2);
}

TEST_F(HostileAdminTest, AnOperatorCannotPruneDeleteOrOverwrite) {
  v1::Policy policy = KeepLastPolicy();
  v1::Policy stored;
  grpc::Status status = admin_->SetPolicy(Context().get(), policy, &stored);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const v1::ClientCredentials op = Role(v1::ROLE_OPERATOR);
  ExpectAllDenied(op, AdminOnlyCalls());
  // The credential itself works: a plain restore order is its to give, and
  // the fingerprint sees the job it adds.
  const std::string before = Fingerprint();
  v1::OrderResponse ordered;
  status = AdminStub(op)->OrderRestore(Context().get(), RestoreOf(first_.id()), &ordered);
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_NE(Fingerprint(), before);
}

TEST_F(HostileAdminTest, AProtectedSnapshotSurvivesAnAdmin) {
  v1::ProtectSnapshotRequest protect;
  protect.set_snapshot_id(first_.id());
  protect.set_protect(true);
  v1::ProtectSnapshotResponse protected_;
  grpc::Status status = admin_->ProtectSnapshot(Context().get(), protect, &protected_);
  ASSERT_TRUE(status.ok()) << Describe(status);
  v1::Policy stored;
  status = admin_->SetPolicy(Context().get(), KeepLastPolicy(), &stored);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const std::string before = Fingerprint();
  status = Delete(first_.id());
  ExpectCode(status, grpc::StatusCode::FAILED_PRECONDITION, "delete of a protected snapshot");
  EXPECT_THAT(status.error_message(), HasSubstr("protected"));
  // Keep-last-1 expires the older, protected snapshot: prune holds it.
  v1::PruneResponse pruned = Prune();
  EXPECT_THAT(pruned.expired_snapshot_ids(), Not(Contains(first_.id())));
  EXPECT_THAT(pruned.held_snapshot_ids(), Contains(first_.id()));
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HostileAdminTest, TheRetentionLockHoldsAgainstAnAdmin) {
  StopServer();
  v1::ServerConfig config;
  config.set_listen("127.0.0.1:0");
  config.set_state_dir(state_dir_);
  config.set_min_retention_days(7);
  ASSERT_OK_AND_ASSIGN(server_, CairnServer::Start(config));
  admin_ = AdminStub(admin_credentials_);
  v1::Policy stored;
  grpc::Status status = admin_->SetPolicy(Context().get(), KeepLastPolicy(), &stored);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const std::string before = Fingerprint();
  for (const std::string& id : {first_.id(), second_.id()}) {
    status = Delete(id);
    ExpectCode(status, grpc::StatusCode::FAILED_PRECONDITION, "delete of a locked snapshot");
    EXPECT_THAT(status.error_message(), HasSubstr("retention lock"));
  }
  v1::PruneResponse pruned = Prune();
  EXPECT_EQ(pruned.expired_snapshot_ids_size(), 0);
  EXPECT_THAT(pruned.held_snapshot_ids(), Contains(first_.id()));
  EXPECT_EQ(Fingerprint(), before);
}

}  // namespace
}  // namespace cairn

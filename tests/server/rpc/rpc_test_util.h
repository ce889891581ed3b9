// Shared fixtures of the RPC service tests: a real CairnServer on a loopback
// port (TLS), an AdminService stub with an admin credential, AgentService
// stubs of agents enrolled through the real Enroll RPC (`agent_` is the one
// the last Hello or Begin named), and the agent calls a backup makes. BrowseTest adds two snapshots of one agent,
// built through those calls, to browse, diff and order restores of.
//
//   TEST_F(GrpcServiceTest, X) { std::string job = Begin("a1", "t1"); ... }
//   TEST_F(BrowseTest, Y) { EXPECT_THAT(ListPaths("dir", false), ...); }
#ifndef CAIRN_TESTS_SERVER_RPC_RPC_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_RPC_RPC_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/string_view.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "cairn/v1/security.pb.h"
#include "gtest/gtest.h"
#include "server/server.h"

namespace cairn {

// "code: message" of an RPC status, for failure messages.
std::string Describe(const grpc::Status& status);

class GrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts a server on state_dir_ and connects both stubs to it.
  void StartServer();
  // Drops the stubs and shuts the server down, waiting for handlers in flight.
  void StopServer();

  // A client context with a 60 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context();

  // Makes `agent_` the stub of agent `agent` of `tenant`, enrolling it the
  // first time.
  void UseAgent(absl::string_view agent, absl::string_view tenant);
  grpc::Status Hello(absl::string_view agent, absl::string_view tenant);
  // Hello + BeginBackup; the job id, or "" after a failure.
  std::string Begin(absl::string_view agent, absl::string_view tenant,
                    v1::BackupLevel level = v1::BACKUP_LEVEL_INCREMENTAL);
  // One upload stream of `ids`, chunk i sealed as TestSealed(i, 1000).
  grpc::Status Upload(absl::string_view job, const std::vector<std::string>& ids,
                      v1::UploadChunksResponse* response);
  // The indexes of `ids` the server does not have.
  std::vector<uint32_t> Missing(absl::string_view job, const std::vector<std::string>& ids);
  grpc::Status PutTrees(absl::string_view job, const std::vector<std::string>& trees);
  // Commits `root` for `job`; the snapshot (empty after a failure).
  v1::Snapshot Commit(absl::string_view job, absl::string_view root);
  grpc::Status OrderRestore(const v1::RestoreOrder& order, v1::OrderResponse* response);

  std::string state_dir_;
  std::unique_ptr<CairnServer> server_;
  v1::AgentService::Stub* agent_ = nullptr;  // the agent the last Hello or Begin named
  std::unique_ptr<v1::AdminService::Stub> admin_;
  v1::ClientCredentials admin_credentials_;
  std::string current_agent_;
  std::map<std::string, v1::ClientCredentials> enrolled_;  // by agent name; survive restarts
  std::map<std::string, std::unique_ptr<v1::AgentService::Stub>> agent_stubs_;
};

// Builds, through the agent RPCs, two snapshots of one agent:
//   1: a.txt  dir/{sub/z, x, y}  dir.txt  meta.txt  shared/{s1, s2}
//   2: b.txt  dir/{new/n, sub/z, x', y}  dir.txt  meta.txt (chmod)  shared/{s1, s2}
// dir/sub and shared are the same trees in both.
class BrowseTest : public GrpcServiceTest {
 protected:
  void SetUp() override;

  grpc::Status List(const v1::ListFilesRequest& request, v1::ListFilesResponse* response);
  // The paths of one listing page of the first snapshot.
  std::vector<std::string> ListPaths(absl::string_view prefix, bool recursive, uint32_t limit = 0);
  // Every page of a listing with `limit` entries a page, joined.
  std::vector<std::string> ListAllPages(absl::string_view prefix, uint32_t limit, int* pages);

  using Change = std::tuple<std::string, v1::ChangeKind, v1::EntryType>;
  std::vector<Change> Diff(const v1::DiffSnapshotsResponse& response);

  std::string shared_;
  v1::Snapshot first_;
  v1::Snapshot second_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_RPC_RPC_TEST_UTIL_H_

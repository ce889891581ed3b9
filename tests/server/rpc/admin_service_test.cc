// AdminService end to end in-process: a real CairnServer on a loopback port
// and a real stub over a real channel. Status of an empty server, listing
// and diffing snapshots built through the agent RPCs, refused restore
// orders, and prune and garbage collection.
#include "server/rpc/admin_service.h"

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "server/server.h"
#include "tests/server/rpc/rpc_test_util.h"
#include "tests/server/tls_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

TEST_F(GrpcServiceTest, StatusOfAnEmptyServer) {
  v1::GetStatusResponse status;
  grpc::Status rpc = admin_->GetStatus(Context().get(), v1::GetStatusRequest(), &status);
  ASSERT_TRUE(rpc.ok()) << Describe(rpc);
  EXPECT_TRUE(status.healthy());
  EXPECT_THAT(status.problems(), IsEmpty());
  EXPECT_FALSE(status.version().empty());
  ASSERT_EQ(status.tiers_size(), 1);
  EXPECT_EQ(status.tiers(0).name(), "hot");
  EXPECT_EQ(status.tiers(0).kind(), "local");
  EXPECT_EQ(status.tiers(0).packs(), 0u);
  EXPECT_EQ(status.chunks(), 0u);
  EXPECT_EQ(status.snapshots(), 0u);
  EXPECT_EQ(status.dedup_ratio(), 0.0);
  EXPECT_THAT(status.agents(), IsEmpty());
  EXPECT_THAT(status.running_jobs(), IsEmpty());
  v1::ListSnapshotsResponse snapshots;
  rpc = admin_->ListSnapshots(Context().get(), v1::ListSnapshotsRequest(), &snapshots);
  ASSERT_TRUE(rpc.ok()) << Describe(rpc);
  EXPECT_THAT(snapshots.snapshots(), IsEmpty());
}

TEST_F(BrowseTest, ListsOneDirectoryOrOneFile) {
  EXPECT_THAT(ListPaths("", false), ElementsAre("a.txt", "dir", "dir.txt", "meta.txt", "shared"));
  EXPECT_THAT(ListPaths("dir", false), ElementsAre("dir/sub", "dir/x", "dir/y"));
  EXPECT_THAT(ListPaths("dir/sub", false), ElementsAre("dir/sub/z"));
  EXPECT_THAT(ListPaths("dir/x", false), ElementsAre("dir/x"));

  v1::ListFilesRequest request;
  request.set_snapshot_id(first_.id());
  request.set_prefix("dir/x");
  v1::ListFilesResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_EQ(response.files_size(), 1);
  EXPECT_EQ(response.files(0).entry().size(), 2048u);
  EXPECT_EQ(response.files(0).entry().chunks_size(), 0);  // chunk lists are not listed
}

TEST_F(BrowseTest, ListRefusesWhatIsNotThere) {
  v1::ListFilesRequest request;
  request.set_snapshot_id(first_.id());
  v1::ListFilesResponse response;
  for (const char* prefix : {"nope", "dir/nope", "a.txt/under-a-file"}) {
    request.set_prefix(prefix);
    grpc::Status status = List(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << prefix << Describe(status);
  }
  for (const char* prefix : {"../etc", "/dir", "dir/", "dir//x"}) {
    request.set_prefix(prefix);
    grpc::Status status = List(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << prefix << Describe(status);
  }
  request.set_prefix("");
  request.set_snapshot_id("s-nope");
  EXPECT_EQ(List(request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(BrowseTest, RecursiveListingPagesAddUpToOneBigPage) {
  const std::vector<std::string> all = ListPaths("", true, kMaxFilesPage);
  EXPECT_THAT(all, ElementsAre("a.txt", "dir", "dir/sub", "dir/sub/z", "dir/x", "dir/y", "dir.txt",
                               "meta.txt", "shared", "shared/s1", "shared/s2"));
  for (uint32_t limit : {1u, 2u, 3u}) {
    SCOPED_TRACE(limit);
    int pages = 0;
    EXPECT_EQ(ListAllPages("", limit, &pages), all);
    EXPECT_EQ(static_cast<size_t>(pages), (all.size() + limit - 1) / limit);
  }
  int pages = 0;
  EXPECT_THAT(ListAllPages("dir", 2, &pages),
              ElementsAre("dir/sub", "dir/sub/z", "dir/x", "dir/y"));
}

TEST_F(BrowseTest, DiffReportsEachKindOfChange) {
  v1::DiffSnapshotsRequest request;
  request.set_from_snapshot_id(first_.id());
  request.set_to_snapshot_id(second_.id());
  v1::DiffSnapshotsResponse response;
  grpc::Status status = admin_->DiffSnapshots(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_FALSE(response.truncated());
  EXPECT_THAT(Diff(response), UnorderedElementsAreArray(std::vector<Change>{
                                  {"a.txt", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_FILE},
                                  {"b.txt", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_FILE},
                                  {"dir/new", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_DIRECTORY},
                                  {"dir/new/n", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_FILE},
                                  {"dir/x", v1::CHANGE_KIND_MODIFIED, v1::ENTRY_TYPE_FILE},
                                  {"meta.txt", v1::CHANGE_KIND_METADATA, v1::ENTRY_TYPE_FILE},
                              }));

  // The other way round, added and removed swap.
  request.set_from_snapshot_id(second_.id());
  request.set_to_snapshot_id(first_.id());
  status = admin_->DiffSnapshots(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_THAT(Diff(response), UnorderedElementsAreArray(std::vector<Change>{
                                  {"a.txt", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_FILE},
                                  {"b.txt", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_FILE},
                                  {"dir/new", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_DIRECTORY},
                                  {"dir/new/n", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_FILE},
                                  {"dir/x", v1::CHANGE_KIND_MODIFIED, v1::ENTRY_TYPE_FILE},
                                  {"meta.txt", v1::CHANGE_KIND_METADATA, v1::ENTRY_TYPE_FILE},
                              }));

  // A snapshot against itself, and a limit that truncates.
  request.set_to_snapshot_id(second_.id());
  status = admin_->DiffSnapshots(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_THAT(response.changes(), IsEmpty());
  request.set_from_snapshot_id(first_.id());
  request.set_limit(2);
  status = admin_->DiffSnapshots(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.changes_size(), 2);
  EXPECT_TRUE(response.truncated());
  request.set_to_snapshot_id("s-nope");
  status = admin_->DiffSnapshots(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
}

TEST_F(BrowseTest, DiffDoesNotDescendIntoASharedSubtree) {
  // Spoil the shared tree's stored bytes behind the server's back: reading it
  // now fails, so a diff that still succeeds never read it.
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(state_dir_ + "/catalog.db"));
    ASSERT_OK_AND_ASSIGN(SqliteStatement spoil,
                         db->Prepare("UPDATE trees SET data=x'ffffffff' WHERE id=?"));
    spoil.BindBlob(1, Sha256Of(shared_));
    ASSERT_OK(spoil.Run());
    ASSERT_EQ(db->Changes(), 1);
  }
  v1::ListFilesRequest list;
  list.set_snapshot_id(first_.id());
  list.set_prefix("shared");
  v1::ListFilesResponse listed;
  grpc::Status status = List(list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Describe(status);

  v1::DiffSnapshotsRequest request;
  request.set_from_snapshot_id(first_.id());
  request.set_to_snapshot_id(second_.id());
  v1::DiffSnapshotsResponse response;
  status = admin_->DiffSnapshots(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.changes_size(), 6);
}

TEST_F(BrowseTest, OrderRestoreRefusesWhatCannotBeDone) {
  ASSERT_TRUE(Hello("b1", "t2").ok());
  v1::RestoreOrder order;
  order.set_snapshot_id(first_.id());
  order.set_target_directory("/restore");
  v1::OrderResponse response;

  struct Case {
    const char* label;
    std::function<void(v1::RestoreOrder*)> change;
    grpc::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"unknown snapshot", [](v1::RestoreOrder* o) { o->set_snapshot_id("s-nope"); },
       grpc::StatusCode::NOT_FOUND},
      {"unknown agent", [](v1::RestoreOrder* o) { o->set_target_agent("ghost"); },
       grpc::StatusCode::NOT_FOUND},
      {"other tenant", [](v1::RestoreOrder* o) { o->set_target_agent("b1"); },
       grpc::StatusCode::PERMISSION_DENIED},
      {"root", [](v1::RestoreOrder* o) { o->set_target_directory("/"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"root twice", [](v1::RestoreOrder* o) { o->set_target_directory("//"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"relative", [](v1::RestoreOrder* o) { o->set_target_directory("restore/here"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"empty target", [](v1::RestoreOrder* o) { o->set_target_directory(""); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"nul", [](v1::RestoreOrder* o) { o->set_target_directory(std::string("/a\0b", 4)); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"escaping path", [](v1::RestoreOrder* o) { o->add_paths("../etc/passwd"); },
       grpc::StatusCode::INVALID_ARGUMENT},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    v1::RestoreOrder bad = order;
    c.change(&bad);
    grpc::Status status = OrderRestore(bad, &response);
    EXPECT_EQ(status.error_code(), c.code) << Describe(status);
  }
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(admin_->ListJobs(Context().get(), v1::ListJobsRequest(), &jobs).ok());
  for (const v1::Job& j : jobs.jobs()) EXPECT_NE(j.kind(), v1::JOB_KIND_RESTORE);

  grpc::Status status = OrderRestore(order, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.job().state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(response.job().agent(), "a1");
  EXPECT_EQ(response.job().restore().target_agent(), "a1");
  EXPECT_EQ(response.job().progress().files_total(), 7u);
}

// --- Prune and garbage collection ---

TEST(GcServiceTest, PruneAndCollectGarbageRpcs) {
  v1::ServerConfig config;
  config.set_listen("127.0.0.1:0");
  config.set_state_dir(FreshTestDir("gc_server"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CairnServer> server, CairnServer::Start(config));
  Catalog* catalog = server->catalog();
  v1::AgentInfo agent;
  agent.set_name("gpu-1");
  agent.set_tenant("t");
  ASSERT_OK(catalog->agents().Upsert(agent));
  std::vector<std::string> ids;
  for (int day = 1; day <= 3; ++day) {
    v1::Job job;
    job.set_id(absl::StrCat("j-", day));
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_agent("gpu-1");
    ASSERT_OK(catalog->jobs().Insert(job, 0));
    v1::Snapshot s;
    s.set_id(absl::StrCat("s-", day));
    s.set_agent("gpu-1");
    s.set_tenant("t");
    s.add_roots("/data");
    s.set_root_tree_id(std::string(32, 'r'));
    s.set_created_unix_ms(absl::ToUnixMillis(absl::Now() - absl::Hours(24 * (4 - day))));
    s.set_job_id(job.id());
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    ASSERT_OK(catalog->snapshots().Commit(s, job).status());
    ids.push_back(s.id());
  }
  v1::Policy policy;
  policy.set_name("p");
  policy.add_agents("gpu-*");
  policy.add_roots("/data");
  policy.mutable_retention()->set_keep_last(1);
  ASSERT_OK(catalog->policies().Put(policy));

  ASSERT_OK_AND_ASSIGN(v1::ClientCredentials admin, AdminCredentials(*server, v1::ROLE_ADMIN));
  std::unique_ptr<v1::AdminService::Stub> stub =
      v1::AdminService::NewStub(TestChannel(*server, admin));
  {
    grpc::ClientContext context;
    v1::PruneRequest request;
    request.set_dry_run(true);
    v1::PruneResponse response;
    ASSERT_TRUE(stub->Prune(&context, request, &response).ok());
    EXPECT_THAT(response.expired_snapshot_ids(), ::testing::UnorderedElementsAre(ids[0], ids[1]));
    EXPECT_EQ(response.kept(), 1u);
  }
  {
    grpc::ClientContext context;
    v1::PruneResponse response;
    ASSERT_TRUE(stub->Prune(&context, v1::PruneRequest(), &response).ok());
    EXPECT_EQ(response.expired_snapshot_ids_size(), 2);
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> left, catalog->snapshots().List("", 10));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].id(), ids[2]);
  }
  {
    grpc::ClientContext context;
    v1::GcResponse response;
    ASSERT_TRUE(stub->CollectGarbage(&context, v1::GcRequest(), &response).ok());
    EXPECT_EQ(response.chunks_deleted(), 0u);
  }
  {
    grpc::ClientContext context;
    v1::GcRequest request;
    request.set_compact_below(2);
    v1::GcResponse response;
    grpc::Status status = stub->CollectGarbage(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace cairn

// The two gRPC services end to end in-process: a real CairnServer on a
// loopback port and real stubs over a real channel. Snapshots are built
// through the agent RPCs with fake sealed bytes (the server never decrypts),
// then browsed and diffed through the admin RPCs.
#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), ": ", status.error_message());
}

class GrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = FreshTestDir("grpc");
    StartServer();
  }

  void TearDown() override {
    StopServer();
    RemoveTestDirUnlessFailed(state_dir_);
  }

  void StartServer() {
    v1::ServerConfig config;
    config.set_listen("127.0.0.1:0");
    config.set_state_dir(state_dir_);
    absl::StatusOr<std::unique_ptr<CairnServer>> server = CairnServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
    args.SetMaxSendMessageSize(-1);  // let the client send what the server must refuse
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                             grpc::InsecureChannelCredentials(), args);
    agent_ = v1::AgentService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
  }

  void StopServer() {
    agent_.reset();
    admin_.reset();
    server_.reset();  // shuts down and waits for handlers in flight
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  grpc::Status Hello(absl::string_view agent, absl::string_view tenant) {
    v1::HelloRequest request;
    request.set_agent(std::string(agent));
    request.set_tenant(std::string(tenant));
    v1::HelloResponse response;
    return agent_->Hello(Context().get(), request, &response);
  }

  // Hello + BeginBackup; the job id, or "" after a failure.
  std::string Begin(absl::string_view agent, absl::string_view tenant,
                    v1::BackupLevel level = v1::BACKUP_LEVEL_INCREMENTAL) {
    grpc::Status hello = Hello(agent, tenant);
    EXPECT_TRUE(hello.ok()) << Describe(hello);
    v1::BeginBackupRequest request;
    request.set_agent(std::string(agent));
    request.add_roots("/data");
    request.set_level(level);
    v1::BeginBackupResponse response;
    grpc::Status status = agent_->BeginBackup(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return response.job_id();
  }

  grpc::Status Upload(absl::string_view job, const std::vector<std::string>& ids,
                      v1::UploadChunksResponse* response) {
    auto context = Context();
    auto stream = agent_->UploadChunks(context.get(), response);
    v1::UploadChunkRequest chunk;
    chunk.set_job_id(std::string(job));
    for (size_t i = 0; i < ids.size(); ++i) {
      chunk.set_id(ids[i]);
      chunk.set_size(2048);
      chunk.set_sealed(TestSealed(i, 1000));
      if (!stream->Write(chunk)) break;
      chunk.clear_job_id();
    }
    stream->WritesDone();
    return stream->Finish();
  }

  std::vector<uint32_t> Missing(absl::string_view job, const std::vector<std::string>& ids) {
    v1::FindMissingChunksRequest request;
    request.set_job_id(std::string(job));
    for (const std::string& id : ids) request.add_ids(id);
    v1::FindMissingChunksResponse response;
    grpc::Status status = agent_->FindMissingChunks(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return std::vector<uint32_t>(response.missing().begin(), response.missing().end());
  }

  grpc::Status PutTrees(absl::string_view job, const std::vector<std::string>& trees) {
    v1::PutTreesRequest request;
    request.set_job_id(std::string(job));
    for (const std::string& t : trees) request.add_trees(t);
    v1::PutTreesResponse response;
    return agent_->PutTrees(Context().get(), request, &response);
  }

  v1::Snapshot Commit(absl::string_view job, absl::string_view root) {
    v1::CommitSnapshotRequest request;
    request.set_job_id(std::string(job));
    request.set_root_tree_id(std::string(root));
    request.mutable_stats()->set_files(7);
    v1::CommitSnapshotResponse response;
    grpc::Status status = agent_->CommitSnapshot(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return response.snapshot();
  }

  grpc::Status OrderRestore(const v1::RestoreOrder& order, v1::OrderResponse* response) {
    v1::OrderRestoreRequest request;
    *request.mutable_order() = order;
    return admin_->OrderRestore(Context().get(), request, response);
  }

  std::string state_dir_;
  std::unique_ptr<CairnServer> server_;
  std::unique_ptr<v1::AgentService::Stub> agent_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

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

TEST_F(GrpcServiceTest, UploadStoresChunksDurably) {
  std::string job = Begin("a1", "t1");
  std::vector<std::string> ids = {TestChunkId(1), TestChunkId(2), TestChunkId(3)};
  EXPECT_THAT(Missing(job, ids), ElementsAre(0u, 1u, 2u));
  v1::UploadChunksResponse response;
  grpc::Status status = Upload(job, ids, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 3u);
  EXPECT_GT(response.bytes_stored(), 3000u);
  EXPECT_THAT(Missing(job, ids), IsEmpty());
  status = Upload(job, ids, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 0u);
  EXPECT_EQ(response.chunks_already_present(), 3u);
}

TEST_F(GrpcServiceTest, CancelledUploadStoresNothingOfItsOpenPack) {
  std::string job = Begin("a1", "t1");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(TestChunkId(i));
  const std::string packs_dir = state_dir_ + "/packs";
  {
    grpc::ClientContext context;
    v1::UploadChunksResponse response;
    auto stream = agent_->UploadChunks(&context, &response);
    v1::UploadChunkRequest chunk;
    chunk.set_job_id(job);
    for (size_t i = 0; i < ids.size(); ++i) {
      chunk.set_id(ids[i]);
      chunk.set_size(2048);
      chunk.set_sealed(TestSealed(i, 1000));
      ASSERT_TRUE(stream->Write(chunk));
    }
    // Wait until the server is half-way: its open pack exists as a temp file.
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (RawDirListing(packs_dir).empty() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_FALSE(RawDirListing(packs_dir).empty()) << "the server never opened a pack";
    context.TryCancel();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << Describe(status);
  }
  EXPECT_THAT(Missing(job, ids), ElementsAre(0u, 1u, 2u, 3u, 4u, 5u));

  // Once the handler has surely ended (shutdown waits for it), nothing is
  // catalogued and no pack or temp file is left; after a restart too.
  StopServer();
  EXPECT_THAT(RawDirListing(packs_dir), IsEmpty());
  StartServer();
  EXPECT_THAT(Missing(job, ids), ElementsAre(0u, 1u, 2u, 3u, 4u, 5u));
  v1::GetStatusResponse status;
  ASSERT_TRUE(admin_->GetStatus(Context().get(), v1::GetStatusRequest(), &status).ok());
  EXPECT_EQ(status.chunks(), 0u);
  EXPECT_EQ(status.tiers(0).packs(), 0u);
  // The agent simply sends again.
  v1::UploadChunksResponse response;
  grpc::Status again = Upload(job, ids, &response);
  ASSERT_TRUE(again.ok()) << Describe(again);
  EXPECT_THAT(Missing(job, ids), IsEmpty());
}

TEST_F(GrpcServiceTest, MessagesOverTheCapAreRefusedAndTheServerGoesOn) {
  std::string job = Begin("a1", "t1");
  {
    v1::PutTreesRequest request;
    request.set_job_id(job);
    request.add_trees(std::string(kMaxGrpcMessageBytes + 1024, 'x'));
    v1::PutTreesResponse response;
    grpc::Status status = agent_->PutTrees(Context().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  }
  {
    auto context = Context();
    v1::UploadChunksResponse response;
    auto stream = agent_->UploadChunks(context.get(), &response);
    v1::UploadChunkRequest chunk;
    chunk.set_job_id(job);
    chunk.set_id(TestChunkId(1));
    chunk.set_size(1);
    chunk.set_sealed(std::string(kMaxGrpcMessageBytes, 's'));
    stream->Write(chunk);
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  }
  EXPECT_TRUE(Hello("a1", "t1").ok());
  v1::UploadChunksResponse response;
  grpc::Status status = Upload(job, {TestChunkId(1)}, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 1u);
}

TEST_F(GrpcServiceTest, UploadRefusesHostileFramingAndUnknownJobs) {
  std::string job = Begin("a1", "t1");
  v1::UploadChunksResponse response;
  grpc::Status status = Upload("j-nope", {TestChunkId(1)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  status = Upload(job, {TestChunkId(1), std::string(31, 'x')}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_THAT(Missing(job, {TestChunkId(1)}), ElementsAre(0u));
}

TEST_F(GrpcServiceTest, ControlStreamStartsWithHello) {
  {
    auto context = Context();
    auto stream = agent_->Control(context.get());
    v1::AgentEvent event;
    event.mutable_heartbeat()->set_pending_files(3);
    stream->Write(event);
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_THAT(status.error_message(), HasSubstr("hello"));
  }
  {
    auto context = Context();
    auto stream = agent_->Control(context.get());
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  }
  {
    auto context = Context();
    auto stream = agent_->Control(context.get());
    v1::AgentEvent event;
    event.mutable_hello()->set_agent("bad name");
    event.mutable_hello()->set_tenant("t1");
    stream->Write(event);
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  }
  v1::ListAgentsResponse agents;
  ASSERT_TRUE(admin_->ListAgents(Context().get(), v1::ListAgentsRequest(), &agents).ok());
  EXPECT_THAT(agents.agents(), IsEmpty());
}

// Builds, through the agent RPCs, two snapshots of one agent:
//   1: a.txt  dir/{sub/z, x, y}  dir.txt  meta.txt  shared/{s1, s2}
//   2: b.txt  dir/{new/n, sub/z, x', y}  dir.txt  meta.txt (chmod)  shared/{s1, s2}
// dir/sub and shared are the same trees in both.
class BrowseTest : public GrpcServiceTest {
 protected:
  void SetUp() override {
    GrpcServiceTest::SetUp();
    std::vector<std::string> chunks;
    for (int i = 0; i < 12; ++i) chunks.push_back(TestChunkId(i, 7));
    auto file = [&](absl::string_view name, int chunk) {
      return FileEntry(name, {chunks[chunk]}, 2048);
    };

    std::string job1 = Begin("a1", "t1", v1::BACKUP_LEVEL_FULL);
    v1::UploadChunksResponse uploaded;
    grpc::Status status = Upload(job1, chunks, &uploaded);
    ASSERT_TRUE(status.ok()) << Describe(status);

    const std::string sub = TreeBytes({file("z", 4)});
    shared_ = TreeBytes({file("s1", 5), file("s2", 6)});
    const std::string dir1 =
        TreeBytes({DirEntry("sub", Sha256Of(sub)), file("x", 2), file("y", 3)});
    v1::TreeEntry meta = file("meta.txt", 7);
    const std::string root1 =
        TreeBytes({file("a.txt", 1), DirEntry("dir", Sha256Of(dir1)), file("dir.txt", 11), meta,
                   DirEntry("shared", Sha256Of(shared_))});
    status = PutTrees(job1, {sub, shared_, dir1, root1});
    ASSERT_TRUE(status.ok()) << Describe(status);
    first_ = Commit(job1, Sha256Of(root1));
    ASSERT_FALSE(first_.id().empty());

    std::string job2 = Begin("a1", "t1");
    const std::string added = TreeBytes({file("n", 10)});
    const std::string dir2 =
        TreeBytes({DirEntry("new", Sha256Of(added)), DirEntry("sub", Sha256Of(sub)), file("x", 9),
                   file("y", 3)});
    meta.set_mode(0600);
    const std::string root2 =
        TreeBytes({file("b.txt", 8), DirEntry("dir", Sha256Of(dir2)), file("dir.txt", 11), meta,
                   DirEntry("shared", Sha256Of(shared_))});
    status = PutTrees(job2, {added, dir2, root2});
    ASSERT_TRUE(status.ok()) << Describe(status);
    second_ = Commit(job2, Sha256Of(root2));
    ASSERT_FALSE(second_.id().empty());
    EXPECT_EQ(second_.parent_id(), first_.id());
  }

  grpc::Status List(const v1::ListFilesRequest& request, v1::ListFilesResponse* response) {
    return admin_->ListFiles(Context().get(), request, response);
  }

  std::vector<std::string> ListPaths(absl::string_view prefix, bool recursive, uint32_t limit = 0) {
    v1::ListFilesRequest request;
    request.set_snapshot_id(first_.id());
    request.set_prefix(std::string(prefix));
    request.set_recursive(recursive);
    request.set_limit(limit);
    v1::ListFilesResponse response;
    grpc::Status status = List(request, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    std::vector<std::string> paths;
    for (const v1::FileInfo& f : response.files()) paths.push_back(f.path());
    return paths;
  }

  // Every page of a listing with `limit` entries a page, joined.
  std::vector<std::string> ListAllPages(absl::string_view prefix, uint32_t limit, int* pages) {
    v1::ListFilesRequest request;
    request.set_snapshot_id(first_.id());
    request.set_prefix(std::string(prefix));
    request.set_recursive(true);
    request.set_limit(limit);
    std::vector<std::string> paths;
    *pages = 0;
    while (*pages < 100) {
      v1::ListFilesResponse response;
      grpc::Status status = List(request, &response);
      EXPECT_TRUE(status.ok()) << Describe(status);
      if (!status.ok()) break;
      ++*pages;
      EXPECT_LE(response.files_size(), static_cast<int>(limit));
      for (const v1::FileInfo& f : response.files()) paths.push_back(f.path());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return paths;
  }

  using Change = std::tuple<std::string, v1::ChangeKind, v1::EntryType>;
  std::vector<Change> Diff(const v1::DiffSnapshotsResponse& response) {
    std::vector<Change> changes;
    for (const v1::Change& c : response.changes()) {
      changes.emplace_back(c.path(), c.kind(), c.type());
    }
    return changes;
  }

  std::string shared_;
  v1::Snapshot first_;
  v1::Snapshot second_;
};

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

TEST_F(BrowseTest, ReadChunksIsScopedByTheSnapshot) {
  v1::ReadChunksRequest request;
  request.set_snapshot_id(first_.id());
  request.add_ids(TestChunkId(1, 7));
  {
    auto context = Context();
    auto reader = agent_->ReadChunks(context.get(), request);
    v1::ReadChunkResponse chunk;
    ASSERT_TRUE(reader->Read(&chunk));
    EXPECT_EQ(chunk.id(), TestChunkId(1, 7));
    EXPECT_EQ(chunk.sealed(), TestSealed(1, 1000));
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_TRUE(reader->Finish().ok());
  }
  // Tenant t2's snapshot cannot reach t1's chunks.
  std::string job = Begin("b1", "t2", v1::BACKUP_LEVEL_FULL);
  v1::UploadChunksResponse uploaded;
  ASSERT_TRUE(Upload(job, {TestChunkId(0, 9)}, &uploaded).ok());
  std::string root = TreeBytes({FileEntry("f", {TestChunkId(0, 9)}, 2048)});
  ASSERT_TRUE(PutTrees(job, {root}).ok());
  v1::Snapshot other = Commit(job, Sha256Of(root));
  request.set_snapshot_id(other.id());
  {
    auto context = Context();
    auto reader = agent_->ReadChunks(context.get(), request);
    v1::ReadChunkResponse chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  }
  for (size_t i = 0; i < kMaxReadIdsPerCall; ++i) request.add_ids(TestChunkId(i));
  {
    auto context = Context();
    auto reader = agent_->ReadChunks(context.get(), request);
    v1::ReadChunkResponse chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  }
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

TEST_F(BrowseTest, ARestoreOrderReachesTheAgentsControlStream) {
  auto context = Context();
  auto stream = agent_->Control(context.get());
  v1::AgentEvent hello;
  hello.mutable_hello()->set_agent("a1");
  hello.mutable_hello()->set_tenant("t1");
  ASSERT_TRUE(stream->Write(hello));

  v1::RestoreOrder order;
  order.set_snapshot_id(first_.id());
  order.set_target_directory("/restore");
  v1::OrderResponse ordered;
  grpc::Status status = OrderRestore(order, &ordered);
  ASSERT_TRUE(status.ok()) << Describe(status);

  v1::ServerOrder received;
  bool got_restore = false;
  while (!got_restore && stream->Read(&received)) {
    got_restore = received.has_restore();
  }
  ASSERT_TRUE(got_restore);
  EXPECT_EQ(received.job_id(), ordered.job().id());
  EXPECT_EQ(received.restore().snapshot_id(), first_.id());
  EXPECT_EQ(received.restore().target_directory(), "/restore");

  // The agent goes away before finishing: the restore cannot finish now.
  stream->WritesDone();
  context->TryCancel();
  (void)stream->Finish();
  v1::GetJobRequest get;
  get.set_job_id(ordered.job().id());
  v1::GetJobResponse job;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    ASSERT_TRUE(admin_->GetJob(Context().get(), get, &job).ok());
    if (job.job().state() == v1::JOB_STATE_FAILED) break;
    absl::SleepFor(absl::Milliseconds(10));
  } while (absl::Now() < deadline);
  EXPECT_EQ(job.job().state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(job.job().error(), HasSubstr("disconnected"));
}

}  // namespace
}  // namespace cairn

#include "tests/server/rpc/rpc_test_util.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"

namespace cairn {

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), ": ", status.error_message());
}

void GrpcServiceTest::SetUp() {
  state_dir_ = FreshTestDir("grpc");
  StartServer();
}

void GrpcServiceTest::TearDown() {
  StopServer();
  RemoveTestDirUnlessFailed(state_dir_);
}

void GrpcServiceTest::StartServer() {
  v1::ServerConfig config;
  config.set_listen("127.0.0.1:0");
  config.set_state_dir(state_dir_);
  absl::StatusOr<std::unique_ptr<CairnServer>> server = CairnServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  if (admin_credentials_.cert_pem().empty()) {
    absl::StatusOr<v1::ClientCredentials> admin = AdminCredentials(*server_, v1::ROLE_ADMIN);
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_credentials_ = *std::move(admin);
  }
  admin_ = v1::AdminService::NewStub(TestChannel(*server_, admin_credentials_));
  if (!current_agent_.empty()) UseAgent(current_agent_, enrolled_[current_agent_].tenant());
}

void GrpcServiceTest::StopServer() {
  agent_ = nullptr;
  agent_stubs_.clear();
  admin_.reset();
  server_.reset();  // shuts down and waits for handlers in flight
}

void GrpcServiceTest::UseAgent(absl::string_view agent, absl::string_view tenant) {
  const std::string name(agent);
  if (!enrolled_.contains(name)) {
    absl::StatusOr<v1::ClientCredentials> c = EnrollAgentForTest(*server_, tenant, agent);
    ASSERT_TRUE(c.ok()) << c.status();
    enrolled_[name] = *std::move(c);
  }
  std::unique_ptr<v1::AgentService::Stub>& stub = agent_stubs_[name];
  if (stub == nullptr) stub = v1::AgentService::NewStub(TestChannel(*server_, enrolled_[name]));
  agent_ = stub.get();
  current_agent_ = name;
}

std::unique_ptr<grpc::ClientContext> GrpcServiceTest::Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return context;
}

grpc::Status GrpcServiceTest::Hello(absl::string_view agent, absl::string_view tenant) {
  UseAgent(agent, tenant);
  if (agent_ == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "not enrolled");
  v1::HelloRequest request;
  request.set_key_check(TestKeyCheck(tenant));
  request.set_agent(std::string(agent));
  request.set_tenant(std::string(tenant));
  v1::HelloResponse response;
  return agent_->Hello(Context().get(), request, &response);
}

std::string GrpcServiceTest::Begin(absl::string_view agent, absl::string_view tenant,
                                   v1::BackupLevel level) {
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

grpc::Status GrpcServiceTest::Upload(absl::string_view job, const std::vector<std::string>& ids,
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

std::vector<uint32_t> GrpcServiceTest::Missing(absl::string_view job,
                                               const std::vector<std::string>& ids) {
  v1::FindMissingChunksRequest request;
  request.set_job_id(std::string(job));
  for (const std::string& id : ids) request.add_ids(id);
  v1::FindMissingChunksResponse response;
  grpc::Status status = agent_->FindMissingChunks(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << Describe(status);
  return std::vector<uint32_t>(response.missing().begin(), response.missing().end());
}

grpc::Status GrpcServiceTest::PutTrees(absl::string_view job,
                                       const std::vector<std::string>& trees) {
  v1::PutTreesRequest request;
  request.set_job_id(std::string(job));
  for (const std::string& t : trees) request.add_trees(t);
  v1::PutTreesResponse response;
  return agent_->PutTrees(Context().get(), request, &response);
}

v1::Snapshot GrpcServiceTest::Commit(absl::string_view job, absl::string_view root) {
  v1::CommitSnapshotRequest request;
  request.set_job_id(std::string(job));
  request.set_root_tree_id(std::string(root));
  request.set_manifest_mac(std::string(32, 'm'));  // the server keeps it; only agents check it
  request.mutable_stats()->set_files(7);
  v1::CommitSnapshotResponse response;
  grpc::Status status = agent_->CommitSnapshot(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << Describe(status);
  return response.snapshot();
}

grpc::Status GrpcServiceTest::OrderRestore(const v1::RestoreOrder& order,
                                           v1::OrderResponse* response) {
  v1::OrderRestoreRequest request;
  *request.mutable_order() = order;
  return admin_->OrderRestore(Context().get(), request, response);
}

void BrowseTest::SetUp() {
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
  const std::string dir1 = TreeBytes({DirEntry("sub", Sha256Of(sub)), file("x", 2), file("y", 3)});
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
  const std::string dir2 = TreeBytes({DirEntry("new", Sha256Of(added)),
                                      DirEntry("sub", Sha256Of(sub)), file("x", 9), file("y", 3)});
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

grpc::Status BrowseTest::List(const v1::ListFilesRequest& request,
                              v1::ListFilesResponse* response) {
  return admin_->ListFiles(Context().get(), request, response);
}

std::vector<std::string> BrowseTest::ListPaths(absl::string_view prefix, bool recursive,
                                               uint32_t limit) {
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

std::vector<std::string> BrowseTest::ListAllPages(absl::string_view prefix, uint32_t limit,
                                                  int* pages) {
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

std::vector<BrowseTest::Change> BrowseTest::Diff(const v1::DiffSnapshotsResponse& response) {
  std::vector<Change> changes;
  for (const v1::Change& c : response.changes()) {
    changes.emplace_back(c.path(), c.kind(), c.type());
  }
  return changes;
}

}  // namespace cairn

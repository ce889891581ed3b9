#include "tests/server/ingest/ingest_test_util.h"

#include <utility>

namespace cairn {

void IngestServiceTest::SetUp() {
  repo_ = OpenTestRepo("repository");
  ASSERT_NE(repo_, nullptr);
  ASSERT_OK_AND_ASSIGN(job_, StartBackup(calls(), "a1", "t1", "/data", v1::BACKUP_LEVEL_FULL));
  for (uint64_t n = 0; n < 8; ++n) stored_.push_back(TestChunkId(n));
  ASSERT_OK(StoreChunks(calls(), job_, stored_));
}

v1::HelloRequest IngestServiceTest::Hello(absl::string_view agent, absl::string_view tenant) {
  v1::HelloRequest hello;
  hello.set_agent(std::string(agent));
  hello.set_tenant(std::string(tenant));
  return hello;
}

absl::StatusOr<v1::BeginBackupResponse> IngestServiceTest::Begin(absl::string_view agent,
                                                                 std::vector<std::string> roots,
                                                                 v1::BackupLevel level) {
  v1::BeginBackupRequest begin;
  begin.set_agent(std::string(agent));
  for (std::string& r : roots) begin.add_roots(std::move(r));
  begin.set_level(level);
  return calls().BeginBackup(begin);
}

absl::StatusOr<std::string> IngestServiceTest::SimpleRoot(absl::string_view job,
                                                          absl::string_view name) {
  std::string tree = TreeBytes({FileEntry(name, {stored_[0], stored_[1]}, 100)});
  absl::Status status = PutTreesOnce(calls(), job, {tree});
  if (!status.ok()) return status;
  return Sha256Of(tree);
}

bool IngestServiceTest::TreeStored(absl::string_view tree_bytes) {
  v1::FindMissingTreesRequest request;
  request.set_job_id(job_);
  request.add_ids(Sha256Of(tree_bytes));
  absl::StatusOr<v1::FindMissingTreesResponse> missing = calls().FindMissingTrees(request);
  EXPECT_TRUE(missing.ok()) << missing.status();
  return missing.ok() && missing->missing().empty();
}

absl::StatusOr<std::optional<v1::Job>> IngestServiceTest::GetJob(absl::string_view id) {
  return repo_->catalog->jobs().Get(id);
}

}  // namespace cairn

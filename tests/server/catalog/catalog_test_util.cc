#include "tests/server/catalog/catalog_test_util.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {

void CatalogTest::SetUp() {
  dir_ = FreshTestDir("catalog");
  ASSERT_OK(MakeDirectories(dir_, 0750));
  path_ = dir_ + "/catalog.db";
  Reopen();
}

void CatalogTest::TearDown() {
  catalog_.reset();
  RemoveTestDirUnlessFailed(dir_);
}

void CatalogTest::Reopen() {
  catalog_.reset();
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path_);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  catalog_ = *std::move(catalog);
}

v1::AgentInfo CatalogTest::Agent(absl::string_view name, absl::string_view tenant) {
  v1::AgentInfo info;
  info.set_name(std::string(name));
  info.set_tenant(std::string(tenant));
  info.set_hostname(absl::StrCat(name, ".example"));
  info.set_last_seen_unix_ms(1000);
  return info;
}

std::vector<StoredChunk> CatalogTest::Chunks(uint64_t first, uint64_t count, uint32_t salt) {
  std::vector<StoredChunk> chunks;
  for (uint64_t i = 0; i < count; ++i) {
    chunks.push_back(StoredChunk{TestChunkId(first + i, salt), 8 + i * 100, 100,
                                 static_cast<uint32_t>(200 + i)});
  }
  return chunks;
}

std::vector<std::string> CatalogTest::Ids(const std::vector<StoredChunk>& chunks) {
  std::vector<std::string> ids;
  for (const StoredChunk& c : chunks) ids.push_back(c.id);
  return ids;
}

v1::Job CatalogTest::Job(absl::string_view id, absl::string_view agent, v1::JobState state,
                         int64_t created_ms) {
  v1::Job job;
  job.set_id(std::string(id));
  job.set_kind(v1::JOB_KIND_BACKUP);
  job.set_state(state);
  job.set_agent(std::string(agent));
  job.set_created_unix_ms(created_ms);
  return job;
}

v1::Snapshot CatalogTest::Snapshot(absl::string_view id, absl::string_view job_id,
                                   v1::BackupLevel level, int64_t created_ms) {
  v1::Snapshot s;
  s.set_id(std::string(id));
  s.set_agent("a1");
  s.set_tenant("t1");
  s.add_roots("/data");
  s.set_level(level);
  s.set_root_tree_id(Sha256Of(id));
  s.set_created_unix_ms(created_ms);
  s.set_job_id(std::string(job_id));
  s.mutable_stats()->set_bytes_scanned(1000);
  return s;
}

absl::StatusOr<v1::Snapshot> CatalogTest::CommitNew(absl::string_view id, absl::string_view job_id,
                                                    v1::BackupLevel level, int64_t created_ms) {
  v1::Job job = Job(job_id, "a1", v1::JOB_STATE_RUNNING, created_ms);
  absl::Status inserted = catalog_->jobs().Insert(job, created_ms + 1000);
  if (!inserted.ok()) return inserted;
  job.set_state(v1::JOB_STATE_SUCCEEDED);
  job.set_snapshot_id(std::string(id));
  return catalog_->snapshots().Commit(Snapshot(id, job_id, level, created_ms), job);
}

}  // namespace cairn

// Shared fixture of the Catalog tests: a real catalog file in a fresh temp
// directory, reopened on demand, and builders of agents, stored chunks, jobs
// and snapshots (agent a1, tenant t1, root /data).
//
//   TEST_F(CatalogTest, X) {
//     ASSERT_OK(CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());
//     Reopen();
//   }
#ifndef CAIRN_TESTS_SERVER_CATALOG_CATALOG_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_CATALOG_CATALOG_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"

namespace cairn {

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Closes the catalog and opens the file again.
  void Reopen();

  v1::AgentInfo Agent(absl::string_view name, absl::string_view tenant);
  // `count` stored chunks TestChunkId(first + i, salt): 100 bytes each, back to
  // back after an 8-byte header, raw size 200 + i.
  std::vector<StoredChunk> Chunks(uint64_t first, uint64_t count, uint32_t salt = 0);
  static std::vector<std::string> Ids(const std::vector<StoredChunk>& chunks);
  v1::Job Job(absl::string_view id, absl::string_view agent, v1::JobState state,
              int64_t created_ms);
  // A snapshot of a1 (tenant t1, root /data) for `job_id`.
  v1::Snapshot Snapshot(absl::string_view id, absl::string_view job_id, v1::BackupLevel level,
                        int64_t created_ms);
  // Inserts a running job `job_id` and commits snapshot `id` for it.
  absl::StatusOr<v1::Snapshot> CommitNew(absl::string_view id, absl::string_view job_id,
                                         v1::BackupLevel level, int64_t created_ms);

  std::string dir_;
  std::string path_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_CATALOG_CATALOG_TEST_UTIL_H_

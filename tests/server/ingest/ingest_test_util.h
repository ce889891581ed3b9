// Shared fixture of the IngestService tests: a repository with a real
// Catalog, JobBoard and LocalTier, agent a1 of tenant t1 with a running full
// backup (job_) that has stored eight chunks (stored_), and short-hands for
// hellos, backups, a one-file root tree and job lookups.
//
//   TEST_F(IngestServiceTest, X) {
//     ASSERT_OK_AND_ASSIGN(std::string root, SimpleRoot(job_));
//     ASSERT_OK_AND_ASSIGN(v1::Snapshot s, Commit(calls(), job_, root));
//   }
#ifndef CAIRN_TESTS_SERVER_INGEST_INGEST_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_INGEST_INGEST_TEST_UTIL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/agent.pb.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override;

  AgentCalls& calls() { return *repo_->agent; }

  v1::HelloRequest Hello(absl::string_view agent, absl::string_view tenant);

  absl::StatusOr<v1::BeginBackupResponse> Begin(absl::string_view agent,
                                                std::vector<std::string> roots,
                                                v1::BackupLevel level);

  // A one-file tree over stored chunks, stored for `job`; its id.
  absl::StatusOr<std::string> SimpleRoot(absl::string_view job, absl::string_view name = "f");

  // Whether the tree of these bytes is stored (asked through job_).
  bool TreeStored(absl::string_view tree_bytes);

  absl::StatusOr<std::optional<v1::Job>> GetJob(absl::string_view id);

  std::unique_ptr<TestRepo> repo_;
  std::string job_;
  std::vector<std::string> stored_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_INGEST_INGEST_TEST_UTIL_H_

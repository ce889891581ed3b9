// Shared helpers for the server tests: deterministic fake chunk ids and
// sealed bytes (the server never decrypts, so any bytes will do), tree
// builders, a real ServerCore (catalog, local tier, services) in a fresh temp
// directory, and short-hands that drive a backup through the core as an agent
// would, without gRPC.
//
//   std::unique_ptr<TestRepo> repo = OpenTestRepo("repo");
//   ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo->agent, "a1", "t1", "/data"));
#ifndef CAIRN_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_SERVER_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/agent.pb.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"
#include "server/auth/caller.h"
#include "server/catalog/catalog.h"
#include "server/core/server_core.h"
#include "server/tiers/tier.h"
#include "tests/server/tiers/tier_test_dir.h"
#include "tests/test_status.h"

namespace cairn {

// 32 bytes naming fake chunk `n`; `salt` gives a disjoint family of ids.
std::string TestChunkId(uint64_t n, uint32_t salt = 0);
// `size` bytes standing in for a sealed chunk, different per `n`.
std::string TestSealed(uint64_t n, size_t size);
std::string Sha256Of(absl::string_view data);
// The permission bits of `path`, or -1 when it does not exist.
int FileModeOf(const std::string& path);
// The contents of `path` (at most 1 MiB); "" and a test failure if unreadable.
std::string ReadTestFile(const std::string& path);

// A file entry of `size` bytes whose data is `chunk_ids`, each `chunk_size`
// bytes, back to back from offset 0.
v1::TreeEntry FileEntry(absl::string_view name, const std::vector<std::string>& chunk_ids,
                        uint32_t chunk_size);
v1::TreeEntry DirEntry(absl::string_view name, absl::string_view subtree_id);
// A tree of `entries` in the order given (callers sort, or do not on purpose).
std::string TreeBytes(const std::vector<v1::TreeEntry>& entries);

// Removes `dir` and everything below it, unless the current test failed:
// then it stays for a look.
void RemoveTestDirUnlessFailed(const std::string& dir);

// The calls an agent makes, made straight into a ServerCore's services as
// `caller` (trusted unless a test says otherwise), without gRPC.
class AgentCalls {
 public:
  explicit AgentCalls(ServerCore* core, Caller caller = Caller::Internal())
      : core_(core), caller_(std::move(caller)) {}
  absl::StatusOr<v1::HelloResponse> Hello(const v1::HelloRequest& r) {
    return core_->control().Hello(caller_, r);
  }
  absl::StatusOr<v1::BeginBackupResponse> BeginBackup(const v1::BeginBackupRequest& r) {
    return core_->ingest().BeginBackup(caller_, r);
  }
  absl::StatusOr<v1::FindMissingChunksResponse> FindMissingChunks(
      const v1::FindMissingChunksRequest& r) {
    return core_->ingest().FindMissingChunks(caller_, r);
  }
  absl::StatusOr<std::unique_ptr<PackIngest>> StartUpload(absl::string_view job) {
    return core_->ingest().StartUpload(caller_, job);
  }
  absl::StatusOr<v1::FindMissingTreesResponse> FindMissingTrees(
      const v1::FindMissingTreesRequest& r) {
    return core_->ingest().FindMissingTrees(caller_, r);
  }
  absl::StatusOr<v1::PutTreesResponse> PutTrees(const v1::PutTreesRequest& r) {
    return core_->ingest().PutTrees(caller_, r);
  }
  absl::StatusOr<v1::GetTreeResponse> GetTree(const v1::GetTreeRequest& r) {
    return core_->reader().GetTree(caller_, r);
  }
  absl::StatusOr<v1::CommitSnapshotResponse> CommitSnapshot(const v1::CommitSnapshotRequest& r) {
    return core_->ingest().CommitSnapshot(caller_, r);
  }
  absl::Status FinishJob(const v1::FinishJobRequest& r) { return core_->orders().FinishJob(caller_, r); }
  // Every chunk of `ids` read back as a restore would: id -> sealed bytes.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadChunks(
      absl::string_view snapshot_id, const std::vector<std::string>& ids,
      ChunkReadStats* stats = nullptr);

 private:
  ServerCore* core_;
  Caller caller_;
};

// A server core over real components in a fresh directory (catalog.db and
// packs/ inside). `tier` stays owned by the core. The directory goes away
// with the TestRepo, once everything in it is closed.
struct TestRepo {
  struct Cleanup {
    std::string dir;
    ~Cleanup() { RemoveTestDirUnlessFailed(dir); }
  };
  Cleanup cleanup;  // first member: destroyed last
  std::string dir;
  std::unique_ptr<ServerCore> core;
  Catalog* catalog = nullptr;
  JobBoard* jobs = nullptr;
  std::unique_ptr<AgentCalls> agent;
  Tier* tier = nullptr;
};
// `wrap` may wrap the local tier (fault injection) before the core takes it.
std::unique_ptr<TestRepo> OpenTestRepo(
    absl::string_view label, CoreOptions options = CoreOptions(),
    std::function<std::unique_ptr<Tier>(std::unique_ptr<Tier>)> wrap = nullptr);
// The same over an existing directory (reopening after a crash).
absl::StatusOr<std::unique_ptr<TestRepo>> OpenTestRepoIn(
    const std::string& dir, CoreOptions options = CoreOptions(),
    std::function<std::unique_ptr<Tier>(std::unique_ptr<Tier>)> wrap = nullptr);

// Hello + BeginBackup; the job id.
absl::StatusOr<std::string> StartBackup(AgentCalls& calls, absl::string_view agent,
                                        absl::string_view tenant, absl::string_view root,
                                        v1::BackupLevel level = v1::BACKUP_LEVEL_INCREMENTAL);
// Stores fake sealed chunks (id -> 64 bytes) for the job through a PackIngest.
absl::Status StoreChunks(AgentCalls& calls, absl::string_view job_id,
                         const std::vector<std::string>& ids);
// PutTrees in batches of at most 64; trees must come children first.
absl::Status PutTrees(AgentCalls& calls, absl::string_view job_id,
                      const std::vector<std::string>& trees);
// PutTrees with exactly these trees in one call.
absl::Status PutTreesOnce(AgentCalls& calls, absl::string_view job_id,
                          const std::vector<std::string>& trees);
absl::StatusOr<v1::Snapshot> Commit(AgentCalls& calls, absl::string_view job_id,
                                    absl::string_view root_tree_id);

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_SERVER_TEST_UTIL_H_

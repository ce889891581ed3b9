#include "tests/server/server_test_util.h"

#include <openssl/sha.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "server/tiers/local_tier.h"

namespace cairn {

void RemoveTestDirUnlessFailed(const std::string& dir) {
  if (dir.empty() || ::testing::Test::HasFailure()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

std::string TestChunkId(uint64_t n, uint32_t salt) {
  // Hashing spreads the ids over the key space as real chunk ids are.
  return Sha256Of(absl::StrCat("chunk:", salt, ":", n));
}

std::string TestSealed(uint64_t n, size_t size) {
  std::string bytes(size, '\0');
  uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;
  for (char& c : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return bytes;
}

std::string Sha256Of(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

v1::TreeEntry FileEntry(absl::string_view name, const std::vector<std::string>& chunk_ids,
                        uint32_t chunk_size) {
  v1::TreeEntry entry;
  entry.set_name(std::string(name));
  entry.set_type(v1::ENTRY_TYPE_FILE);
  entry.set_mode(0644);
  entry.set_uid(1000);
  entry.set_gid(1000);
  entry.set_mtime_ns(1'700'000'000'000'000'000);
  entry.set_ctime_ns(1'700'000'000'000'000'000);
  entry.set_inode(12'345'678);
  uint64_t offset = 0;
  for (const std::string& id : chunk_ids) {
    v1::ChunkRef* chunk = entry.add_chunks();
    chunk->set_id(id);
    chunk->set_offset(offset);
    chunk->set_size(chunk_size);
    offset += chunk_size;
  }
  entry.set_size(offset);
  return entry;
}

v1::TreeEntry DirEntry(absl::string_view name, absl::string_view subtree_id) {
  v1::TreeEntry entry;
  entry.set_name(std::string(name));
  entry.set_type(v1::ENTRY_TYPE_DIRECTORY);
  entry.set_mode(0755);
  entry.set_uid(1000);
  entry.set_gid(1000);
  entry.set_mtime_ns(1'700'000'000'000'000'000);
  entry.set_ctime_ns(1'700'000'000'000'000'000);
  entry.set_inode(12'345'678);
  entry.set_subtree_id(std::string(subtree_id));
  return entry;
}

std::string TreeBytes(const std::vector<v1::TreeEntry>& entries) {
  v1::Tree tree;
  for (const v1::TreeEntry& e : entries) *tree.add_entries() = e;
  return tree.SerializeAsString();
}

std::unique_ptr<TestRepo> OpenTestRepo(absl::string_view label, RepositoryOptions options) {
  auto repo = std::make_unique<TestRepo>();
  repo->dir = FreshTestDir(label);
  repo->cleanup.dir = repo->dir;
  absl::Status made = MakeDirectories(repo->dir, 0750);
  EXPECT_TRUE(made.ok()) << made;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(repo->dir + "/catalog.db");
  EXPECT_TRUE(catalog.ok()) << catalog.status();
  if (!catalog.ok()) return nullptr;
  repo->catalog = *std::move(catalog);
  absl::StatusOr<std::unique_ptr<Tier>> tier = OpenLocalTier("hot", repo->dir + "/packs");
  EXPECT_TRUE(tier.ok()) << tier.status();
  if (!tier.ok()) return nullptr;
  repo->tier = tier->get();
  repo->jobs = std::make_unique<JobBoard>(repo->catalog.get(), options.job_lease);
  std::vector<std::unique_ptr<Tier>> tiers;
  tiers.push_back(*std::move(tier));
  repo->repository = std::make_unique<Repository>(repo->catalog.get(), std::move(tiers),
                                                  repo->jobs.get(), options);
  return repo;
}

absl::StatusOr<std::string> StartBackup(Repository& repository, absl::string_view agent,
                                        absl::string_view tenant, absl::string_view root,
                                        v1::BackupLevel level) {
  v1::HelloRequest hello;
  hello.set_agent(std::string(agent));
  hello.set_tenant(std::string(tenant));
  RETURN_IF_ERROR(repository.Hello(hello).status());
  v1::BeginBackupRequest begin;
  begin.set_agent(std::string(agent));
  begin.add_roots(std::string(root));
  begin.set_level(level);
  ASSIGN_OR_RETURN(v1::BeginBackupResponse response, repository.BeginBackup(begin));
  return response.job_id();
}

absl::Status StoreChunks(Repository& repository, absl::string_view job_id,
                         const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(std::unique_ptr<PackIngest> ingest, repository.StartUpload(job_id));
  uint64_t n = 0;
  for (const std::string& id : ids) {
    RETURN_IF_ERROR(ingest->Add(id, 100, TestSealed(n++, 64)));
  }
  return ingest->Finish();
}

absl::Status PutTreesOnce(Repository& repository, absl::string_view job_id,
                          const std::vector<std::string>& trees) {
  v1::PutTreesRequest request;
  request.set_job_id(std::string(job_id));
  for (const std::string& t : trees) request.add_trees(t);
  return repository.PutTrees(request).status();
}

absl::Status PutTrees(Repository& repository, absl::string_view job_id,
                      const std::vector<std::string>& trees) {
  for (size_t i = 0; i < trees.size(); i += kMaxTreesPerCall) {
    size_t end = std::min(trees.size(), i + kMaxTreesPerCall);
    RETURN_IF_ERROR(PutTreesOnce(repository, job_id,
                                 std::vector<std::string>(trees.begin() + i, trees.begin() + end)));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Snapshot> Commit(Repository& repository, absl::string_view job_id,
                                    absl::string_view root_tree_id) {
  v1::CommitSnapshotRequest request;
  request.set_job_id(std::string(job_id));
  request.set_root_tree_id(std::string(root_tree_id));
  ASSIGN_OR_RETURN(v1::CommitSnapshotResponse response, repository.CommitSnapshot(request));
  return response.snapshot();
}

}  // namespace cairn

#include "tests/server/server_test_util.h"

#include <openssl/sha.h>
#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "server/tiers/local_tier.h"
#include "tests/server/tls_test_util.h"

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

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> AgentCalls::ReadChunks(
    absl::string_view snapshot_id, const std::vector<std::string>& ids, ChunkReadStats* stats) {
  v1::ReadChunksRequest request;
  request.set_snapshot_id(std::string(snapshot_id));
  for (const std::string& id : ids) request.add_ids(id);
  std::vector<std::pair<std::string, std::string>> out;
  RETURN_IF_ERROR(core_->reader().ReadChunks(
      caller_, request,
      [&](absl::string_view id, absl::string_view sealed) {
        out.emplace_back(std::string(id), std::string(sealed));
        return absl::OkStatus();
      },
      stats));
  return out;
}

absl::StatusOr<std::unique_ptr<TestRepo>> OpenTestRepoIn(
    const std::string& dir, CoreOptions options,
    std::function<std::unique_ptr<Tier>(std::unique_ptr<Tier>)> wrap) {
  auto repo = std::make_unique<TestRepo>();
  repo->dir = dir;
  RETURN_IF_ERROR(MakeDirectories(dir, 0750));
  ASSIGN_OR_RETURN(std::unique_ptr<Tier> tier, OpenLocalTier("hot", dir + "/packs"));
  if (wrap) tier = wrap(std::move(tier));
  repo->tier = tier.get();
  std::vector<std::unique_ptr<Tier>> tiers;
  tiers.push_back(std::move(tier));
  ASSIGN_OR_RETURN(repo->core,
                   ServerCore::Open(dir + "/catalog.db", std::move(tiers), std::move(options)));
  repo->catalog = &repo->core->catalog();
  repo->jobs = &repo->core->jobs();
  repo->agent = std::make_unique<AgentCalls>(repo->core.get());
  return repo;
}

std::unique_ptr<TestRepo> OpenTestRepo(
    absl::string_view label, CoreOptions options,
    std::function<std::unique_ptr<Tier>(std::unique_ptr<Tier>)> wrap) {
  std::string dir = FreshTestDir(label);
  absl::StatusOr<std::unique_ptr<TestRepo>> repo =
      OpenTestRepoIn(dir, std::move(options), std::move(wrap));
  EXPECT_TRUE(repo.ok()) << repo.status();
  if (!repo.ok()) return nullptr;
  (*repo)->cleanup.dir = dir;
  return *std::move(repo);
}

absl::StatusOr<std::string> StartBackup(AgentCalls& calls, absl::string_view agent,
                                        absl::string_view tenant, absl::string_view root,
                                        v1::BackupLevel level) {
  v1::HelloRequest hello;
  hello.set_agent(std::string(agent));
  hello.set_tenant(std::string(tenant));
  hello.set_key_check(TestKeyCheck(tenant));
  RETURN_IF_ERROR(calls.Hello(hello).status());
  v1::BeginBackupRequest begin;
  begin.set_agent(std::string(agent));
  begin.add_roots(std::string(root));
  begin.set_level(level);
  ASSIGN_OR_RETURN(v1::BeginBackupResponse response, calls.BeginBackup(begin));
  return response.job_id();
}

absl::Status StoreChunks(AgentCalls& calls, absl::string_view job_id,
                         const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(std::unique_ptr<PackIngest> ingest, calls.StartUpload(job_id));
  uint64_t n = 0;
  for (const std::string& id : ids) {
    RETURN_IF_ERROR(ingest->Add(id, 100, TestSealed(n++, 64)));
  }
  return ingest->Finish();
}

absl::Status PutTreesOnce(AgentCalls& calls, absl::string_view job_id,
                          const std::vector<std::string>& trees) {
  v1::PutTreesRequest request;
  request.set_job_id(std::string(job_id));
  for (const std::string& t : trees) request.add_trees(t);
  return calls.PutTrees(request).status();
}

absl::Status PutTrees(AgentCalls& calls, absl::string_view job_id,
                      const std::vector<std::string>& trees) {
  for (size_t i = 0; i < trees.size(); i += kMaxTreesPerCall) {
    size_t end = std::min(trees.size(), i + kMaxTreesPerCall);
    RETURN_IF_ERROR(PutTreesOnce(calls, job_id,
                                 std::vector<std::string>(trees.begin() + i, trees.begin() + end)));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Snapshot> Commit(AgentCalls& calls, absl::string_view job_id,
                                    absl::string_view root_tree_id) {
  v1::CommitSnapshotRequest request;
  request.set_job_id(std::string(job_id));
  request.set_root_tree_id(std::string(root_tree_id));
  ASSIGN_OR_RETURN(v1::CommitSnapshotResponse response, calls.CommitSnapshot(request));
  return response.snapshot();
}

int FileModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

std::string ReadTestFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : std::string();
}

}  // namespace cairn

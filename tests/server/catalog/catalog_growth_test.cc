// The catalog grows with change, not with size: an incremental snapshot of a
// 100k-file tree (1000 directories of 100 files) in which 10 files changed, in
// 10 different directories, shares every unchanged directory's tree with the
// first snapshot. Built through the server core; measured with a second, read-only
// SQLite connection on the catalog file.
#include <sqlite3.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/limits.h"
#include "common/tree_pages.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/catalog/tree_blob.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

constexpr int kDirs = 1000;
constexpr int kFilesPerDir = 100;
constexpr uint32_t kChunkSize = 4096;

// What the catalog holds, read through its own read-only connection.
class CatalogReader final {
 public:
  explicit CatalogReader(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
  }
  ~CatalogReader() { sqlite3_close(db_); }
  CatalogReader(const CatalogReader&) = delete;
  CatalogReader& operator=(const CatalogReader&) = delete;

  int64_t Query(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    EXPECT_NE(value, -1) << sql << ": " << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return value;
  }

  // Bytes of the rows that describe snapshots: the trees they share or own,
  // and the snapshot rows themselves.
  int64_t SnapshotBytes() {
    return Query("SELECT coalesce(sum(length(id) + length(data)), 0) FROM trees") +
           Query(
               "SELECT coalesce(sum(length(id) + length(agent) + length(root) + length(job_id)"
               " + length(root_tree) + length(data) + 4 * 8), 0) FROM snapshots");
  }
  int64_t ChunkRows() { return Query("SELECT count(*) FROM chunks"); }
  int64_t FileBytes() { return Query("PRAGMA page_count") * Query("PRAGMA page_size"); }

 private:
  sqlite3* db_ = nullptr;
};

// File `f` of directory `d`, at `version` (a new version is a new chunk).
v1::TreeEntry File(int d, int f, int version) {
  const uint64_t n = static_cast<uint64_t>(d) * kFilesPerDir + f;
  v1::TreeEntry e =
      FileEntry(absl::StrFormat("file-%03d.bin", f), {TestChunkId(n, version)}, kChunkSize);
  e.set_inode(5'000'000 + n);
  e.set_mtime_ns(1'700'000'000'000'000'000 + n * 1'000'000 + version);
  e.set_ctime_ns(e.mtime_ns());
  return e;
}

// A directory as the agent stores it: cut into pages (common/tree_pages.h),
// its nodes children first, and the id its parent names.
struct Directory {
  std::string id;
  std::vector<std::string> nodes;
};

Directory Paged(const std::vector<v1::TreeEntry>& entries) {
  Directory dir;
  TreeBuilder builder([&](const v1::Tree& node) -> absl::StatusOr<std::string> {
    dir.nodes.push_back(node.SerializeAsString());
    return Sha256Of(dir.nodes.back());
  });
  for (const v1::TreeEntry& e : entries) EXPECT_OK(builder.Add(e));
  absl::StatusOr<std::string> id = builder.Finish();
  EXPECT_OK(id.status());
  dir.id = id.value_or("");
  return dir;
}

Directory DirTree(int d, const std::vector<int>& changed_files) {
  std::vector<v1::TreeEntry> entries;
  for (int f = 0; f < kFilesPerDir; ++f) {
    bool changed = false;
    for (int c : changed_files) changed |= c == f;
    entries.push_back(File(d, f, changed ? 1 : 0));
  }
  return Paged(entries);
}

Directory RootTree(const std::vector<std::string>& dir_ids) {
  std::vector<v1::TreeEntry> entries;
  for (int d = 0; d < kDirs; ++d) {
    v1::TreeEntry e = DirEntry(absl::StrFormat("shard-%04d", d), dir_ids[d]);
    e.set_inode(4'000'000 + d);
    entries.push_back(std::move(e));
  }
  return Paged(entries);
}

// Two snapshots built once for the suite, and what each added to the catalog.
struct Growth {
  int64_t first_snapshot_bytes = 0;  // trees and snapshot rows added by snapshot 1
  int64_t first_file_bytes = 0;      // catalog file growth for snapshot 1
  int64_t growth = 0;                // trees and snapshot rows added by snapshot 2
  int64_t file_growth = 0;           // catalog file growth for snapshot 2
  int64_t new_tree_bytes = 0;        // ids and bytes of the tree nodes snapshot 2 needed
  int64_t new_chunk_rows = 0;
  int64_t tree_rows = 0;
  int64_t first_nodes = 0;  // distinct tree nodes of snapshot 1
  int64_t new_nodes = 0;    // nodes snapshot 2 needed that snapshot 1 lacked
  std::string first_id;
  std::string second_parent_id;
};

class CatalogGrowthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    growth_ = new Growth();
    Build(growth_);
  }
  static void TearDownTestSuite() {
    delete growth_;
    growth_ = nullptr;
  }
  void SetUp() override {
    if (growth_->first_snapshot_bytes == 0) GTEST_FAIL() << "building the snapshots failed";
  }

  static void Build(Growth* out);
  static Growth* growth_;
};

Growth* CatalogGrowthTest::growth_ = nullptr;

void CatalogGrowthTest::Build(Growth* out) {
  std::unique_ptr<TestRepo> repo = OpenTestRepo("growth");
  ASSERT_NE(repo, nullptr);
  AgentCalls& calls = *repo->agent;
  CatalogReader reader(repo->dir + "/catalog.db");
  const int64_t empty_snapshot_bytes = reader.SnapshotBytes();
  const int64_t empty_file_bytes = reader.FileBytes();

  // Snapshot 1: every file's chunk is registered in bulk, then 1000 directory
  // trees and the root.
  ASSERT_OK_AND_ASSIGN(std::string job1,
                       StartBackup(calls, "node-1", "t1", "/data", v1::BACKUP_LEVEL_FULL));
  ASSERT_OK_AND_ASSIGN(int64_t tenant, repo->catalog->agents().TenantId("t1"));
  {
    std::vector<StoredChunk> chunks;
    for (uint64_t n = 0; n < uint64_t{kDirs} * kFilesPerDir; ++n) {
      chunks.push_back(StoredChunk{TestChunkId(n, 0), 8 + n * 2000, 2000, kChunkSize});
    }
    ASSERT_OK(repo->catalog->chunks()
                  .AddPack(tenant, "hot", "pack-bulk-1", 8 + chunks.size() * 2000, chunks)
                  .status());
  }
  std::vector<std::string> trees;
  std::vector<std::string> dir_ids;
  for (int d = 0; d < kDirs; ++d) {
    Directory dir = DirTree(d, {});
    trees.insert(trees.end(), dir.nodes.begin(), dir.nodes.end());
    dir_ids.push_back(dir.id);
  }
  Directory root = RootTree(dir_ids);
  trees.insert(trees.end(), root.nodes.begin(), root.nodes.end());
  std::set<std::string> first_nodes;
  for (const std::string& t : trees) first_nodes.insert(Sha256Of(t));
  out->first_nodes = static_cast<int64_t>(first_nodes.size());
  ASSERT_OK(PutTrees(calls, job1, trees));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot first, Commit(calls, job1, root.id));
  out->first_id = first.id();
  const int64_t first_snapshot_bytes = reader.SnapshotBytes() - empty_snapshot_bytes;
  const int64_t first_file_bytes = reader.FileBytes() - empty_file_bytes;
  const int64_t chunk_rows_before = reader.ChunkRows();

  // Snapshot 2: 10 files changed, one in each of 10 directories spread over
  // the tree. Only those directories and the root are new trees.
  ASSERT_OK_AND_ASSIGN(std::string job2,
                       StartBackup(calls, "node-1", "t1", "/data", v1::BACKUP_LEVEL_INCREMENTAL));
  std::vector<StoredChunk> new_chunks;
  std::vector<std::string> new_trees;
  for (int i = 0; i < 10; ++i) {
    const int d = i * 100 + 37, f = (i * 7) % kFilesPerDir;
    new_chunks.push_back(StoredChunk{TestChunkId(uint64_t(d) * kFilesPerDir + f, 1),
                                     8 + uint64_t(i) * 2000, 2000, kChunkSize});
    Directory dir = DirTree(d, {f});
    for (const std::string& node : dir.nodes) {
      if (!first_nodes.contains(Sha256Of(node))) new_trees.push_back(node);
    }
    dir_ids[d] = dir.id;
  }
  ASSERT_OK(
      repo->catalog->chunks().AddPack(tenant, "hot", "pack-bulk-2", 20008, new_chunks).status());
  Directory new_root = RootTree(dir_ids);
  for (const std::string& node : new_root.nodes) {
    if (!first_nodes.contains(Sha256Of(node))) new_trees.push_back(node);
  }
  out->new_nodes = static_cast<int64_t>(new_trees.size());
  {
    // An agent asks first and sends only what the server lacks.
    v1::FindMissingTreesRequest ask;
    ask.set_job_id(job2);
    for (const std::string& id : dir_ids) ask.add_ids(id);
    ASSERT_OK_AND_ASSIGN(v1::FindMissingTreesResponse missing, calls.FindMissingTrees(ask));
    EXPECT_EQ(missing.missing_size(), 10);
  }
  ASSERT_OK(PutTrees(calls, job2, new_trees));
  ASSERT_OK_AND_ASSIGN(v1::Snapshot second, Commit(calls, job2, new_root.id));
  out->second_parent_id = second.parent_id();

  out->growth = reader.SnapshotBytes() - empty_snapshot_bytes - first_snapshot_bytes;
  out->file_growth = reader.FileBytes() - empty_file_bytes - first_file_bytes;
  out->new_chunk_rows = reader.ChunkRows() - chunk_rows_before;
  out->tree_rows = reader.Query("SELECT count(*) FROM trees");
  // As the catalog keeps them (compressed where smaller, tree_blob.h).
  for (const std::string& t : new_trees) {
    out->new_tree_bytes += kChunkIdBytes + PackTreeBlob(t).size();
  }
  out->first_file_bytes = first_file_bytes;
  out->first_snapshot_bytes = first_snapshot_bytes;
  std::printf(
      "catalog growth: snapshot 1 added %lld bytes of trees and snapshot rows, %lld bytes of "
      "catalog file (%lld tree nodes); snapshot 2 added %lld bytes (%.3f%%) and %lld bytes of "
      "file (%.3f%%) (%lld tree nodes)\n",
      static_cast<long long>(first_snapshot_bytes), static_cast<long long>(first_file_bytes),
      static_cast<long long>(out->first_nodes), static_cast<long long>(out->growth),
      100.0 * out->growth / first_snapshot_bytes, static_cast<long long>(out->file_growth),
      100.0 * out->file_growth / first_file_bytes, static_cast<long long>(out->new_nodes));
}

TEST_F(CatalogGrowthTest, UnchangedDirectoriesAreSharedNotCopied) {
  EXPECT_EQ(growth_->second_parent_id, growth_->first_id);
  EXPECT_EQ(growth_->new_chunk_rows, 10);
  // Every tree node is stored once: snapshot 1's, then only what changed.
  EXPECT_EQ(growth_->tree_rows, growth_->first_nodes + growth_->new_nodes);
  // Each changed directory rewrites the page holding its file and its top
  // node; the root (1000 entries: ~40 leaves under two index levels) the
  // leaves holding the 10 changed entries and the index nodes above them.
  EXPECT_LE(growth_->new_nodes, 10 * 2 + 10 + 4);
  // What snapshot 2 added is those nodes and its own small row, nothing more.
  EXPECT_GE(growth_->growth, growth_->new_tree_bytes);
  EXPECT_LT(growth_->growth, growth_->new_tree_bytes + 4096);
}

// The requirement, with the catalog's bytes read as the catalog file: what
// snapshot 1 made the file grow by (its trees, chunk records and indexes)
// against what snapshot 2 did.
TEST_F(CatalogGrowthTest, IncrementalGrowsTheCatalogFileByUnderOnePercent) {
  EXPECT_LT(growth_->file_growth * 100, growth_->first_file_bytes)
      << "the catalog file grew by " << 100.0 * growth_->file_growth / growth_->first_file_bytes
      << "% of what the first snapshot added";
}

// The same measured on tree and snapshot-row bytes alone, the foundation's
// requirement. With whole-directory trees this was 1.88% (10 of 1000 equal
// directories rewritten whole, and the 1000-entry root); directories cut into
// content-defined pages (common/tree_pages.h) rewrite only the pages that
// hold a change: measured 0.92% with 3 KiB nodes (0.52% with 2 KiB ones
// before tree rows were compressed; 4 KiB nodes measured 0.996%).
TEST_F(CatalogGrowthTest, IncrementalAddsUnderOnePercentOfTreeAndSnapshotBytes) {
  EXPECT_LT(growth_->growth * 100, growth_->first_snapshot_bytes)
      << "snapshot 2 added " << 100.0 * growth_->growth / growth_->first_snapshot_bytes
      << "% of snapshot 1's tree and snapshot-row bytes (" << growth_->growth << " of "
      << growth_->first_snapshot_bytes << ")";
}

}  // namespace
}  // namespace cairn

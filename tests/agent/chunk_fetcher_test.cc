// ChunkFetcher against a real in-process server and real agent crypto:
// every chunk asked for is delivered exactly once with its plaintext (also
// across several ReadChunks calls of at most 1024 ids); a chunk stored under
// the wrong id is delivered with DataLoss while the others still arrive; an
// id the server does not have fails the fetch and delivers nothing; a chunk
// whose current copy does not open is read again from the copy the server
// kept after a (false) damage report.
#include "agent/chunk_fetcher.h"

#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/chunk_id.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// What the fetcher handed over, from its worker threads.
class Deliveries {
 public:
  ChunkFetcher::Deliver Callback() {
    return [this](const std::string& id, const absl::Status& status, absl::string_view plain) {
      absl::MutexLock lock(&mu_);
      Got& got = by_id_[id];
      ++got.times;
      got.status = status;
      got.plain = std::string(plain);
    };
  }
  struct Got {
    int times = 0;
    absl::Status status;
    std::string plain;
  };
  std::map<std::string, Got> Take() {
    absl::MutexLock lock(&mu_);
    std::map<std::string, Got> taken;
    taken.swap(by_id_);
    return taken;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, Got> by_id_ ABSL_GUARDED_BY(mu_);
};

class ChunkFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("chunk_fetcher"));
    // Each small file a chunk of its own: these tests reach chunks by file.
    env_->SetBundleFileBytes(0);
    src_ = env_->base() + "/src";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  }
  void TearDown() override {
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  // Backs up `files` (name -> content, each one chunk); the snapshot id, and
  // content by chunk id in *chunks.
  std::string BackUp(const std::map<std::string, std::string>& files,
                     std::map<std::string, std::string>* chunks) {
    for (const auto& [name, content] : files) EXPECT_OK(WriteFile(src_ + "/" + name, content));
    absl::StatusOr<BackupResult> backup = env_->Backup(src_, v1::BACKUP_LEVEL_FULL);
    EXPECT_TRUE(backup.ok()) << backup.status();
    if (!backup.ok()) return "";
    EXPECT_TRUE(backup->errors.empty()) << DescribeErrors(backup->errors);
    absl::StatusOr<std::vector<v1::TreeEntry>> root =
        env_->ReadDirectory(backup->snapshot.root_tree_id());
    EXPECT_TRUE(root.ok()) << root.status();
    if (!root.ok()) return "";
    for (const v1::TreeEntry& e : *root) {
      EXPECT_EQ(e.chunks_size(), 1) << e.name();
      if (e.chunks_size() == 1) (*chunks)[e.chunks(0).id()] = files.at(e.name());
    }
    return backup->snapshot.id();
  }
  // Statements on the server's catalog file, in one transaction, each with
  // its blob parameters (?1, ?2, ...) and changing exactly one row.
  struct Edit {
    std::string sql;
    std::vector<std::string> blobs;
  };
  absl::Status EditCatalog(const std::vector<Edit>& edits) {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                     SqliteDb::Open(env_->server_state_dir() + "/catalog.db"));
    RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
    for (const Edit& e : edits) {
      ASSIGN_OR_RETURN(SqliteStatement statement, db->Prepare(e.sql));
      for (size_t i = 0; i < e.blobs.size(); ++i) {
        statement.BindBlob(static_cast<int>(i + 1), e.blobs[i]);
      }
      RETURN_IF_ERROR(statement.Run());
      if (db->Changes() != 1) return absl::InternalError(absl::StrCat(e.sql, ": not one row"));
    }
    return db->Exec("COMMIT");
  }
  static std::vector<std::string> Keys(const std::map<std::string, std::string>& m) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : m) keys.push_back(k);
    return keys;
  }

  std::unique_ptr<AgentTestEnv> env_;
  std::string src_;
};

TEST_F(ChunkFetcherTest, EveryChunkAskedForIsDeliveredOnce) {
  std::map<std::string, std::string> files, chunks;
  for (int i = 0; i < 40; ++i) files[absl::StrCat("f", i)] = RandomBytes(100 + 37 * i, i);
  const std::string snapshot = BackUp(files, &chunks);
  ASSERT_EQ(chunks.size(), 40u);
  Deliveries got;
  ChunkFetcher fetcher(env_->connection(), env_->agent().crypto.get(), snapshot, 3, got.Callback());
  ASSERT_OK(fetcher.Fetch(Keys(chunks)));
  std::map<std::string, Deliveries::Got> delivered = got.Take();
  ASSERT_EQ(delivered.size(), chunks.size());
  for (const auto& [id, content] : chunks) {
    const Deliveries::Got& d = delivered[id];
    EXPECT_EQ(d.times, 1);
    EXPECT_OK(d.status);
    EXPECT_EQ(d.plain, content);
  }
  EXPECT_EQ(fetcher.stats().chunks, 40u);
  EXPECT_EQ(fetcher.stats().calls, 1u);
  EXPECT_GT(fetcher.stats().sealed_bytes, 0u);

  // The fetcher's workers live on: a second fetch of a part works too.
  ASSERT_OK(fetcher.Fetch({Keys(chunks)[0], Keys(chunks)[5]}));
  EXPECT_EQ(got.Take().size(), 2u);
  EXPECT_EQ(fetcher.stats().calls, 2u);
  ASSERT_OK(fetcher.Fetch({}));
  EXPECT_EQ(fetcher.stats().calls, 2u);
}

TEST_F(ChunkFetcherTest, MoreIdsThanOneCallTakesAreFetchedInBatches) {
  std::map<std::string, std::string> files, chunks;
  for (size_t i = 0; i < kMaxReadIdsPerCall + 10; ++i) {
    files[absl::StrCat("f", i)] = absl::StrCat("content of file ", i);
  }
  const std::string snapshot = BackUp(files, &chunks);
  ASSERT_EQ(chunks.size(), kMaxReadIdsPerCall + 10);
  Deliveries got;
  ChunkFetcher fetcher(env_->connection(), env_->agent().crypto.get(), snapshot, 2, got.Callback());
  ASSERT_OK(fetcher.Fetch(Keys(chunks)));
  std::map<std::string, Deliveries::Got> delivered = got.Take();
  EXPECT_EQ(delivered.size(), chunks.size());
  for (const auto& [id, d] : delivered) {
    EXPECT_EQ(d.times, 1);
    EXPECT_EQ(d.plain, chunks[id]);
  }
  EXPECT_EQ(fetcher.stats().calls, 2u);
}

TEST_F(ChunkFetcherTest, AChunkUnderTheWrongIdIsDataLossAndTheOthersArrive) {
  std::map<std::string, std::string> files = {
      {"alpha", "alpha's content"}, {"beta", "beta's content, longer"}, {"gamma", "gamma"}};
  std::map<std::string, std::string> chunks;
  const std::string snapshot = BackUp(files, &chunks);
  std::string a, b;
  for (const auto& [id, content] : chunks) {
    if (content == files["alpha"]) a = id;
    if (content == files["beta"]) b = id;
  }
  // Swap the two chunks' ids in the server's catalog.
  const std::string parked(32, '\0');
  const std::string move = "UPDATE chunks SET id = ?2 WHERE id = ?1";
  ASSERT_OK(EditCatalog({{move, {a, parked}}, {move, {b, a}}, {move, {parked, b}}}));
  Deliveries got;
  ChunkFetcher fetcher(env_->connection(), env_->agent().crypto.get(), snapshot, 2, got.Callback());
  ASSERT_OK(fetcher.Fetch(Keys(chunks)));
  std::map<std::string, Deliveries::Got> delivered = got.Take();
  ASSERT_EQ(delivered.size(), 3u);
  for (const std::string& swapped : {a, b}) {
    const Deliveries::Got& d = delivered[swapped];
    EXPECT_EQ(d.times, 1);
    EXPECT_EQ(d.status.code(), absl::StatusCode::kDataLoss) << d.status;
    ASSERT_OK_AND_ASSIGN(ChunkId id, ChunkIdFromBytes(swapped));
    EXPECT_THAT(d.status.message(), HasSubstr(ChunkIdHex(id)));
    EXPECT_TRUE(d.plain.empty());
  }
  for (const auto& [id, d] : delivered) {
    if (id == a || id == b) continue;
    EXPECT_OK(d.status);
    EXPECT_EQ(d.plain, "gamma");
  }
}

// A compromised agent reported alpha's chunk damaged and uploaded beta's
// bytes under its id; the server kept the replaced copy (superseded_chunks).
// The fetcher's second try reads that copy, and alpha restores as it was.
TEST_F(ChunkFetcherTest, TheCopyKeptAfterAFalseDamageReportIsUsedWhenTheCurrentOneIsBad) {
  std::map<std::string, std::string> files = {{"alpha", "alpha's content"},
                                              {"beta", "beta's content, longer"}};
  std::map<std::string, std::string> chunks;
  const std::string snapshot = BackUp(files, &chunks);
  std::string a, b;
  for (const auto& [id, content] : chunks) (content == files["alpha"] ? a : b) = id;
  ASSERT_OK(EditCatalog({
      {R"sql(INSERT INTO superseded_chunks(pack_id, tenant_id, id, offset, length, raw_size,
                                         superseded_ms)
             SELECT pack_id, tenant_id, id, offset, length, raw_size, 1 FROM chunks
             WHERE id = ?1)sql",
       {a}},
      {R"sql(UPDATE chunks SET (pack_id, offset, length, raw_size) =
               (SELECT pack_id, offset, length, raw_size FROM chunks WHERE id = ?2)
             WHERE id = ?1)sql",
       {a, b}},
  }));
  Deliveries got;
  ChunkFetcher fetcher(env_->connection(), env_->agent().crypto.get(), snapshot, 2, got.Callback());
  ASSERT_OK(fetcher.Fetch(Keys(chunks)));
  std::map<std::string, Deliveries::Got> delivered = got.Take();
  ASSERT_EQ(delivered.size(), 2u);
  for (const auto& [id, d] : delivered) {
    EXPECT_EQ(d.times, 1);
    EXPECT_OK(d.status);
    EXPECT_EQ(d.plain, chunks[id]);
  }
  EXPECT_EQ(fetcher.stats().calls, 2u) << "one call, then one second try";
}

TEST_F(ChunkFetcherTest, AnIdTheServerLacksFailsTheFetchAndDeliversNothing) {
  std::map<std::string, std::string> chunks;
  const std::string snapshot = BackUp({{"only", "the only file"}}, &chunks);
  std::vector<std::string> ids = Keys(chunks);
  ids.push_back(std::string(32, '\x07'));
  Deliveries got;
  ChunkFetcher fetcher(env_->connection(), env_->agent().crypto.get(), snapshot, 1, got.Callback());
  absl::Status status = fetcher.Fetch(ids);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_TRUE(got.Take().empty());
  // An unknown snapshot: nothing to read through it.
  ChunkFetcher nowhere(env_->connection(), env_->agent().crypto.get(), "s-nope", 1, got.Callback());
  EXPECT_EQ(nowhere.Fetch(Keys(chunks)).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(got.Take().empty());
}

}  // namespace
}  // namespace cairn

// RestoreExecutor over a tampered catalog: chunks stored under each other's
// ids fail only their files and name the chunk, a tree that contains itself
// and a snapshot deeper than any backup end with errors, never a runaway.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/restore_executor.h"
#include "common/chunk_id.h"
#include "common/tree_id.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/restore_safety_test_util.h"

namespace cairn {
namespace {

TEST_F(RestoreSafetyTest, SwappedChunksFailOnlyTheirFilesAndNameTheChunk) {
  const std::string a = honest_["alpha"].chunks(0).id();
  const std::string b = honest_["beta"].chunks(0).id();
  {
    CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                               SqliteDb::Open(env_->server_state_dir() + "/catalog.db"));
    CAIRN_ASSERT_OK(db->Exec("BEGIN IMMEDIATE"));
    const std::string parked(32, '\0');
    for (const auto& [from, to] :
         std::vector<std::pair<std::string, std::string>>{{a, parked}, {b, a}, {parked, b}}) {
      CAIRN_ASSERT_OK_AND_ASSIGN(SqliteStatement move,
                                 db->Prepare("UPDATE chunks SET id = ?2 WHERE id = ?1"));
      move.BindBlob(1, from);
      move.BindBlob(2, to);
      CAIRN_ASSERT_OK(move.Run());
      ASSERT_EQ(db->Changes(), 1);
    }
    CAIRN_ASSERT_OK(db->Exec("COMMIT"));
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(honest_snapshot_));
  EXPECT_EQ(result.failed, 2u) << DescribeErrors(result.errors);
  auto error_of = [&](const std::string& path) -> std::string {
    for (const v1::FileError& e : result.errors) {
      if (e.path() == path) return e.error();
    }
    return "";
  };
  CAIRN_ASSERT_OK_AND_ASSIGN(ChunkId id_a, ChunkIdFromBytes(a));
  CAIRN_ASSERT_OK_AND_ASSIGN(ChunkId id_b, ChunkIdFromBytes(b));
  EXPECT_NE(error_of("alpha").find(ChunkIdHex(id_a)), std::string::npos) << error_of("alpha");
  EXPECT_NE(error_of("beta").find(ChunkIdHex(id_b)), std::string::npos) << error_of("beta");
  // The other files restored; the failed ones left nothing behind.
  EXPECT_EQ(ListDir(target_), (std::vector<std::string>{"gamma", "sub"}));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string gamma, ReadFile(target_ + "/gamma"));
  EXPECT_EQ(gamma, "gamma's content");
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string inner, ReadFile(target_ + "/sub/inner"));
  EXPECT_EQ(inner, "inner content");
}

TEST_F(RestoreSafetyTest, TreeThatContainsItselfEndsWithAnError) {
  // A tree stored under an id that is not its hash, naming itself as a
  // subtree: an endless directory chain if the restore trusted the id.
  const std::string loop_id(32, '\x42');
  v1::Tree tree;
  v1::TreeEntry* loop = tree.add_entries();
  loop->set_name("loop");
  loop->set_type(v1::ENTRY_TYPE_DIRECTORY);
  loop->set_mode(0755);
  loop->set_subtree_id(loop_id);
  CAIRN_ASSERT_OK(env_->PutRawTreeAs(loop_id, tree.SerializeAsString()));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string snapshot, Snapshot({FileLike("ok"), *loop}));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(snapshot));
  EXPECT_GE(result.failed, 1u);
  // At most one level was created: the subtree failed its hash check.
  EXPECT_TRUE(ListDir(target_ + "/loop/loop").empty());
  ExpectOutsideUntouched();
}

TEST_F(RestoreSafetyTest, OverlyDeepSnapshotIsCutOffWithAnError) {
  // Honest ids, but deeper than any backup produces (it stops at 1024).
  constexpr int kDepth = 1100;
  // Stored in one transaction: 1100 catalog commits would each fsync.
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db,
                             SqliteDb::Open(env_->server_state_dir() + "/catalog.db"));
  CAIRN_ASSERT_OK(db->Exec("BEGIN IMMEDIATE"));
  v1::TreeEntry next = FileLike("leaf");
  for (int i = 0; i < kDepth; ++i) {
    v1::Tree tree;
    *tree.add_entries() = next;
    std::string data = tree.SerializeAsString();
    CAIRN_ASSERT_OK_AND_ASSIGN(
        SqliteStatement put, db->Prepare("INSERT INTO trees(tenant_id, id, data) "
                                         "VALUES((SELECT id FROM tenants WHERE name = ?), ?, ?)"));
    put.BindText(1, AgentTestEnv::kTenant);
    put.BindBlob(2, TreeId(data));
    put.BindBlob(3, data);
    CAIRN_ASSERT_OK(put.Run());
    next.Clear();
    next.set_name("d");
    next.set_type(v1::ENTRY_TYPE_DIRECTORY);
    next.set_mode(0755);
    next.set_subtree_id(TreeId(data));
  }
  CAIRN_ASSERT_OK(db->Exec("COMMIT"));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string snapshot, Snapshot({next}));
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, Restore(snapshot));
  EXPECT_GE(result.failed, 1u) << "a 1100-deep snapshot restored without complaint";
  bool named = false;
  for (const v1::FileError& e : result.errors) {
    named = named || e.error().find("nested") != std::string::npos;
  }
  EXPECT_TRUE(named) << DescribeErrors(result.errors);
  ExpectOutsideUntouched();
}

}  // namespace
}  // namespace cairn

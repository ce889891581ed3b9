// TreeFetcher against a real in-process server: a depth-first walk of a
// snapshot with many directories costs far fewer calls than directories
// (read-ahead with GetTrees); identical directories sharing one tree id all
// load; a tree whose bytes do not match its id, or do not parse, is DataLoss.
// Snapshots are planted straight into the catalog (AgentTestEnv).
#include "agent/tree_fetcher.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tree_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

v1::TreeEntry Link(const std::string& name, const std::string& target) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_SYMLINK);
  e.set_link_target(target);
  return e;
}

class TreeFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("tree_fetcher")); }
  void TearDown() override {
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  // Stores a tree of `entries`; its id.
  std::string Put(std::vector<v1::TreeEntry> entries) {
    v1::Tree tree;
    for (v1::TreeEntry& e : entries) *tree.add_entries() = std::move(e);
    absl::StatusOr<std::string> id = env_->PutRawTree(tree);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }
  std::string Snapshot(std::vector<v1::TreeEntry> root) {
    absl::StatusOr<std::string> s = env_->CommitRawSnapshot(Put(std::move(root)));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : "";
  }

  // Walks the snapshot depth first as a restore does; the paths of every
  // directory loaded, or the first error.
  absl::StatusOr<std::vector<std::string>> Walk(TreeFetcher& trees) {
    std::vector<std::string> loaded;
    absl::StatusOr<v1::Tree> root = trees.Root();
    if (!root.ok()) return root.status();
    std::function<absl::Status(const std::string&, const v1::Tree&)> walk =
        [&](const std::string& at, const v1::Tree& tree) -> absl::Status {
      for (const v1::TreeEntry& e : tree.entries()) {
        if (e.type() != v1::ENTRY_TYPE_DIRECTORY) continue;
        std::string path = at.empty() ? e.name() : at + "/" + e.name();
        absl::StatusOr<v1::Tree> sub = trees.Load(e.subtree_id());
        if (!sub.ok()) return sub.status();
        loaded.push_back(path);
        absl::Status deeper = walk(path, *sub);
        if (!deeper.ok()) return deeper;
      }
      return absl::OkStatus();
    };
    absl::Status walked = walk("", *root);
    if (!walked.ok()) return walked;
    return loaded;
  }

  const AgentCrypto& Crypto() const { return *env_->agent().crypto; }

  std::unique_ptr<AgentTestEnv> env_;
};

TEST_F(TreeFetcherTest, ReadAheadMakesAWalkFarCheaperThanOneCallPerDirectory) {
  // 30 top directories, each with 5 subdirectories holding one link each.
  std::vector<v1::TreeEntry> root;
  size_t directories = 0;
  for (int i = 0; i < 30; ++i) {
    std::vector<v1::TreeEntry> children;
    for (int j = 0; j < 5; ++j) {
      children.push_back(DirEntry(absl::StrCat("d", j), Put({Link("l", absl::StrCat(i, "-", j))})));
      ++directories;
    }
    root.push_back(DirEntry(absl::StrCat("top", 100 + i), Put(std::move(children))));
    ++directories;
  }
  TreeFetcher trees(env_->connection(), Snapshot(std::move(root)), Crypto());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> loaded, Walk(trees));
  ASSERT_EQ(loaded.size(), directories);
  EXPECT_EQ(loaded.front(), "top100");
  EXPECT_EQ(loaded[1], "top100/d0");
  EXPECT_EQ(loaded.back(), "top129/d4");
  // One call for the root, one for the 30 top trees, one per top tree's
  // children: about 32 for 180 directories.
  EXPECT_LT(trees.calls(), directories / 4)
      << trees.calls() << " calls for " << directories << " directories";
}

TEST_F(TreeFetcherTest, IdenticalDirectoriesSharingOneTreeAllLoad) {
  const std::string empty = Put({});
  const std::string same = Put({DirEntry("inner", empty), Link("l", "x")});
  std::vector<v1::TreeEntry> root;
  for (int i = 0; i < 12; ++i) {
    root.push_back(DirEntry(absl::StrCat("empty", 10 + i), empty));
  }
  for (int i = 0; i < 4; ++i) root.push_back(DirEntry(absl::StrCat("same", i), same));
  TreeFetcher trees(env_->connection(), Snapshot(std::move(root)), Crypto());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> loaded, Walk(trees));
  EXPECT_EQ(loaded.size(), 12u + 4u * 2u);
  EXPECT_EQ(loaded.back(), "same3/inner");
  EXPECT_LT(trees.calls(), loaded.size());
}

TEST_F(TreeFetcherTest, ATreeThatDoesNotMatchItsIdIsDataLoss) {
  const std::string honest = Put({Link("l", "honest")});
  // The bytes of one tree stored under the id of another.
  v1::Tree other;
  *other.add_entries() = Link("l", "swapped");
  const std::string claimed = TreeId("a tree that was never stored");
  ASSERT_OK(env_->PutRawTreeAs(claimed, other.SerializeAsString()));
  TreeFetcher trees(env_->connection(), Snapshot({DirEntry("bad", claimed)}), Crypto());
  ASSERT_OK(trees.Root().status());
  absl::StatusOr<v1::Tree> bad = trees.Load(claimed);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();
  EXPECT_THAT(bad.status().message(), HasSubstr("does not match its id"));
  // A fresh fetcher loads the honest tree.
  TreeFetcher again(env_->connection(), Snapshot({DirEntry("fine", honest)}), Crypto());
  ASSERT_OK(again.Root().status());
  ASSERT_OK_AND_ASSIGN(v1::Tree fine, again.Load(honest));
  EXPECT_EQ(fine.entries(0).link_target(), "honest");
}

TEST_F(TreeFetcherTest, ATreeThatDoesNotParseIsDataLoss) {
  const std::string garbage("\xff\xff\xff\xff\x0f", 5);
  const std::string id = TreeId(garbage);
  ASSERT_OK(env_->PutRawTreeAs(id, garbage));
  TreeFetcher trees(env_->connection(), Snapshot({DirEntry("junk", id)}), Crypto());
  ASSERT_OK(trees.Root().status());
  absl::StatusOr<v1::Tree> junk = trees.Load(id);
  EXPECT_EQ(junk.status().code(), absl::StatusCode::kDataLoss) << junk.status();
  EXPECT_THAT(junk.status().message(), HasSubstr("does not parse"));
}

TEST_F(TreeFetcherTest, AMissingTreeIsNotFound) {
  const std::string missing = TreeId("never stored");
  TreeFetcher trees(env_->connection(), Snapshot({DirEntry("gone", missing)}), Crypto());
  ASSERT_OK(trees.Root().status());
  EXPECT_EQ(trees.Load(missing).status().code(), absl::StatusCode::kNotFound);
  TreeFetcher nowhere(env_->connection(), "s-no-such-snapshot", Crypto());
  EXPECT_EQ(nowhere.Root().status().code(), absl::StatusCode::kNotFound);
}

// Regression: a tampered tree read ahead with a good one failed the good
// one too; only the tree asked for fails.
TEST_F(TreeFetcherTest, ATamperedSiblingDoesNotFailAGoodTree) {
  const std::string good = Put({Link("l", "good")});
  v1::Tree other;
  *other.add_entries() = Link("l", "tampered");
  const std::string claimed = TreeId("the tree the snapshot names");
  ASSERT_OK(env_->PutRawTreeAs(claimed, other.SerializeAsString()));
  TreeFetcher trees(env_->connection(),
                    Snapshot({DirEntry("a-good", good), DirEntry("b-bad", claimed)}), Crypto());
  ASSERT_OK(trees.Root().status());
  absl::StatusOr<v1::Tree> first = trees.Load(good);
  ASSERT_OK(first.status());
  EXPECT_EQ(first->entries(0).link_target(), "good");
  EXPECT_EQ(trees.Load(claimed).status().code(), absl::StatusCode::kDataLoss);
}

// A snapshot whose manifest the tenant key did not sign (the server, or
// whoever writes its catalog, planted it) is refused at its root, before a
// restore or an incremental reads anything of it.
TEST_F(TreeFetcherTest, ASnapshotTheTenantKeyDidNotSignIsRefused) {
  const std::string root = Put({Link("l", "planted")});
  ASSERT_OK_AND_ASSIGN(std::string forged, env_->CommitRawSnapshot(root, false));
  TreeFetcher trees(env_->connection(), forged, Crypto());
  absl::StatusOr<v1::Tree> refused = trees.Root();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
}

// The manifest names the snapshot's id: a manifest signed for one snapshot
// (an older one, say) shown under another id is refused — no rollback by
// relabelling.
TEST_F(TreeFetcherTest, AManifestSignedForAnotherSnapshotIdIsRefused) {
  const std::string root = Put({Link("l", "old")});
  ASSERT_OK_AND_ASSIGN(std::string relabelled,
                       env_->CommitRawSnapshot(root, true, "s-00000000000000aa"));
  TreeFetcher trees(env_->connection(), relabelled, Crypto());
  absl::StatusOr<v1::Tree> refused = trees.Root();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  // Signed for its own id, the same root is trusted.
  ASSERT_OK_AND_ASSIGN(std::string honest, env_->CommitRawSnapshot(root));
  TreeFetcher fine(env_->connection(), honest, Crypto());
  EXPECT_OK(fine.Root().status());
}

}  // namespace
}  // namespace cairn

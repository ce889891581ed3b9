// TreeSpool against a real in-process server: Add names a tree by its hash;
// Send delivers trees children first (the server refuses a parent before its
// children) across many PutTrees calls, split by count and by bytes; trees
// the server already has are not sent again; a tree over the size limit is
// refused when added; and a spool that was never sent leaves the server
// without its trees.
#include "agent/tree_spool.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/tree_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::TreeEntry EmptyFile(const std::string& name) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_FILE);
  e.set_mode(0644);
  return e;
}
std::string Serialize(std::vector<v1::TreeEntry> entries) {
  v1::Tree tree;
  for (v1::TreeEntry& e : entries) *tree.add_entries() = std::move(e);
  return tree.SerializeAsString();
}

class TreeSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("tree_spool"));
    CAIRN_ASSERT_OK_AND_ASSIGN(spool_, TreeSpool::Create(env_->base() + "/spool"));
    CAIRN_ASSERT_OK_AND_ASSIGN(job_, BeginJob());
  }
  void TearDown() override {
    spool_.reset();
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  absl::StatusOr<std::string> BeginJob() {
    v1::BeginBackupRequest begin;
    begin.set_agent(AgentTestEnv::kAgentName);
    begin.add_roots("/tree-spool-test");
    begin.set_level(v1::BACKUP_LEVEL_FULL);
    absl::StatusOr<v1::BeginBackupResponse> job =
        env_->connection()->Call(&v1::AgentService::Stub::BeginBackup, begin);
    if (!job.ok()) return job.status();
    return job->job_id();
  }
  // The indexes of `ids` the server does not have for the tenant.
  std::vector<uint32_t> Missing(const std::vector<std::string>& ids) {
    v1::FindMissingTreesRequest request;
    request.set_job_id(job_);
    for (const std::string& id : ids) request.add_ids(id);
    absl::StatusOr<v1::FindMissingTreesResponse> response =
        env_->connection()->Call(&v1::AgentService::Stub::FindMissingTrees, request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    return std::vector<uint32_t>(response->missing().begin(), response->missing().end());
  }

  std::unique_ptr<AgentTestEnv> env_;
  std::unique_ptr<TreeSpool> spool_;
  std::string job_;
};

TEST_F(TreeSpoolTest, AddNamesATreeByItsHash) {
  const std::string tree = Serialize({EmptyFile("a"), EmptyFile("b")});
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string id, spool_->Add(tree));
  EXPECT_EQ(id, TreeId(tree));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string again, spool_->Add(tree));
  EXPECT_EQ(again, id);
  EXPECT_EQ(spool_->trees(), 2u);
  EXPECT_THAT(Missing({id}), ElementsAre(0u)) << "nothing is sent before Send";
}

TEST_F(TreeSpoolTest, SendDeliversAChainChildrenFirstAcrossManyCalls) {
  // 300 nested directories: more than four PutTrees calls of 64 trees, each
  // parent naming the one added before it.
  std::vector<std::string> ids;
  std::string child_id;
  for (int depth = 0; depth < 300; ++depth) {
    std::vector<v1::TreeEntry> entries = {EmptyFile(absl::StrCat("f", depth))};
    if (!child_id.empty()) entries.insert(entries.begin(), DirEntry("child", child_id));
    CAIRN_ASSERT_OK_AND_ASSIGN(child_id, spool_->Add(Serialize(entries)));
    ids.push_back(child_id);
  }
  CAIRN_ASSERT_OK(spool_->Send(env_->connection(), job_));
  EXPECT_THAT(Missing(ids), IsEmpty());
  // The root reads back as sent.
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Tree root, env_->GetRawTree(ids.back()));
  ASSERT_EQ(root.entries_size(), 2);
  EXPECT_EQ(root.entries(0).subtree_id(), ids[ids.size() - 2]);
}

TEST_F(TreeSpoolTest, SendSplitsCallsByBytes) {
  // Three legal trees of about 6 MiB each: more than one call may carry.
  std::vector<std::string> ids;
  for (int t = 0; t < 3; ++t) {
    std::vector<v1::TreeEntry> links;
    for (int i = 0; i < 1500; ++i) {
      v1::TreeEntry e;
      e.set_name(absl::StrCat("l", 10000 + i));
      e.set_type(v1::ENTRY_TYPE_SYMLINK);
      e.set_link_target(std::string(kMaxPathTotalBytes, static_cast<char>('a' + t)));
      links.push_back(std::move(e));
    }
    const std::string tree = Serialize(links);
    ASSERT_LT(tree.size(), kMaxTreeBytes);
    CAIRN_ASSERT_OK_AND_ASSIGN(std::string id, spool_->Add(tree));
    ids.push_back(id);
  }
  CAIRN_ASSERT_OK(spool_->Send(env_->connection(), job_));
  EXPECT_THAT(Missing(ids), IsEmpty());
}

TEST_F(TreeSpoolTest, TreesTheServerHasAreNotSentAgain) {
  // The server holds, under the id of `known`, bytes it would refuse if they
  // were sent (a file whose chunk it does not have): Send succeeds only if
  // it asks first and skips that tree.
  v1::TreeEntry unstored = EmptyFile("f");
  unstored.set_size(100);
  v1::ChunkRef* chunk = unstored.add_chunks();
  chunk->set_id(std::string(32, '\x11'));
  chunk->set_size(100);
  const std::string known = Serialize({unstored});
  CAIRN_ASSERT_OK(env_->PutRawTreeAs(TreeId(known), known));

  CAIRN_ASSERT_OK_AND_ASSIGN(std::string known_id, spool_->Add(known));
  const std::string fresh = Serialize({EmptyFile("new"), DirEntry("old", known_id)});
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string fresh_id, spool_->Add(fresh));
  CAIRN_ASSERT_OK(spool_->Send(env_->connection(), job_));
  EXPECT_THAT(Missing({known_id, fresh_id}), IsEmpty());

  // The same tree in a spool of its own, the server lacking it: refused.
  const std::string other = Serialize({unstored, EmptyFile("g")});
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<TreeSpool> second,
                             TreeSpool::Create(env_->base() + "/spool2"));
  CAIRN_ASSERT_OK(second->Add(other).status());
  absl::Status refused = second->Send(env_->connection(), job_);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
}

TEST_F(TreeSpoolTest, ATreeOverTheLimitIsRefusedWhenAdded) {
  const std::string huge(kMaxTreeBytes + 1, 'x');
  absl::StatusOr<std::string> refused = spool_->Add(huge);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr(absl::StrCat(kMaxTreeBytes)));
  EXPECT_EQ(spool_->trees(), 0u);
  // Exactly at the limit is taken (the server judges its content).
  CAIRN_ASSERT_OK(spool_->Add(std::string(kMaxTreeBytes, 'x')).status());
  EXPECT_EQ(spool_->trees(), 1u);
}

TEST_F(TreeSpoolTest, AnEmptySpoolSendsNothingAndAnUnknownJobFails) {
  CAIRN_ASSERT_OK(spool_->Send(env_->connection(), job_));
  CAIRN_ASSERT_OK(spool_->Add(Serialize({EmptyFile("x")})).status());
  absl::Status unknown = spool_->Send(env_->connection(), "j-unknown");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound) << unknown;
}

}  // namespace
}  // namespace cairn

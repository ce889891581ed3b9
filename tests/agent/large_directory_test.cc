// A directory of 30,000 files through a real in-process server: the agent
// stores it as content-defined pages (common/tree_pages.h), an incremental
// that changes one file and adds one reads only those and stores only the
// pages that hold them, every snapshot restores byte-identical (whole and
// one path), and the server lists the directory page by page and diffs it.
#include <sys/stat.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/tree_pages.h"
#include "gtest/gtest.h"
#include "server/browse/snapshot_browser.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

constexpr int kFiles = 30000;

std::string FileName(int i) { return absl::StrFormat("sample-%06d.txt", i); }

class LargeDirectoryTest : public AgentEnvTest {
 protected:
  void SetUp() override {
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("large_directory"));
    src_ = env_->base() + "/src";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((src_ + "/big").c_str(), 0755), 0);
    for (int i = 0; i < kFiles; ++i) {
      ASSERT_OK(WriteFile(absl::StrCat(src_, "/big/", FileName(i)), absl::StrCat("row ", i, "\n")));
    }
    // A subdirectory in the middle of the large one, and a file beside it.
    ASSERT_EQ(mkdir((src_ + "/big/sample-015000.txt.d").c_str(), 0755), 0);
    ASSERT_OK(WriteFile(src_ + "/big/sample-015000.txt.d/inner", "inner\n"));
    ASSERT_OK(WriteFile(src_ + "/top.txt", "top\n"));
  }

  // Every tree node a snapshot reaches.
  std::set<std::string> Nodes(const std::string& root_id) {
    std::set<std::string> seen;
    std::vector<std::string> pending = {root_id};
    while (!pending.empty()) {
      std::string id = std::move(pending.back());
      pending.pop_back();
      if (!seen.insert(id).second) continue;
      absl::StatusOr<v1::Tree> tree = env_->GetRawTree(id);
      EXPECT_OK(tree.status());
      if (!tree.ok()) continue;
      for (std::string& child : ChildTreeIds(*tree)) pending.push_back(std::move(child));
    }
    return seen;
  }

  v1::Tree BigDirectory(const v1::Snapshot& snapshot) {
    absl::StatusOr<v1::Tree> root = env_->GetRawTree(snapshot.root_tree_id());
    EXPECT_OK(root.status());
    for (const v1::TreeEntry& e : root->entries()) {
      if (e.name() == "big") {
        absl::StatusOr<v1::Tree> big = env_->GetRawTree(e.subtree_id());
        EXPECT_OK(big.status());
        return *big;
      }
    }
    ADD_FAILURE() << "no big/ in the root";
    return v1::Tree();
  }
};

TEST_F(LargeDirectoryTest, IsStoredInPagesAndAChangeRewritesOnlyItsPages) {
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest at_full, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult full, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
  EXPECT_EQ(full.snapshot.stats().files(), static_cast<uint64_t>(kFiles + 2));
  const v1::Tree big = BigDirectory(full.snapshot);
  EXPECT_GE(big.level(), 1u) << "a directory of 30,000 files is paged";
  const std::set<std::string> full_nodes = Nodes(full.snapshot.root_tree_id());
  EXPECT_GT(full_nodes.size(), 100u);

  // One file changed, one added: only they are read, and only the pages
  // holding them (and the index above) are new.
  const std::string changed = absl::StrCat(src_, "/big/", FileName(20000));
  ASSERT_OK(WriteFile(changed, "row 20000, edited\n"));
  ASSERT_OK(SetMtime(changed, 1700000000));
  ASSERT_OK(WriteFile(src_ + "/big/sample-007000.txt.new", "new\n"));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest at_inc, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult inc, env_->Backup(src_, v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(inc.snapshot.parent_id(), full.snapshot.id());
  EXPECT_EQ(inc.snapshot.stats().bytes_read(), 18u + 4u) << "unchanged files were re-read";
  size_t fresh = 0;
  for (const std::string& id : Nodes(inc.snapshot.root_tree_id())) {
    fresh += full_nodes.contains(id) ? 0 : 1;
  }
  const size_t levels = big.level() + 1;
  EXPECT_GE(fresh, 2u);
  EXPECT_LE(fresh, 3 * levels + 1) << "new tree nodes of " << full_nodes.size();

  ExpectRestoresTo(full.snapshot.id(), at_full);
  ExpectRestoresTo(inc.snapshot.id(), at_inc);

  // One path inside the large directory, and the subdirectory in its middle.
  for (const std::string path :
       {"big/" + FileName(29999), std::string("big/sample-015000.txt.d")}) {
    RestoreOptions options;
    options.snapshot_id = inc.snapshot.id();
    options.target = absl::StrCat(env_->base(), "/restore-path-", targets_++);
    options.paths = {path};
    CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult result, env_->Restore(options));
    EXPECT_TRUE(result.errors.empty()) << DescribeErrors(result.errors);
    CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(options.target));
    EXPECT_EQ(DiffManifests(SubManifest(at_inc, path), SubManifest(got, path)), "") << path;
  }
}

// The server lists a paged directory page by page (each page resumes at the
// last path returned) and diffs two snapshots of it.
TEST_F(LargeDirectoryTest, ListsPageByPageAndDiffs) {
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult full, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
  ASSERT_OK(WriteFile(src_ + "/big/sample-007000.txt.new", "new\n"));
  ASSERT_EQ(unlink((src_ + "/big/" + FileName(25000)).c_str()), 0);
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult inc, env_->Backup(src_, v1::BACKUP_LEVEL_INCREMENTAL));

  SnapshotBrowser browser(env_->server()->catalog());
  std::vector<std::string> listed;
  v1::ListFilesRequest request;
  request.set_snapshot_id(inc.snapshot.id());
  request.set_prefix("big");
  request.set_recursive(true);
  request.set_limit(997);
  int pages = 0;
  while (true) {
    CAIRN_ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse page, browser.ListFiles(request));
    ++pages;
    for (const v1::FileInfo& f : page.files()) listed.push_back(f.path());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
    ASSERT_LT(pages, 1000);
  }
  std::vector<std::string> want;
  for (int i = 0; i < kFiles; ++i) {
    if (i == 25000) continue;
    want.push_back("big/" + FileName(i));
    if (i == 7000) want.push_back("big/sample-007000.txt.new");
    if (i == 15000) {
      want.push_back("big/sample-015000.txt.d");
      want.push_back("big/sample-015000.txt.d/inner");
    }
  }
  EXPECT_EQ(listed, want);
  EXPECT_EQ(pages, static_cast<int>((want.size() + 996) / 997));

  v1::DiffSnapshotsRequest diff;
  diff.set_from_snapshot_id(full.snapshot.id());
  diff.set_to_snapshot_id(inc.snapshot.id());
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::DiffSnapshotsResponse changes, browser.Diff(diff));
  ASSERT_EQ(changes.changes_size(), 2);
  EXPECT_EQ(changes.changes(0).path(), "big/sample-007000.txt.new");
  EXPECT_EQ(changes.changes(0).kind(), v1::CHANGE_KIND_ADDED);
  EXPECT_EQ(changes.changes(1).path(), "big/" + FileName(25000));
  EXPECT_EQ(changes.changes(1).kind(), v1::CHANGE_KIND_REMOVED);
}

}  // namespace
}  // namespace cairn

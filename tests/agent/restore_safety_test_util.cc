#include "tests/agent/restore_safety_test_util.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "common/status_macros.h"

namespace cairn {

void RestoreSafetyTest::SetUp() {
  CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("restore_safety"));
  // Each small file a chunk of its own: these tests reach chunks by file.
  env_->SetBundleFileBytes(0);
  src_ = env_->base() + "/src";
  work_ = env_->base() + "/work";
  target_ = work_ + "/target";
  sentinel_ = work_ + "/sentinel";
  victim_dir_ = work_ + "/victim-dir";
  victim_file_ = work_ + "/victim.txt";
  ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(work_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(target_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(sentinel_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(victim_dir_.c_str(), 0755), 0);
  CAIRN_ASSERT_OK(WriteFile(victim_dir_ + "/keep", "victim directory's file"));
  CAIRN_ASSERT_OK(WriteFile(victim_file_, "victim file"));
  CAIRN_ASSERT_OK(SetMtime(victim_dir_ + "/keep", 1400000000));
  CAIRN_ASSERT_OK(SetMtime(victim_file_, 1400000000));
  CAIRN_ASSERT_OK(SetMtime(victim_dir_, 1400000000));
  CAIRN_ASSERT_OK(SetMtime(sentinel_, 1400000000));

  // Real chunks for tampered entries to point at.
  CAIRN_ASSERT_OK(WriteFile(src_ + "/alpha", "alpha's content"));
  CAIRN_ASSERT_OK(WriteFile(src_ + "/beta", "beta's content, a bit longer"));
  CAIRN_ASSERT_OK(WriteFile(src_ + "/gamma", "gamma's content"));
  ASSERT_EQ(mkdir((src_ + "/sub").c_str(), 0755), 0);
  CAIRN_ASSERT_OK(WriteFile(src_ + "/sub/inner", "inner content"));
  CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult backup, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
  ASSERT_TRUE(backup.errors.empty()) << DescribeErrors(backup.errors);
  honest_snapshot_ = backup.snapshot.id();
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<v1::TreeEntry> root,
                             env_->ReadDirectory(backup.snapshot.root_tree_id()));
  for (const v1::TreeEntry& e : root) honest_[e.name()] = e;
  ASSERT_EQ(honest_.count("alpha"), 1u);
  ASSERT_EQ(honest_["alpha"].chunks_size(), 1);
  ASSERT_EQ(honest_["beta"].chunks_size(), 1);

  CAIRN_ASSERT_OK_AND_ASSIGN(outside_before_, Outside());
}

void RestoreSafetyTest::TearDown() {
  if (env_ == nullptr) return;
  std::string base = env_->base();
  env_.reset();
  if (!HasFailure()) RemoveTree(base);
}

absl::StatusOr<TreeManifest> RestoreSafetyTest::Outside() {
  ASSIGN_OR_RETURN(TreeManifest all, CaptureTree(work_));
  for (auto it = all.begin(); it != all.end();) {
    if (it->first == "target" || it->first.rfind("target/", 0) == 0) {
      it = all.erase(it);
    } else {
      ++it;
    }
  }
  return all;
}

void RestoreSafetyTest::ExpectOutsideUntouched() {
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest now, Outside());
  EXPECT_EQ(DiffManifests(outside_before_, now), "") << "something outside the target changed";
  EXPECT_TRUE(ListDir(sentinel_).empty());
}

v1::TreeEntry RestoreSafetyTest::FileLike(const std::string& name, const std::string& source) {
  v1::TreeEntry e = honest_[source];
  e.set_name(name);
  return e;
}

v1::TreeEntry RestoreSafetyTest::Symlink(const std::string& name, const std::string& target) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_SYMLINK);
  e.set_mode(0777);
  e.set_link_target(target);
  return e;
}

v1::TreeEntry RestoreSafetyTest::Hardlink(const std::string& name, const std::string& first) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_HARDLINK);
  e.set_mode(0644);
  e.set_link_target(first);
  return e;
}

absl::StatusOr<v1::TreeEntry> RestoreSafetyTest::Dir(const std::string& name,
                                                     std::vector<v1::TreeEntry> entries) {
  v1::Tree tree;
  for (v1::TreeEntry& e : entries) *tree.add_entries() = std::move(e);
  ASSIGN_OR_RETURN(std::string id, env_->PutRawTree(tree));
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_DIRECTORY);
  e.set_mode(0755);
  e.set_subtree_id(id);
  return e;
}

absl::StatusOr<std::string> RestoreSafetyTest::Snapshot(std::vector<v1::TreeEntry> entries) {
  // In name order, as in every tree a backup writes (a tree out of order is
  // refused whole: RestoreSafetyTest.ATreeOutOfOrderIsRefusedWhole); entries
  // of one name keep the order given.
  std::stable_sort(
      entries.begin(), entries.end(),
      [](const v1::TreeEntry& a, const v1::TreeEntry& b) { return a.name() < b.name(); });
  v1::Tree tree;
  for (v1::TreeEntry& e : entries) *tree.add_entries() = std::move(e);
  ASSIGN_OR_RETURN(std::string id, env_->PutRawTree(tree));
  return env_->CommitRawSnapshot(id);
}

absl::StatusOr<RestoreResult> RestoreSafetyTest::Restore(const std::string& snapshot,
                                                         bool overwrite,
                                                         std::vector<std::string> paths,
                                                         bool allow_special) {
  RestoreOptions options;
  options.snapshot_id = snapshot;
  options.target = target_;
  options.overwrite = overwrite;
  options.paths = std::move(paths);
  options.allow_special = allow_special;
  return env_->Restore(options);
}

std::vector<std::string> RestoreSafetyTest::HostileNames() const {
  return {"../x",
          sentinel_ + "/abs",
          "",
          ".",
          "..",
          "a/b",
          "../sentinel/up",
          std::string("nul\0byte", 8),
          std::string(300, 'n')};
}

}  // namespace cairn

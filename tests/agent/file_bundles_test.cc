// Small files in bundles (agent/file_bundles.h), end to end through a real
// in-process server: a directory's small files share a bundle chunk (text
// and random bytes in separate ones), larger and empty files do not; every
// snapshot restores byte-identical, whole and one path at a time; an
// incremental stores only the changed files, in a new bundle; the unchanged
// files of a bundle their directory uses less than half of are read into a
// new one, and the old bundle is collected once no snapshot needs it; a
// full backup of an unchanged tree makes the same bundles (dedup); and
// bundle_file_bytes 0 stores every file alone.
#include "agent/file_bundles.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agent/backup_runner.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "server/browse/snapshot_browser.h"
#include "server/maintenance/garbage_collector.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/tree_manifest_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

// Log-like text of about `size` bytes, different per seed.
std::string Text(size_t size, uint64_t seed) {
  std::string text;
  for (uint64_t line = 0; text.size() < size; ++line) {
    absl::StrAppendFormat(&text, "step %d loss %.4f lr %.6f tokens %d\n", seed * 1000 + line,
                          1.0 / (1 + (seed * 7 + line) % 97), 0.0003 * ((line + seed) % 11),
                          (seed * 31 + line * 17) % 100000);
  }
  text.resize(size);
  return text;
}

class FileBundlesTest : public AgentEnvTest {
 protected:
  void SetUp() override {
    CoreOptions options;
    options.gc_grace = absl::ZeroDuration();
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("file_bundles", options));
    src_ = env_->base() + "/src";
    ASSERT_OK(MakeDirectories(src_ + "/logs"));
    ASSERT_OK(MakeDirectories(src_ + "/blobs"));
    for (int i = 0; i < 200; ++i) {
      ASSERT_OK(WriteFile(Log(i), Text(1000 + (i * 37) % 7000, i)));
    }
    for (int i = 0; i < 40; ++i) {
      ASSERT_OK(WriteFile(absl::StrFormat("%s/blobs/b%03d.bin", src_, i),
                          RandomBytes(2000 + i * 100, 500 + i)));
    }
    ASSERT_OK(WriteFile(src_ + "/big.bin", RandomBytes(200 << 10, 1)));
    ASSERT_OK(WriteFile(src_ + "/empty", ""));
    ASSERT_OK(WriteFile(src_ + "/exact.txt", Text(kDefaultBundleFileBytes, 2)));
    ASSERT_OK(WriteFile(src_ + "/over.txt", Text(kDefaultBundleFileBytes + 1, 3)));
    ASSERT_EQ(link(Log(1).c_str(), (src_ + "/logs/z-hardlink").c_str()), 0);
  }
  std::string Log(int i) const { return absl::StrFormat("%s/logs/f%04d.txt", src_, i); }

  absl::StatusOr<v1::Snapshot> Backup(v1::BackupLevel level, const AgentCrypto* crypto = nullptr) {
    BackupOptions options;
    options.root = src_;
    options.level = level;
    ASSIGN_OR_RETURN(
        BackupResult result,
        RunBackup(env_->connection(), crypto != nullptr ? *crypto : *env_->agent().crypto,
                  env_->agent().config, options));
    if (!result.errors.empty()) return absl::InternalError(DescribeErrors(result.errors));
    return result.snapshot;
  }

  // The entries of directory `name` of the snapshot's root ("" = the root).
  std::map<std::string, v1::TreeEntry> Entries(const v1::Snapshot& snapshot,
                                               const std::string& name) {
    std::map<std::string, v1::TreeEntry> out;
    absl::StatusOr<std::vector<v1::TreeEntry>> root = env_->ReadDirectory(snapshot.root_tree_id());
    EXPECT_OK(root.status());
    if (!root.ok()) return out;
    std::string id = snapshot.root_tree_id();
    for (const v1::TreeEntry& e : *root) {
      if (!name.empty() && e.name() == name) id = e.subtree_id();
    }
    absl::StatusOr<std::vector<v1::TreeEntry>> entries = env_->ReadDirectory(id);
    EXPECT_OK(entries.status());
    if (!entries.ok()) return out;
    for (v1::TreeEntry& e : *entries) out[e.name()] = std::move(e);
    return out;
  }

  // The distinct bundle ids the directory's files name.
  std::set<std::string> Bundles(const std::map<std::string, v1::TreeEntry>& entries) {
    std::set<std::string> ids;
    for (const auto& [name, e] : entries) {
      for (const v1::ChunkRef& ref : e.chunks()) {
        if (ref.bundle_size() > 0) ids.insert(ref.id());
      }
    }
    return ids;
  }
};

TEST_F(FileBundlesTest, SmallFilesShareBundlesAndRestoreByteIdentical) {
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot full, Backup(v1::BACKUP_LEVEL_FULL));
  EXPECT_EQ(full.stats().files(), 245u);

  // 200 log files (~900 KiB of text) are one bundle; 40 random blobs another.
  const auto logs = Entries(full, "logs");
  ASSERT_EQ(logs.size(), 201u);
  for (const auto& [name, e] : logs) {
    if (e.type() != v1::ENTRY_TYPE_FILE) continue;
    ASSERT_EQ(e.chunks_size(), 1) << name;
    EXPECT_GT(e.chunks(0).bundle_size(), 0u) << name;
    EXPECT_EQ(e.chunks(0).size(), e.size()) << name;
  }
  const std::set<std::string> log_bundles = Bundles(logs);
  EXPECT_EQ(log_bundles.size(), 1u);
  const std::set<std::string> blob_bundles = Bundles(Entries(full, "blobs"));
  EXPECT_EQ(blob_bundles.size(), 1u);
  EXPECT_NE(*log_bundles.begin(), *blob_bundles.begin());

  // At the limit a file is bundled; past it, or empty, it is not.
  auto root = Entries(full, "");
  EXPECT_GT(root["exact.txt"].chunks(0).bundle_size(), 0u);
  EXPECT_EQ(root["over.txt"].chunks(0).bundle_size(), 0u);
  EXPECT_EQ(root["big.bin"].chunks(0).bundle_size(), 0u);
  EXPECT_EQ(root["empty"].chunks_size(), 0);
  // logs, blobs, exact.txt's bundle, over.txt and big.bin's chunks.
  EXPECT_LE(full.stats().chunks_new(), 3u + 1u + 4u);

  ExpectRestoresTo(full.id(), want);
  // One file of a bundle, alone.
  RestoreOptions options;
  options.snapshot_id = full.id();
  options.target = env_->base() + "/restore-one";
  options.paths = {"logs/f0100.txt"};
  CAIRN_ASSERT_OK_AND_ASSIGN(RestoreResult one, env_->Restore(options));
  EXPECT_TRUE(one.errors.empty()) << DescribeErrors(one.errors);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(options.target + "/logs/f0100.txt"));
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string source, ReadFile(Log(100)));
  EXPECT_EQ(got, source);
}

TEST_F(FileBundlesTest, AnIncrementalStoresOnlyTheChangedFilesInANewBundle) {
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot full, Backup(v1::BACKUP_LEVEL_FULL));
  const auto before = Entries(full, "logs");
  ASSERT_OK(WriteFile(Log(10), Text(3000, 9010)));
  ASSERT_OK(SetMtime(Log(10), 1700000000));
  ASSERT_OK(WriteFile(Log(150), Text(2000, 9150)));
  ASSERT_OK(SetMtime(Log(150), 1700000000));
  ASSERT_OK(WriteFile(src_ + "/logs/new.txt", Text(500, 9999)));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));

  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot inc, Backup(v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(inc.stats().bytes_read(), 3000u + 2000u + 500u) << "only the changed files are read";
  EXPECT_EQ(inc.stats().chunks_new(), 1u) << "the three share one new bundle";
  EXPECT_EQ(inc.stats().files_rebundled(), 0u);
  const auto after = Entries(inc, "logs");
  for (const auto& [name, e] : after) {
    if (e.type() != v1::ENTRY_TYPE_FILE) continue;
    if (name == "f0010.txt" || name == "f0150.txt" || name == "new.txt") {
      EXPECT_EQ(Bundles({{name, e}}).count(*Bundles(before).begin()), 0u) << name;
      continue;
    }
    ASSERT_TRUE(before.contains(name)) << name;
    EXPECT_EQ(e.chunks(0).SerializeAsString(), before.at(name).chunks(0).SerializeAsString())
        << name << " kept its slice";
  }
  ExpectRestoresTo(inc.id(), want);

  // Nothing changed: nothing read, nothing stored.
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot same, Backup(v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(same.stats().bytes_read(), 0u);
  EXPECT_EQ(same.stats().chunks_new(), 0u);
}

TEST_F(FileBundlesTest, AFullBackupOfAnUnchangedTreeMakesTheSameBundles) {
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot first, Backup(v1::BACKUP_LEVEL_FULL));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot second, Backup(v1::BACKUP_LEVEL_FULL));
  EXPECT_GT(second.stats().bytes_read(), 1u << 20) << "a full backup reads everything";
  EXPECT_EQ(second.stats().chunks_new(), 0u);
  EXPECT_EQ(second.root_tree_id(), first.root_tree_id());
}

TEST_F(FileBundlesTest, TheFilesLeftInASparseBundleMoveToANewOneAndTheOldIsCollected) {
  ASSERT_EQ(unlink((src_ + "/logs/z-hardlink").c_str()), 0);
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot full, Backup(v1::BACKUP_LEVEL_FULL));
  const std::string old_bundle = *Bundles(Entries(full, "logs")).begin();
  // A quarter of the files leave: the rest still use most of the bundle.
  for (int i = 0; i < 50; ++i) ASSERT_EQ(unlink(Log(i).c_str()), 0);
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot quarter, Backup(v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(quarter.stats().files_rebundled(), 0u);
  EXPECT_EQ(Bundles(Entries(quarter, "logs")), std::set<std::string>{old_bundle});

  // Most leave: the 40 left are read into a new bundle.
  for (int i = 50; i < 160; ++i) ASSERT_EQ(unlink(Log(i).c_str()), 0);
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot sparse, Backup(v1::BACKUP_LEVEL_INCREMENTAL));
  EXPECT_EQ(sparse.stats().files_rebundled(), 40u);
  EXPECT_EQ(sparse.stats().chunks_new(), 1u);
  const std::set<std::string> now = Bundles(Entries(sparse, "logs"));
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(*now.begin(), old_bundle);
  ExpectRestoresTo(sparse.id(), want);
  // A diff lists the 110 removed files, not the 40 that moved bundle.
  SnapshotBrowser browser(env_->server()->catalog());
  v1::DiffSnapshotsRequest diff;
  diff.set_from_snapshot_id(quarter.id());
  diff.set_to_snapshot_id(sparse.id());
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::DiffSnapshotsResponse changes, browser.Diff(diff));
  int removed = 0;
  for (const v1::Change& change : changes.changes()) {
    if (change.kind() == v1::CHANGE_KIND_REMOVED) {
      ++removed;
    } else {
      EXPECT_EQ(change.path(), "logs") << "only the directory's times moved";
    }
  }
  EXPECT_EQ(removed, 110);

  // Once the older snapshots go, so does the old bundle; the last restores.
  std::vector<std::pair<std::string, std::string>> doomed = {{full.id(), "test"},
                                                             {quarter.id(), "test"}};
  ASSERT_OK(env_->server()->catalog()->snapshots().Delete(doomed));
  absl::SleepFor(absl::Milliseconds(20));
  GcOptions gc;
  gc.grace = absl::ZeroDuration();
  CAIRN_ASSERT_OK_AND_ASSIGN(GcReport report, env_->server()->core()->maintenance().CollectGarbage(
                                                  Caller::Internal(), gc));
  EXPECT_GE(report.chunks_deleted, 1u);
  ExpectRestoresTo(sparse.id(), want);
}

TEST_F(FileBundlesTest, BundleFileBytesZeroStoresEveryFileAlone) {
  v1::AgentConfig config = env_->agent().config;
  config.set_bundle_file_bytes(0);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> crypto, LoadAgentCrypto(config));
  CAIRN_ASSERT_OK_AND_ASSIGN(TreeManifest want, CaptureTree(src_));
  CAIRN_ASSERT_OK_AND_ASSIGN(v1::Snapshot full, Backup(v1::BACKUP_LEVEL_FULL, crypto.get()));
  EXPECT_TRUE(Bundles(Entries(full, "logs")).empty());
  EXPECT_GE(full.stats().chunks_new(), 240u);
  ExpectRestoresTo(full.id(), want);
}

}  // namespace
}  // namespace cairn

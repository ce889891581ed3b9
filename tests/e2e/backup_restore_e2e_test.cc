// Backup and restore through the real binaries: a full backup of a hostile
// tree restores identical, and full / incremental / differential snapshots
// taken between changes each restore exactly the tree of their moment.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/path_text.h"
#include "gtest/gtest.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/tree_util.h"

namespace cairn::e2e {
namespace {

class BackupRestoreE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir("backup_restore");
    auto server = ServerProcess::Start(dir_ + "/server");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    agent_ = NewAgentIdentity(*server_, dir_, "alpha");
    absl::Status init = SetUpAgent(agent_);
    ASSERT_TRUE(init.ok()) << init;
  }

  std::string Ctl(const std::vector<std::string>& args, int want_exit = 0) {
    CommandResult r = RunCommand(CtlArgs(*server_, args));
    EXPECT_EQ(r.exit_code, want_exit) << r.Describe();
    return r.out;
  }

  // Restores `snapshot` into a fresh directory and compares it with `want`.
  void ExpectRestoresTo(const std::string& snapshot, const TreeManifest& want,
                        const std::string& label) {
    std::string target = absl::StrCat(dir_, "/restore_", label);
    CommandResult r = AgentRestore(agent_, snapshot, target);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(IsValidJson(r.out)) << r.out;
    // The chunks came through the data port.
    EXPECT_TRUE(absl::StrContains(r.err, "event=data.session_opened")) << r.err;
    absl::StatusOr<TreeManifest> got = CaptureTree(target);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<std::string> diffs = CompareTrees(want, *got);
    EXPECT_TRUE(diffs.empty()) << "snapshot " << snapshot << " (" << label
                               << ") restored differently: " << FormatDifferences(diffs);
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  AgentIdentity agent_;
};

// "path" (text, PathToText; common/json_output.h) -> "kind" of a diff --json.
std::map<std::string, std::string> DecodeChanges(const std::string& json) {
  std::vector<std::string> paths = JsonStrings(json, "path");
  std::vector<std::string> kinds = JsonStrings(json, "kind");
  EXPECT_EQ(paths.size(), kinds.size()) << json;
  std::map<std::string, std::string> changes;
  for (size_t i = 0; i < paths.size() && i < kinds.size(); ++i) {
    absl::StatusOr<std::string> path = PathFromText(JsonUnescape(paths[i]));
    EXPECT_TRUE(path.ok()) << paths[i];
    changes[path.value_or("")] = kinds[i];
  }
  return changes;
}

TEST_F(BackupRestoreE2eTest, FullBackupOfHostileTreeRestoresIdentical) {
  std::string data = dir_ + "/data";
  ASSERT_TRUE(BuildSampleTree(data, 1, 30 << 20).ok());
  absl::StatusOr<TreeManifest> want = CaptureTree(data);
  ASSERT_TRUE(want.ok()) << want.status();

  BackupOutcome backup = AgentBackup(agent_, data, "full");
  ASSERT_EQ(backup.command.exit_code, 0) << backup.command.Describe();
  ASSERT_TRUE(IsValidJson(backup.command.out)) << backup.command.out;
  ASSERT_FALSE(backup.snapshot.empty()) << backup.command.out;
  EXPECT_GE(backup.bytes_uploaded, 30 << 20) << "incompressible data uploads at least its size";
  size_t want_files = 0;
  for (const auto& [path, r] : *want) want_files += r.type != 'd' ? 1 : 0;
  EXPECT_EQ(backup.files, static_cast<int64_t>(want_files)) << backup.command.out;
  // The chunks went to the data port (docs/security.md, "The data channel").
  EXPECT_TRUE(absl::StrContains(server_->Log(), "event=data.listening")) << server_->Log();
  EXPECT_TRUE(absl::StrContains(backup.command.err, "event=data.session_opened"))
      << backup.command.err;

  // The server lists it.
  std::string snapshots = Ctl({"snapshots", "--json"});
  EXPECT_TRUE(IsValidJson(snapshots)) << snapshots;
  EXPECT_TRUE(absl::StrContains(snapshots, backup.snapshot)) << snapshots;
  EXPECT_EQ(JsonStrings(snapshots, "level"), std::vector<std::string>{"BACKUP_LEVEL_FULL"});

  // ls: the top level for people, every entry for scripts.
  std::string top = Ctl({"ls", backup.snapshot});
  EXPECT_TRUE(absl::StrContains(top, "large.bin")) << top;
  EXPECT_TRUE(absl::StrContains(top, "empty_dir/")) << top;
  EXPECT_FALSE(absl::StrContains(top, "deep.txt")) << "ls without --recursive shows one level";
  std::string all = Ctl({"ls", backup.snapshot, "--recursive", "--json"});
  ASSERT_TRUE(IsValidJson(all)) << all.substr(0, 2000);
  std::set<std::string> listed;
  // Paths are text (PathToText), with the bytes in path_raw where they differ.
  std::vector<std::string> raws = JsonStrings(all, "path_raw");
  size_t non_text = 0;
  for (const std::string& json_text : JsonStrings(all, "path")) {
    const std::string text = JsonUnescape(json_text);
    absl::StatusOr<std::string> path = PathFromText(text);
    EXPECT_TRUE(path.ok()) << text;
    if (path.ok() && PathToText(*path) != *path) ++non_text;
    listed.insert(path.value_or(""));
  }
  EXPECT_EQ(raws.size(), non_text);
  for (const std::string& b64 : raws) {
    std::string raw;
    EXPECT_TRUE(absl::Base64Unescape(b64, &raw)) << b64;
    EXPECT_TRUE(listed.contains(raw)) << b64;
  }
  std::set<std::string> expected_paths;
  for (const auto& [path, r] : *want) expected_paths.insert(path);
  EXPECT_EQ(listed, expected_paths);
  std::string sub = Ctl({"ls", backup.snapshot, "a/b", "--recursive"});
  EXPECT_TRUE(absl::StrContains(sub, "deep.txt")) << sub;
  EXPECT_FALSE(absl::StrContains(sub, "large.bin")) << sub;

  ExpectRestoresTo(backup.snapshot, *want, "full");
  // The source was not touched by backing it up.
  absl::StatusOr<TreeManifest> after = CaptureTree(data);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(CompareTrees(*want, *after).empty());
}

// data_listen "off": no data port, and the agent uploads over TLS by itself.
TEST_F(BackupRestoreE2eTest, WithoutADataPortUploadsGoOverTls) {
  const std::string config = dir_ + "/no-data-port.conf";
  ASSERT_TRUE(WriteFileAtomically(config, "data_listen: \"off\"\n", 0600).ok());
  auto server = ServerProcess::Start(dir_ + "/server-tls-only", config);
  ASSERT_TRUE(server.ok()) << server.status();
  AgentIdentity agent = NewAgentIdentity(**server, dir_, "beta");
  ASSERT_TRUE(SetUpAgent(agent).ok());
  std::string data = dir_ + "/data";
  ASSERT_TRUE(BuildSampleTree(data, 2, 4 << 20).ok());
  absl::StatusOr<TreeManifest> want = CaptureTree(data);
  ASSERT_TRUE(want.ok()) << want.status();
  BackupOutcome backup = AgentBackup(agent, data, "full");
  ASSERT_EQ(backup.command.exit_code, 0) << backup.command.Describe();
  EXPECT_GE(backup.bytes_uploaded, 4 << 20);
  EXPECT_FALSE(absl::StrContains((*server)->Log(), "event=data.listening")) << (*server)->Log();
  EXPECT_FALSE(absl::StrContains(backup.command.err, "event=data.session")) << backup.command.err;
  std::string target = dir_ + "/restore_tls_only";
  CommandResult r = AgentRestore(agent, backup.snapshot, target);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<TreeManifest> got = CaptureTree(target);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(CompareTrees(*want, *got).empty());
}

TEST_F(BackupRestoreE2eTest, EachLevelRestoresTheTreeOfItsMoment) {
  std::string data = dir_ + "/data";
  auto at = [&data](absl::string_view rel) { return absl::StrCat(data, "/", rel); };
  ASSERT_TRUE(BuildSampleTree(data, 7, 8 << 20).ok());
  struct Taken {
    std::string snapshot;
    std::string level;
    TreeManifest tree;
  };
  std::vector<Taken> taken;
  std::vector<std::string> reports;  // each backup's --json
  auto backup = [&](const std::string& level) {
    absl::StatusOr<TreeManifest> tree = CaptureTree(data);
    ASSERT_TRUE(tree.ok()) << tree.status();
    BackupOutcome b = AgentBackup(agent_, data, level);
    ASSERT_EQ(b.command.exit_code, 0) << b.command.Describe();
    ASSERT_FALSE(b.snapshot.empty()) << b.command.out;
    taken.push_back({b.snapshot, level, *std::move(tree)});
    reports.push_back(b.command.out);
  };
  ASSERT_NO_FATAL_FAILURE(backup("full"));

  // Round 1: add, modify (in place, resized, sneakily with the old mtime),
  // delete a file and a subtree, chmod, retarget a symlink, add a hardlink.
  ASSERT_TRUE(WriteRandomFile(at("new_file.txt"), 5000, 101).ok());
  ASSERT_EQ(::mkdir(at("new_dir").c_str(), 0755), 0);
  ASSERT_TRUE(WriteRandomFile(at("new_dir/inner.bin"), 200000, 102).ok());
  ASSERT_TRUE(OverwriteRange(at("b4096"), 100, 50, 103).ok());
  ASSERT_TRUE(WriteRandomFile(at("many/f010"), 12345, 104).ok());
  ASSERT_TRUE(OverwriteRange(at("large.bin"), 3 << 20, 1 << 20, 105).ok());
  {
    struct stat st;
    ASSERT_EQ(::stat(at("b65536").c_str(), &st), 0);
    ASSERT_TRUE(OverwriteRange(at("b65536"), 0, 10, 106).ok());
    // Same size, same mtime: only the ctime tells.
    ASSERT_TRUE(SetMtime(at("b65536"), st.st_mtim.tv_sec, st.st_mtim.tv_nsec).ok());
  }
  ASSERT_EQ(::unlink(at("one").c_str()), 0);
  ASSERT_EQ(::unlink(at("many/f020").c_str()), 0);
  ASSERT_EQ(::unlink(at("a/b/c/d/e/deep.txt").c_str()), 0);
  ASSERT_EQ(::rmdir(at("a/b/c/d/e").c_str()), 0);
  ASSERT_EQ(::rmdir(at("a/b/c/d").c_str()), 0);
  ASSERT_EQ(::chmod(at("group.txt").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(at("exec.sh").c_str(), 0700), 0);
  ASSERT_EQ(::unlink(at("link_dir").c_str()), 0);
  ASSERT_EQ(::symlink("a", at("link_dir").c_str()), 0);
  ASSERT_EQ(::link(at("hl/orig").c_str(), at("hl/fourth").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(backup("incremental"));
  // The root's small files lost "one" and the old b4096 from their bundle:
  // the unchanged ones left used less than half of it and moved to a new
  // one (agent/file_bundles.h), which the report counts.
  std::vector<int64_t> rebundled = JsonInts(reports.back(), "files_rebundled");
  ASSERT_EQ(rebundled.size(), 1u) << reports.back();
  EXPECT_GT(rebundled[0], 0) << reports.back();

  // Round 2, then a differential (everything since the full).
  ASSERT_TRUE(WriteRandomFile(at("log.txt"), 310000, 201, 0644, true).ok());
  ASSERT_TRUE(WriteRandomFile(at("r2.bin"), 3 << 20, 202).ok());
  ASSERT_EQ(::unlink(at("new_file.txt").c_str()), 0);
  ASSERT_EQ(::chmod(at("dir with space").c_str(), 0750), 0);
  ASSERT_NO_FATAL_FAILURE(backup("differential"));

  // Round 3: rename, a file becomes a directory, a file becomes a symlink.
  ASSERT_EQ(::rename(at("many/f030").c_str(), at("many/f030_renamed").c_str()), 0);
  ASSERT_EQ(::unlink(at("b4097").c_str()), 0);
  ASSERT_EQ(::mkdir(at("b4097").c_str(), 0755), 0);
  ASSERT_TRUE(WriteRandomFile(at("b4097/now_a_dir"), 10, 301).ok());
  ASSERT_EQ(::unlink(at("empty").c_str()), 0);
  ASSERT_EQ(::symlink("exec.sh", at("empty").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(backup("incremental"));

  // Every snapshot is complete on its own and exactly its moment's tree.
  for (size_t i = 0; i < taken.size(); ++i) {
    ExpectRestoresTo(taken[i].snapshot, taken[i].tree, absl::StrCat(i, "_", taken[i].level));
  }

  // The catalog knows the levels.
  std::string snapshots = Ctl({"snapshots", "--json"});
  for (const Taken& t : taken) EXPECT_TRUE(absl::StrContains(snapshots, t.snapshot));
  std::vector<std::string> levels = JsonStrings(snapshots, "level");
  std::multiset<std::string> level_set(levels.begin(), levels.end());
  EXPECT_EQ(level_set.count("BACKUP_LEVEL_FULL"), 1u) << snapshots;
  EXPECT_EQ(level_set.count("BACKUP_LEVEL_INCREMENTAL"), 2u) << snapshots;
  EXPECT_EQ(level_set.count("BACKUP_LEVEL_DIFFERENTIAL"), 1u) << snapshots;

  // diff lists what round 1 changed, with the right kind, and nothing else
  // but directories (whose times moved).
  std::map<std::string, std::string> changes =
      DecodeChanges(Ctl({"diff", taken[0].snapshot, taken[1].snapshot, "--json"}));
  const std::map<std::string, std::string> want_changes = {
      {"new_file.txt", "CHANGE_KIND_ADDED"}, {"new_dir", "CHANGE_KIND_ADDED"},
      {"b4096", "CHANGE_KIND_MODIFIED"},     {"many/f010", "CHANGE_KIND_MODIFIED"},
      {"large.bin", "CHANGE_KIND_MODIFIED"}, {"b65536", "CHANGE_KIND_MODIFIED"},
      {"one", "CHANGE_KIND_REMOVED"},        {"many/f020", "CHANGE_KIND_REMOVED"},
      {"a/b/c/d", "CHANGE_KIND_REMOVED"},    {"group.txt", "CHANGE_KIND_METADATA"},
      {"exec.sh", "CHANGE_KIND_METADATA"},   {"link_dir", "CHANGE_KIND_MODIFIED"},
      {"hl/fourth", "CHANGE_KIND_ADDED"},
  };
  for (const auto& [path, kind] : want_changes) {
    auto it = changes.find(path);
    if (it == changes.end()) {
      ADD_FAILURE() << "diff misses " << path;
      continue;
    }
    EXPECT_EQ(it->second, kind) << path;
  }
  const TreeManifest& before = taken[0].tree;
  const TreeManifest& after = taken[1].tree;
  for (const auto& [path, kind] : changes) {
    if (want_changes.contains(path)) continue;
    // Children of an added or removed directory, directories whose times
    // moved, and the other names of a hardlink whose link count changed.
    bool under_changed_dir =
        absl::StartsWith(path, "new_dir/") || absl::StartsWith(path, "a/b/c/d/");
    auto b = before.find(path);
    auto a = after.find(path);
    bool is_dir =
        (b != before.end() && b->second.type == 'd') || (a != after.end() && a->second.type == 'd');
    bool hardlink_sibling = absl::StartsWith(path, "hl/") || path == "a/b/third_link";
    EXPECT_TRUE(under_changed_dir || is_dir || hardlink_sibling)
        << "diff lists unchanged " << path << " as " << kind;
  }
  EXPECT_FALSE(changes.contains("b4095"));
  EXPECT_FALSE(changes.contains("many/f011"));

  // The text form names the same paths.
  std::string text = Ctl({"diff", taken[0].snapshot, taken[1].snapshot});
  EXPECT_TRUE(absl::StrContains(text, "+ new_file.txt")) << text;
  EXPECT_TRUE(absl::StrContains(text, "- one")) << text;
  EXPECT_TRUE(absl::StrContains(text, "M b4096")) << text;
  EXPECT_TRUE(absl::StrContains(text, "U group.txt")) << text;
}

}  // namespace
}  // namespace cairn::e2e

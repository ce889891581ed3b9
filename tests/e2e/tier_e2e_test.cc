// Tiers end to end: a real cairn-server with a local tier "hot" (new packs)
// and an S3 tier "cold" (s3rver), an enrolled agent and cairnctl. After a
// backup `cairnctl tier list --json` shows the packs on hot, none on cold,
// both up, and a catalog bundle; `tier copy` puts a copy of every pack on
// cold (and --older-than leaves young packs alone); with hot's pack files
// deleted a restore is identical, read from the copies; `tier move` leaves
// nothing on hot and restores stay identical; new backups still go to hot.
// A viewer or operator credential may list the tiers but not move packs.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/tree_util.h"
#include "tests/server/tiers/s3_test_server.h"

namespace cairn::e2e {
namespace {

// One tier as `cairnctl tier list --json` shows it.
struct TierRow {
  std::string kind;
  int64_t packs = -1;
  bool down = true;
  bool new_packs = false;
};

struct TierList {
  CommandResult command;
  std::map<std::string, TierRow> tiers;
  bool backups_enabled = false;
  std::string last_bundle;
};

TierList ParseTierList(CommandResult r) {
  TierList list;
  for (const std::string& t : JsonArrayObjects(r.out, "tiers")) {
    std::vector<std::string> name = JsonStrings(t, "name");
    std::vector<std::string> kind = JsonStrings(t, "kind");
    std::vector<int64_t> packs = JsonInts(t, "packs");
    std::vector<bool> down = JsonBools(t, "down");
    std::vector<bool> new_packs = JsonBools(t, "new_packs");
    if (name.empty() || kind.empty() || packs.empty() || down.empty() || new_packs.empty()) {
      ADD_FAILURE() << "a tier without all its fields: " << t;
      continue;
    }
    list.tiers[name[0]] = TierRow{kind[0], packs[0], down[0], new_packs[0]};
  }
  std::vector<bool> enabled = JsonBools(r.out, "enabled");
  list.backups_enabled = !enabled.empty() && enabled[0];
  std::vector<std::string> last = JsonStrings(r.out, "last_object");
  if (!last.empty()) list.last_bundle = last[0];
  list.command = std::move(r);
  return list;
}

int64_t FirstInt(const std::string& json, absl::string_view key) {
  std::vector<int64_t> v = JsonInts(json, key);
  return v.empty() ? -1 : v[0];
}

class TierE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir("tier");
    auto s3 = S3TestServer::Start(dir_ + "/s3rver");
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = *std::move(s3);
    hot_dir_ = dir_ + "/hot";
    state_dir_ = dir_ + "/server";
    config_ = dir_ + "/server.conf";
    // Small packs, so a backup makes several.
    std::string text =
        absl::StrCat("state_dir: \"", state_dir_, "\"\n", "pack_target_bytes: 1048576\n");
    absl::StrAppend(&text, "tiers { name: \"hot\" local { path: \"", hot_dir_, "\" } }\n");
    absl::StrAppend(&text, "tiers { name: \"cold\" s3 { endpoint: \"", s3_->endpoint(),
                    "\" bucket: \"", s3_->bucket(),
                    "\" prefix: \"cold/\" access_key_id: \"S3RVER\" "
                    "secret_access_key: \"S3RVER\" } }\n");
    absl::StrAppend(&text, "catalog_backup { interval_seconds: 1 }\n");
    ASSERT_TRUE(WriteFileAtomically(config_, text, 0600).ok());
    auto started = ServerProcess::Start(state_dir_, config_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    agent_ = NewAgentIdentity(*server_, dir_, "alpha");
    absl::Status set_up = SetUpAgent(agent_);
    ASSERT_TRUE(set_up.ok()) << set_up;
    data_ = dir_ + "/data";
  }

  void TearDown() override {
    if (server_ != nullptr) {
      absl::Status stopped = server_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
    }
  }

  CommandResult Ctl(const std::vector<std::string>& args, const std::string& credentials = "") {
    return RunCommand(
        CtlArgsAt(server_->address(),
                  credentials.empty() ? state_dir_ + "/admin.credentials" : credentials, args),
        absl::Seconds(120));
  }
  TierList List(const std::string& credentials = "") {
    return ParseTierList(Ctl({"tier", "list", "--json"}, credentials));
  }

  // A backup of data_; its snapshot and the tree it saw.
  void TakeBackup(absl::string_view level, std::string* snapshot, TreeManifest* tree) {
    absl::StatusOr<TreeManifest> captured = CaptureTree(data_);
    ASSERT_TRUE(captured.ok()) << captured.status();
    BackupOutcome b = AgentBackup(agent_, data_, level);
    ASSERT_EQ(b.command.exit_code, 0) << b.command.Describe();
    ASSERT_FALSE(b.snapshot.empty()) << b.command.out;
    *snapshot = b.snapshot;
    *tree = *std::move(captured);
  }

  void ExpectRestoresIdentically(const std::string& snapshot, const TreeManifest& tree,
                                 absl::string_view label) {
    const std::string target = absl::StrCat(dir_, "/restore_", label);
    CommandResult r = AgentRestore(agent_, snapshot, target);
    ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << server_->Log();
    absl::StatusOr<TreeManifest> got = CaptureTree(target);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<std::string> diffs = CompareTrees(tree, *got);
    EXPECT_TRUE(diffs.empty()) << label << ": " << FormatDifferences(diffs);
  }

  // The pack files in hot's directory.
  std::vector<std::string> HotPackFiles() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(hot_dir_, ec)) {
      std::string name = e.path().filename().string();
      if (absl::StartsWith(name, "pack-")) out.push_back(name);
    }
    EXPECT_FALSE(ec) << ec.message();
    return out;
  }

  std::string dir_;
  std::unique_ptr<S3TestServer> s3_;
  std::string hot_dir_;
  std::string state_dir_;
  std::string config_;
  std::unique_ptr<ServerProcess> server_;
  AgentIdentity agent_;
  std::string data_;
};

TEST_F(TierE2eTest, CopyThenMoveToTheBucketAndRestoreFromIt) {
  ASSERT_TRUE(BuildSampleTree(data_, 41, 4 << 20).ok());
  std::string first;
  TreeManifest first_tree;
  ASSERT_NO_FATAL_FAILURE(TakeBackup("full", &first, &first_tree));
  const size_t pack_files = HotPackFiles().size();
  ASSERT_GE(pack_files, 2u);

  // Packs on hot, none on cold, both up, new packs to hot, and a bundle
  // (the first comes soon after start).
  TierList list;
  ASSERT_TRUE(WaitFor(
      [&] {
        list = List();
        return !list.last_bundle.empty();
      },
      absl::Seconds(30), absl::Milliseconds(200)))
      << list.command.Describe();
  ASSERT_EQ(list.command.exit_code, 0) << list.command.Describe();
  EXPECT_TRUE(list.backups_enabled) << list.command.out;
  ASSERT_EQ(list.tiers.size(), 2u) << list.command.out;
  const TierRow hot = list.tiers["hot"];
  const TierRow cold = list.tiers["cold"];
  EXPECT_EQ(hot.kind, "local");
  EXPECT_EQ(cold.kind, "s3");
  EXPECT_EQ(hot.packs, static_cast<int64_t>(pack_files)) << list.command.out;
  EXPECT_EQ(cold.packs, 0) << list.command.out;
  EXPECT_FALSE(hot.down);
  EXPECT_FALSE(cold.down);
  EXPECT_TRUE(hot.new_packs);
  EXPECT_FALSE(cold.new_packs);
  const int64_t packs = hot.packs;

  // Only packs older than 30 days: none.
  CommandResult young =
      Ctl({"tier", "copy", "--from", "hot", "--to", "cold", "--older-than", "30d", "--json"});
  ASSERT_EQ(young.exit_code, 0) << young.Describe();
  EXPECT_EQ(FirstInt(young.out, "packs_total"), 0) << young.out;
  EXPECT_EQ(List().tiers["cold"].packs, 0);

  // A dry run says what a copy would do, and does nothing.
  CommandResult dry = Ctl({"tier", "copy", "--from", "hot", "--to", "cold", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.Describe();
  EXPECT_EQ(FirstInt(dry.out, "packs_total"), packs) << dry.out;
  EXPECT_EQ(FirstInt(dry.out, "packs_done"), 0) << dry.out;
  EXPECT_EQ(List().tiers["cold"].packs, 0);

  // Copy: every pack on both tiers.
  CommandResult copied = Ctl({"tier", "copy", "--from", "hot", "--to", "cold", "--json"});
  ASSERT_EQ(copied.exit_code, 0) << copied.Describe() << "\n" << server_->Log();
  EXPECT_EQ(FirstInt(copied.out, "packs_done"), packs) << copied.out;
  EXPECT_TRUE(JsonStrings(copied.out, "problems").empty()) << copied.out;
  list = List();
  EXPECT_EQ(list.tiers["hot"].packs, packs) << list.command.out;
  EXPECT_EQ(list.tiers["cold"].packs, packs) << list.command.out;

  // Verify per tier: cold's copies are all good; a pack damaged on hot is
  // reported as a damaged copy (cold has a good one), not quarantined.
  CommandResult cold_ok = Ctl({"verify", "--tier", "cold", "--read-data", "--json"});
  ASSERT_EQ(cold_ok.exit_code, 0) << cold_ok.Describe();
  EXPECT_EQ(FirstInt(cold_ok.out, "packs_checked"), packs) << cold_ok.out;
  EXPECT_TRUE(JsonStrings(cold_ok.out, "problems").empty()) << cold_ok.out;
  {
    const std::string victim = hot_dir_ + "/" + HotPackFiles().front();
    absl::StatusOr<std::string> bytes = ReadFileToString(victim, 64 << 20);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    (*bytes)[bytes->size() / 3] ^= 0x5a;
    ASSERT_TRUE(WriteFileAtomically(victim, *bytes, 0600).ok());
  }
  CommandResult hot_bad = Ctl({"verify", "--tier", "hot", "--read-data", "--json"});
  EXPECT_EQ(hot_bad.exit_code, 1) << hot_bad.Describe();
  EXPECT_TRUE(absl::StrContains(hot_bad.out, "this copy is damaged, reads use the copy on cold"))
      << hot_bad.Describe();
  EXPECT_FALSE(absl::StrContains(hot_bad.out, "quarantined")) << hot_bad.Describe();
  EXPECT_EQ(FirstInt(hot_bad.out, "packs_checked"), packs) << hot_bad.out;
  CommandResult no_tier = Ctl({"verify", "--tier", "lukewarm"});
  EXPECT_NE(no_tier.exit_code, 0) << no_tier.Describe();
  EXPECT_TRUE(absl::StrContains(no_tier.err, "lukewarm")) << no_tier.Describe();

  // With hot's pack files gone the copies on cold serve the restore.
  for (const std::string& name : HotPackFiles()) {
    ASSERT_TRUE(std::filesystem::remove(hot_dir_ + "/" + name)) << name;
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresIdentically(first, first_tree, "from_copies"));

  // Move: the packs now live on cold alone (hot's objects being gone
  // already is no problem).
  CommandResult moved = Ctl({"tier", "move", "--from", "hot", "--to", "cold", "--json"});
  ASSERT_EQ(moved.exit_code, 0) << moved.Describe() << "\n" << server_->Log();
  EXPECT_EQ(FirstInt(moved.out, "packs_done"), packs) << moved.out;
  list = List();
  EXPECT_EQ(list.tiers["hot"].packs, 0) << list.command.out;
  EXPECT_EQ(list.tiers["cold"].packs, packs) << list.command.out;
  EXPECT_TRUE(HotPackFiles().empty());
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresIdentically(first, first_tree, "after_move"));

  // New backups still go to hot; both snapshots restore.
  ASSERT_TRUE(WriteRandomFile(data_ + "/after_move.bin", 1500000, 4101).ok());
  std::string second;
  TreeManifest second_tree;
  ASSERT_NO_FATAL_FAILURE(TakeBackup("incremental", &second, &second_tree));
  EXPECT_FALSE(HotPackFiles().empty());
  list = List();
  EXPECT_GT(list.tiers["hot"].packs, 0) << list.command.out;
  EXPECT_EQ(list.tiers["cold"].packs, packs) << list.command.out;
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresIdentically(second, second_tree, "second"));
}

TEST_F(TierE2eTest, ViewersAndOperatorsMayListTiersButNotMovePacks) {
  ASSERT_TRUE(BuildSampleTree(data_, 42, 1 << 20).ok());
  std::string snapshot;
  TreeManifest tree;
  ASSERT_NO_FATAL_FAILURE(TakeBackup("full", &snapshot, &tree));
  const int64_t packs = List().tiers["hot"].packs;
  ASSERT_GT(packs, 0);

  for (const char* role : {"viewer", "operator"}) {
    SCOPED_TRACE(role);
    const std::string file = absl::StrCat(dir_, "/", role, ".credentials");
    CommandResult created = Ctl({"credentials", "create", "--name", absl::StrCat("a-", role),
                                 "--role", role, "--out", file});
    ASSERT_EQ(created.exit_code, 0) << created.Describe();

    TierList list = List(file);
    ASSERT_EQ(list.command.exit_code, 0) << list.command.Describe();
    EXPECT_EQ(list.tiers["hot"].packs, packs) << list.command.out;

    for (const char* verb : {"move", "copy"}) {
      CommandResult refused = Ctl({"tier", verb, "--from", "hot", "--to", "cold"}, file);
      EXPECT_NE(refused.exit_code, 0) << refused.Describe();
      EXPECT_TRUE(absl::StrContains(refused.err, "admin")) << refused.Describe();
    }
  }
  // Nothing moved; the admin may.
  TierList list = List();
  EXPECT_EQ(list.tiers["hot"].packs, packs);
  EXPECT_EQ(list.tiers["cold"].packs, 0);
  CommandResult moved = Ctl({"tier", "move", "--from", "hot", "--to", "cold", "--json"});
  ASSERT_EQ(moved.exit_code, 0) << moved.Describe();
  EXPECT_EQ(List().tiers["cold"].packs, packs);
  ASSERT_NO_FATAL_FAILURE(ExpectRestoresIdentically(snapshot, tree, "moved"));
}

// --older-than is sent in seconds: an age under a day such as 12h once
// became 0 days, which the server reads as "no age filter", and every pack
// was moved. Packs written a moment ago are not 12 hours old.
TEST_F(TierE2eTest, OlderThanUnderADayDoesNotMoveNewPacks) {
  ASSERT_TRUE(BuildSampleTree(data_, 43, 1 << 20).ok());
  std::string snapshot;
  TreeManifest tree;
  ASSERT_NO_FATAL_FAILURE(TakeBackup("full", &snapshot, &tree));
  ASSERT_GT(List().tiers["hot"].packs, 0);
  CommandResult dry = Ctl({"tier", "move", "--from", "hot", "--to", "cold", "--older-than", "12h",
                           "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.Describe();
  EXPECT_EQ(FirstInt(dry.out, "packs_total"), 0) << dry.out;
}

}  // namespace
}  // namespace cairn::e2e

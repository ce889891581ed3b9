// The server's disk is lost: a server whose only tier is an S3 bucket takes
// a few snapshots, its state directory (catalog, TLS CA, admin credential,
// catalog key) is deleted outright, and `cairn-server --recover-from-tier`
// with a copy of the catalog key brings it back from the newest state bundle
// in the bucket. The agent enrolled before the disaster still works (its
// certificate's CA came back), every snapshot restores byte-identical to the
// tree of its moment, and new backups go on. Recovery never overwrites a
// catalog that is there. And when every bundle is lost too,
// `cairn-server --rebuild-catalog` brings every snapshot back from the packs,
// tree packs and snapshot records alone.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "server/recovery/catalog_backup.h"
#include "server/recovery/tier_metadata.h"
#include "server/tiers/s3/s3_tier.h"
#include "server/tiers/tier.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/tree_util.h"
#include "tests/server/tiers/s3_test_server.h"

namespace cairn::e2e {
namespace {

constexpr char kPrefix[] = "dr/";

// The CA fingerprint the server logged at its latest start, or "".
std::string CaFingerprint(const std::string& log) {
  std::vector<std::map<std::string, std::string>> started = LogEvents(log, "server.listening");
  return started.empty() ? "" : started.back()["ca_fingerprint"];
}

// The newest state bundle on `tier`, or "".
std::string NewestBundle(Tier* tier) {
  absl::StatusOr<std::vector<std::string>> names = tier->ListWithPrefix(kBundlePrefix);
  if (!names.ok() || names->empty()) return "";
  return names->back();
}

class DisasterRecoveryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir("disaster_recovery");
    auto s3 = S3TestServer::Start(dir_ + "/s3rver");
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = *std::move(s3);
    auto bucket = OpenS3Tier("cold", s3_->Options(kPrefix));
    ASSERT_TRUE(bucket.ok()) << bucket.status();
    bucket_ = *std::move(bucket);

    state_dir_ = dir_ + "/server";
    config_ = dir_ + "/server.conf";
    // The bucket is the only tier, so every pack outlives the server's disk.
    std::string text = absl::StrCat("state_dir: \"", state_dir_, "\"\n");
    absl::StrAppend(&text, "tiers { name: \"cold\" s3 { endpoint: \"", s3_->endpoint(),
                    "\" bucket: \"", s3_->bucket(), "\" prefix: \"", kPrefix,
                    "\" access_key_id: \"S3RVER\" secret_access_key: \"S3RVER\" } }\n");
    absl::StrAppend(&text, "catalog_backup { interval_seconds: 1 }\n");
    ASSERT_TRUE(WriteFileAtomically(config_, text, 0600).ok());
  }

  struct Taken {
    std::string snapshot;
    TreeManifest tree;  // what the snapshot must restore to
  };
  // A backup of `data` at `level` by `agent`, appended to `taken`.
  static void Backup(const AgentIdentity& agent, const std::string& data, absl::string_view level,
                     std::vector<Taken>* taken) {
    absl::StatusOr<TreeManifest> tree = CaptureTree(data);
    ASSERT_TRUE(tree.ok()) << tree.status();
    BackupOutcome b = AgentBackup(agent, data, level);
    ASSERT_EQ(b.command.exit_code, 0) << b.command.Describe();
    ASSERT_FALSE(b.snapshot.empty()) << b.command.out;
    taken->push_back({b.snapshot, *std::move(tree)});
  }

  CommandResult Recover(const std::string& key_file) {
    return RunCommand({CAIRN_SERVER_BIN, "--config", config_, "--recover-from-tier", "cold",
                       "--catalog-key", key_file});
  }

  std::string dir_;
  std::unique_ptr<S3TestServer> s3_;
  std::unique_ptr<Tier> bucket_;
  std::string state_dir_;
  std::string config_;
};

TEST_F(DisasterRecoveryE2eTest, ServerComesBackFromTheBucketAfterItsDiskIsLost) {
  auto started = ServerProcess::Start(state_dir_, config_);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  const std::string fingerprint = CaFingerprint(server->Log());
  ASSERT_FALSE(fingerprint.empty()) << server->Log();
  AgentIdentity agent = NewAgentIdentity(*server, dir_, "alpha");
  absl::Status set_up = SetUpAgent(agent);
  ASSERT_TRUE(set_up.ok()) << set_up;

  // Three snapshots, the tree changing in between.
  const std::string data = dir_ + "/data";
  auto at = [&data](absl::string_view rel) { return absl::StrCat(data, "/", rel); };
  ASSERT_TRUE(BuildSampleTree(data, 21, 6 << 20).ok());
  std::vector<Taken> taken;
  auto backup = [&](absl::string_view level) { Backup(agent, data, level, &taken); };
  ASSERT_NO_FATAL_FAILURE(backup("full"));
  ASSERT_TRUE(WriteRandomFile(at("added.bin"), 700000, 2101).ok());
  ASSERT_TRUE(OverwriteRange(at("large.bin"), 1 << 20, 300000, 2102).ok());
  ASSERT_TRUE(std::filesystem::remove(at("one")));
  ASSERT_NO_FATAL_FAILURE(backup("incremental"));
  ASSERT_TRUE(WriteRandomFile(at("many/f010"), 54321, 2201).ok());
  ASSERT_TRUE(WriteRandomFile(at("second_round.txt"), 90000, 2202, 0640, true).ok());
  ASSERT_NO_FATAL_FAILURE(backup("differential"));
  const absl::Time last_commit = absl::Now();  // after the last backup was acknowledged

  // A bundle taken after the last commit reaches the bucket on its own
  // (interval 1 s): its name is its time.
  const std::string after_last = BundleObjectName(last_commit);
  std::string bundle;
  ASSERT_TRUE(WaitFor(
      [&] {
        bundle = NewestBundle(bucket_.get());
        return bundle > after_last;
      },
      absl::Seconds(30), absl::Milliseconds(100)))
      << "no bundle after " << after_last << " in the bucket; newest: " << bundle << "\n"
      << server->Log();

  // The one secret kept elsewhere.
  const std::string offsite_key = dir_ + "/offsite/catalog.key";
  absl::StatusOr<std::string> key_text = ReadFileToString(state_dir_ + "/catalog.key", 4096);
  ASSERT_TRUE(key_text.ok()) << key_text.status();
  ASSERT_TRUE(MakeDirectories(dir_ + "/offsite", 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(offsite_key, *key_text, 0600).ok());

  // The disk dies with the server on it.
  server->Kill();
  std::error_code ec;
  std::filesystem::remove_all(state_dir_, ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_FALSE(std::filesystem::exists(state_dir_));

  // Without the key it cannot, and says how to give it.
  CommandResult no_key = Recover(dir_ + "/offsite/missing.key");
  EXPECT_NE(no_key.exit_code, 0) << no_key.Describe();
  EXPECT_TRUE(absl::StrContains(no_key.err, "--catalog-key")) << no_key.Describe();
  EXPECT_FALSE(std::filesystem::exists(state_dir_ + "/catalog.db"));

  CommandResult recovered = Recover(offsite_key);
  ASSERT_EQ(recovered.exit_code, 0) << recovered.Describe();
  EXPECT_TRUE(absl::StrContains(recovered.out, bundle)) << recovered.Describe();
  for (const char* file : {"catalog.db", "admin.credentials", "tls"}) {
    EXPECT_TRUE(std::filesystem::exists(absl::StrCat(state_dir_, "/", file))) << file;
  }
  // The key is back where the config says, so the next start does not make a new one.
  absl::StatusOr<std::string> home_key = ReadFileToString(state_dir_ + "/catalog.key", 4096);
  ASSERT_TRUE(home_key.ok()) << home_key.status();
  EXPECT_EQ(*home_key, *key_text);

  // A second run refuses: there is a catalog now.
  CommandResult again = Recover(offsite_key);
  EXPECT_NE(again.exit_code, 0) << again.Describe();
  EXPECT_TRUE(absl::StrContains(again.err, "move")) << again.Describe();
  EXPECT_TRUE(absl::StrContains(again.err, "away")) << again.Describe();

  // Back on the same port, with the same CA.
  absl::Status restarted = server->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ(CaFingerprint(server->Log()), fingerprint) << server->Log();
  EXPECT_TRUE(LogEvents(server->Log(), "catalog_key.created").empty()) << server->Log();
  EXPECT_TRUE(LogEvents(server->Log(), "admin_credential.written").empty()) << server->Log();

  // The admin credential came back: cairnctl lists every snapshot.
  CommandResult listed = RunCommand(CtlArgs(*server, {"snapshots", "--json"}));
  ASSERT_EQ(listed.exit_code, 0) << listed.Describe();
  for (const Taken& t : taken) {
    EXPECT_TRUE(absl::StrContains(listed.out, t.snapshot)) << t.snapshot << "\n" << listed.out;
  }

  // The agent enrolled before the disaster restores every snapshot exactly.
  for (size_t i = 0; i < taken.size(); ++i) {
    const std::string target = absl::StrCat(dir_, "/restore_", i);
    CommandResult r = AgentRestore(agent, taken[i].snapshot, target);
    ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << server->Log();
    absl::StatusOr<TreeManifest> got = CaptureTree(target);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<std::string> diffs = CompareTrees(taken[i].tree, *got);
    EXPECT_TRUE(diffs.empty()) << "snapshot " << i << " " << taken[i].snapshot
                               << " restored differently: " << FormatDifferences(diffs);
  }

  // And backs up again, on top of what was there.
  ASSERT_TRUE(WriteRandomFile(at("after_recovery.bin"), 400000, 2301).ok());
  ASSERT_NO_FATAL_FAILURE(backup("incremental"));
  const std::string target = dir_ + "/restore_after";
  CommandResult r = AgentRestore(agent, taken.back().snapshot, target);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<TreeManifest> got = CaptureTree(target);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> diffs = CompareTrees(taken.back().tree, *got);
  EXPECT_TRUE(diffs.empty()) << FormatDifferences(diffs);

  absl::Status stopped = server->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped;
}

// Bacula's bscan case: the state directory and every catalog bundle are
// gone; the bucket holds only packs, tree packs and snapshot records. The
// rebuilt catalog has every snapshot that was not deleted, each restores
// byte-identical through the same agent (enrolled again: the CA went with
// the disk, its tenant key did not), and a deleted snapshot stays deleted.
TEST_F(DisasterRecoveryE2eTest, EverySnapshotComesBackFromThePacksAloneWhenEveryBundleIsLost) {
  auto started = ServerProcess::Start(state_dir_, config_);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  AgentIdentity agent = NewAgentIdentity(*server, dir_, "alpha");
  absl::Status set_up = SetUpAgent(agent);
  ASSERT_TRUE(set_up.ok()) << set_up;

  const std::string data = dir_ + "/data";
  auto at = [&data](absl::string_view rel) { return absl::StrCat(data, "/", rel); };
  ASSERT_TRUE(BuildSampleTree(data, 31, 6 << 20).ok());
  std::vector<Taken> taken;
  auto backup = [&](absl::string_view level) { Backup(agent, data, level, &taken); };
  ASSERT_NO_FATAL_FAILURE(backup("full"));
  ASSERT_TRUE(WriteRandomFile(at("doomed.bin"), 900000, 3101).ok());
  ASSERT_NO_FATAL_FAILURE(backup("incremental"));
  ASSERT_TRUE(std::filesystem::remove(at("doomed.bin")));
  ASSERT_TRUE(OverwriteRange(at("large.bin"), 2 << 20, 400000, 3102).ok());
  ASSERT_TRUE(WriteRandomFile(at("many/f003"), 77777, 3103).ok());
  ASSERT_NO_FATAL_FAILURE(backup("incremental"));

  // The middle snapshot is deleted and its data collected: its record must
  // leave the bucket before its chunks do.
  const std::string doomed = taken[1].snapshot;
  CommandResult deleted = RunCommand(CtlArgs(*server, {"snapshot", "delete", doomed}));
  ASSERT_EQ(deleted.exit_code, 0) << deleted.Describe();
  CommandResult gc = RunCommand(CtlArgs(*server, {"gc"}));
  ASSERT_EQ(gc.exit_code, 0) << gc.Describe() << "\n" << server->Log();
  taken.erase(taken.begin() + 1);
  // Its record goes with the next catalog bundle (interval 1 s here), and
  // always before any pack is deleted.
  absl::StatusOr<std::vector<std::string>> records;
  ASSERT_TRUE(WaitFor(
      [&] {
        records = bucket_->ListWithPrefix(kSnapshotRecordPrefix);
        return records.ok() && records->size() == taken.size();
      },
      absl::Seconds(30), absl::Milliseconds(100)))
      << (records.ok() ? absl::StrJoin(*records, " ") : records.status().ToString());
  for (const Taken& t : taken) {
    EXPECT_TRUE(absl::c_linear_search(*records, SnapshotRecordName(t.snapshot))) << t.snapshot;
  }

  const std::string offsite_key = dir_ + "/offsite.key";
  absl::StatusOr<std::string> key_text = ReadFileToString(state_dir_ + "/catalog.key", 4096);
  ASSERT_TRUE(key_text.ok()) << key_text.status();
  ASSERT_TRUE(WriteFileAtomically(offsite_key, *key_text, 0600).ok());

  // The disk dies, and every catalog bundle with it.
  server->Kill();
  std::error_code ec;
  std::filesystem::remove_all(state_dir_, ec);
  ASSERT_FALSE(ec) << ec.message();
  absl::StatusOr<std::vector<std::string>> bundles = bucket_->ListWithPrefix(kBundlePrefix);
  ASSERT_TRUE(bundles.ok()) << bundles.status();
  ASSERT_FALSE(bundles->empty());
  for (const std::string& b : *bundles) ASSERT_TRUE(bucket_->Delete(b).ok()) << b;
  CommandResult no_bundle = Recover(offsite_key);
  EXPECT_NE(no_bundle.exit_code, 0) << no_bundle.Describe();

  // A wrong key brings nothing back and says so.
  const std::string wrong_key = dir_ + "/wrong.key";
  ASSERT_TRUE(WriteFileAtomically(wrong_key,
                                  absl::StrCat("cairn-catalog-key-v1 ", std::string(64, 'a'), "\n"),
                                  0600)
                  .ok());
  CommandResult wrong = RunCommand(
      {CAIRN_SERVER_BIN, "--config", config_, "--rebuild-catalog", "--catalog-key", wrong_key});
  EXPECT_NE(wrong.exit_code, 0) << wrong.Describe();
  EXPECT_TRUE(absl::StrContains(wrong.err, "catalog key")) << wrong.Describe();
  EXPECT_FALSE(std::filesystem::exists(state_dir_ + "/catalog.db"));

  CommandResult rebuilt = RunCommand(
      {CAIRN_SERVER_BIN, "--config", config_, "--rebuild-catalog", "--catalog-key", offsite_key});
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.Describe();
  EXPECT_TRUE(absl::StrContains(rebuilt.out, absl::StrCat(taken.size(), " snapshots brought back")))
      << rebuilt.Describe();
  EXPECT_TRUE(std::filesystem::exists(state_dir_ + "/catalog.db"));
  CommandResult again = RunCommand(
      {CAIRN_SERVER_BIN, "--config", config_, "--rebuild-catalog", "--catalog-key", offsite_key});
  EXPECT_NE(again.exit_code, 0) << again.Describe();
  EXPECT_TRUE(absl::StrContains(again.err, "never overwrites")) << again.Describe();

  // A new CA and admin credential; the agent enrolls again with its old key.
  ASSERT_TRUE(WriteFileAtomically(state_dir_ + "/catalog.key", *key_text, 0600).ok());
  absl::Status restarted = server->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  AgentIdentity again_agent =
      NewAgentIdentity(*server, dir_ + "/reenrolled", "alpha", agent.key_file);
  absl::Status enrolled = EnrollAgentCli(again_agent);
  ASSERT_TRUE(enrolled.ok()) << enrolled;

  CommandResult listed = RunCommand(CtlArgs(*server, {"snapshots", "--json"}));
  ASSERT_EQ(listed.exit_code, 0) << listed.Describe();
  EXPECT_FALSE(absl::StrContains(listed.out, absl::StrCat("\"id\":\"", doomed, "\"")))
      << listed.out;
  for (size_t i = 0; i < taken.size(); ++i) {
    EXPECT_TRUE(absl::StrContains(listed.out, taken[i].snapshot)) << listed.out;
    const std::string target = absl::StrCat(dir_, "/rebuilt_restore_", i);
    CommandResult r = AgentRestore(again_agent, taken[i].snapshot, target);
    ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << server->Log();
    absl::StatusOr<TreeManifest> got = CaptureTree(target);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<std::string> diffs = CompareTrees(taken[i].tree, *got);
    EXPECT_TRUE(diffs.empty()) << "snapshot " << taken[i].snapshot
                               << " restored differently: " << FormatDifferences(diffs);
  }

  // Backups go on, deduplicated against what came back.
  ASSERT_TRUE(WriteRandomFile(at("after_rebuild.bin"), 300000, 3201).ok());
  BackupOutcome next = AgentBackup(again_agent, data, "incremental");
  ASSERT_EQ(next.command.exit_code, 0) << next.command.Describe();
  EXPECT_LT(next.bytes_uploaded, 2 << 20) << next.command.out;
  absl::Status stopped = server->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped;
}

}  // namespace
}  // namespace cairn::e2e

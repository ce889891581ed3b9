// CatalogBackup and RecoverStateDir on a real catalog and two real local
// tiers: a bundle goes to every tier under one name, each tier keeps the
// newest `keep`, a failing tier is named while the other still gets the
// bundle, the background thread writes after a change (and only then, and
// not again within min_interval), and a state directory comes back from the
// newest bundle that opens: catalog rows, TLS files and the admin credential.
#include "server/recovery/catalog_backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/types.pb.h"
#include "common/file_util.h"
#include "common/secret_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/recovery/state_recovery.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/tier_set.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

v1::Policy NamedPolicy(const std::string& name) {
  v1::Policy p;
  p.set_name(name);
  p.add_agents("gpu-*");
  p.add_roots("/data");
  p.set_rpo_seconds(3600);
  return p;
}

// Polls `done` every 10 ms until it holds or `timeout` passes.
template <typename F>
bool Eventually(F done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

class CatalogBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = Dir("catalog_backup");
    state_dir_ = dir_ + "/state";
    ASSERT_OK(MakeDirectories(state_dir_ + "/tls", 0700));
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(state_dir_ + "/catalog.db"));
    // What a server keeps next to its catalog.
    ASSERT_OK(WriteFileAtomically(state_dir_ + "/tls/ca.key", "the CA key\n", 0600));
    ASSERT_OK(WriteFileAtomically(state_dir_ + "/tls/ca.crt", "the CA cert\n", 0600));
    ASSERT_OK(WriteFileAtomically(state_dir_ + "/admin.credentials", "admin secret\n", 0600));
    // Not bundled: the key itself, and anything else lying around.
    ASSERT_OK(WriteFileAtomically(state_dir_ + "/catalog.key", "not bundled\n", 0600));
  }

  void TearDown() override {
    catalog_.reset();
    tiers_.reset();
    for (const std::string& dir : dirs_) RemoveTestDirUnlessFailed(dir);
  }

  // A new empty directory, removed after the test unless it failed.
  std::string Dir(const std::string& label) {
    dirs_.push_back(NewTempDir(label));
    return dirs_.back();
  }

  // Two local tiers, "b" (behind a fault-injection wrapper) first, then "a":
  // a failing first tier must not keep the bundle from the next.
  void MakeTiers() {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> a, OpenLocalTier("a", dir_ + "/tier_a"));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> b, OpenLocalTier("b", dir_ + "/tier_b"));
    std::unique_ptr<FaultInjectionTier> faulty = WrapWithFaults(std::move(b));
    faults_b_ = faulty.get();
    std::vector<std::unique_ptr<Tier>> tiers;
    tiers.push_back(std::move(faulty));
    tiers.push_back(std::move(a));
    tiers_ = std::make_unique<TierSet>(std::move(tiers));
  }

  std::unique_ptr<CatalogBackup> MakeBackup(CatalogBackupOptions options = {}) {
    if (tiers_ == nullptr) MakeTiers();
    return std::make_unique<CatalogBackup>(catalog_.get(), tiers_.get(), state_dir_, key_.Clone(),
                                           changed_, std::move(options));
  }

  Tier* tier(const std::string& name) { return tiers_->Find(name); }

  std::vector<std::string> Bundles(const std::string& name) {
    absl::StatusOr<std::vector<std::string>> listed = tier(name)->ListWithPrefix(kBundlePrefix);
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.value_or(std::vector<std::string>{});
  }

  std::string ReadFile(const std::string& path) {
    absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.value_or("");
  }

  // Does the catalog at `path` hold the policy `name`?
  std::optional<bool> HasPolicy(const std::string& path, const std::string& name) {
    absl::StatusOr<std::unique_ptr<Catalog>> opened = Catalog::Open(path);
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return std::nullopt;
    absl::StatusOr<std::optional<v1::Policy>> got = (*opened)->policies().Get(name);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return std::nullopt;
    return got->has_value();
  }

  // Overwrites 64 bytes in the middle of `object` on local tier `name`.
  void CorruptObject(const std::string& name, const std::string& object) {
    const std::string path = absl::StrCat(dir_, "/tier_", name, "/", object);
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << path;
    const std::string junk(64, 'Z');
    ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), st.st_size / 2),
              static_cast<ssize_t>(junk.size()));
    ::close(fd);
  }

  std::vector<std::string> dirs_;
  std::string dir_;
  std::string state_dir_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TierSet> tiers_;
  FaultInjectionTier* faults_b_ = nullptr;
  SecretKey key_ = SecretKey::Random();
  std::shared_ptr<CatalogChanged> changed_ = std::make_shared<CatalogChanged>();
};

TEST_F(CatalogBackupTest, BundleObjectNameSortsByTime) {
  EXPECT_EQ(BundleObjectName(absl::FromUnixMillis(1700000000123)), "catalog-1700000000123.cbk");
  EXPECT_EQ(BundleObjectName(absl::FromUnixMillis(5)), "catalog-0000000000005.cbk");
  EXPECT_LT(BundleObjectName(absl::FromUnixMillis(999999999999)),
            BundleObjectName(absl::FromUnixMillis(1000000000000)));
}

// A tls/ that cannot be listed fails the bundle instead of leaving the CA
// out of it (a recovery from such a bundle would lock every agent out).
TEST_F(CatalogBackupTest, AnUnlistableTlsDirectoryFailsTheBundle) {
  ASSERT_OK(WriteFileAtomically(state_dir_ + "/tls/ca.key", "", 0600));
  ASSERT_EQ(::rename((state_dir_ + "/tls").c_str(), (state_dir_ + "/tls.moved").c_str()), 0);
  ASSERT_OK(WriteFileAtomically(state_dir_ + "/tls", "not a directory", 0600));
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  EXPECT_FALSE(backup->BackupNow().ok());
  EXPECT_EQ(backup->state().bundles, 0u);
}

TEST_F(CatalogBackupTest, BackupNowWritesOneNameToEveryTier) {
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  const absl::Time before = absl::Now();
  ASSERT_OK_AND_ASSIGN(std::string object, backup->BackupNow());
  EXPECT_TRUE(std::regex_match(object, std::regex(R"(catalog-\d{13}\.cbk)"))) << object;
  EXPECT_GE(object, BundleObjectName(before - absl::Milliseconds(1)));
  EXPECT_THAT(Bundles("a"), ElementsAre(object));
  EXPECT_THAT(Bundles("b"), ElementsAre(object));
  CatalogBackupState state = backup->state();
  EXPECT_EQ(state.last_object, object);
  EXPECT_EQ(state.bundles, 1u);
  EXPECT_THAT(state.problems, IsEmpty());
  // Its working copy of the catalog is gone again.
  EXPECT_NE(::access((state_dir_ + "/catalog-backup.tmp").c_str(), F_OK), 0);
}

TEST_F(CatalogBackupTest, KeepsTheNewestBundlesPerTier) {
  std::unique_ptr<CatalogBackup> backup = MakeBackup({.keep = 2});
  std::vector<std::string> written;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string object, backup->BackupNow());
    written.push_back(object);
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_LT(written[2], written[3]);
  EXPECT_THAT(Bundles("a"), ElementsAre(written[2], written[3]));
  EXPECT_THAT(Bundles("b"), ElementsAre(written[2], written[3]));
}

TEST_F(CatalogBackupTest, PruneLeavesOtherObjectsAlone) {
  std::unique_ptr<CatalogBackup> backup = MakeBackup({.keep = 1});
  ASSERT_OK(tier("a")->Put("pack-1", "pack"));
  ASSERT_OK(tier("a")->Put("catalog-notes.txt", "not a bundle"));
  ASSERT_OK(backup->BackupNow().status());
  absl::SleepFor(absl::Milliseconds(2));
  ASSERT_OK_AND_ASSIGN(std::string last, backup->BackupNow());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> all, tier("a")->List());
  EXPECT_THAT(all, UnorderedElementsAre("pack-1", "catalog-notes.txt", last));
}

TEST_F(CatalogBackupTest, FailingTierIsNamedAndTheOtherStillGetsTheBundle) {
  for (TierOp op : {TierOp::kCommit, TierOp::kAppend}) {
    SCOPED_TRACE(op == TierOp::kCommit ? "commit fails" : "append fails");
    std::unique_ptr<CatalogBackup> backup = MakeBackup();
    faults_b_->FailFromNth(op, 1);
    absl::StatusOr<std::string> failed = backup->BackupNow();
    ASSERT_FALSE(failed.ok());
    EXPECT_THAT(failed.status().message(), HasSubstr("tier b"));
    EXPECT_THAT(failed.status().message(), Not(HasSubstr("tier a")));
    std::vector<std::string> on_a = Bundles("a");
    ASSERT_FALSE(on_a.empty());
    EXPECT_THAT(failed.status().message(), HasSubstr(on_a.back()));
    EXPECT_THAT(Bundles("b"), IsEmpty());
    CatalogBackupState state = backup->state();
    EXPECT_THAT(state.problems, SizeIs(1));
    EXPECT_EQ(state.last_object, on_a.back()) << "a bundle was written somewhere";

    // Once the tier works again, it catches up.
    faults_b_->ClearFaults();
    absl::SleepFor(absl::Milliseconds(2));
    ASSERT_OK_AND_ASSIGN(std::string object, backup->BackupNow());
    EXPECT_THAT(Bundles("b"), ElementsAre(object));
    EXPECT_THAT(backup->state().problems, IsEmpty());
    ASSERT_OK(tier("b")->Delete(object));
  }
}

TEST_F(CatalogBackupTest, BackgroundThreadWritesAfterAChangeOnly) {
  std::unique_ptr<CatalogBackup> backup = MakeBackup({.min_interval = absl::Milliseconds(20)});
  backup->Start();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_THAT(Bundles("a"), IsEmpty()) << "no change, no bundle";

  changed_->Mark();
  ASSERT_TRUE(Eventually([&] { return Bundles("a").size() == 1 && Bundles("b").size() == 1; },
                         absl::Seconds(10)))
      << "no bundle after a change";
  const std::string first = Bundles("a").front();

  ASSERT_OK(catalog_->policies().Put(NamedPolicy("later")));
  changed_->Mark();
  ASSERT_TRUE(Eventually([&] { return Bundles("a").size() == 2 && Bundles("b").size() == 2; },
                         absl::Seconds(10)))
      << "no second bundle after a second change";
  EXPECT_EQ(Bundles("a").front(), first);
  // The state is updated after the bundle is on every tier: wait for it too.
  EXPECT_TRUE(Eventually([&] { return backup->state().bundles == 2u; }, absl::Seconds(10)))
      << backup->state().bundles;
  EXPECT_EQ(backup->state().last_object, Bundles("a").back());
}

TEST_F(CatalogBackupTest, BackgroundThreadBatchesChangesWithinTheInterval) {
  std::unique_ptr<CatalogBackup> backup = MakeBackup({.min_interval = absl::Hours(1)});
  backup->Start();
  changed_->Mark();  // the first bundle is not held back
  ASSERT_TRUE(Eventually([&] { return Bundles("a").size() == 1; }, absl::Seconds(10)));
  for (int i = 0; i < 5; ++i) changed_->Mark();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_THAT(Bundles("a"), SizeIs(1)) << "a second bundle within min_interval";
  // Stopping does not wait out the interval.
  const absl::Time start = absl::Now();
  backup.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(CatalogBackupTest, RecoverStateDirRoundTrip) {
  ASSERT_OK(catalog_->policies().Put(NamedPolicy("nightly")));
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  ASSERT_OK_AND_ASSIGN(std::string object, backup->BackupNow());

  for (const std::string name : {"a", "b"}) {
    SCOPED_TRACE(name);
    const std::string fresh = Dir("recovered") + "/state";  // not there yet
    ASSERT_OK_AND_ASSIGN(RecoveryReport report, RecoverStateDir(tier(name), key_, fresh));
    EXPECT_EQ(report.object, object);
    EXPECT_THAT(report.skipped, IsEmpty());
    EXPECT_THAT(report.files, UnorderedElementsAre("catalog.db", "admin.credentials", "tls/ca.key",
                                                   "tls/ca.crt"));
    EXPECT_EQ(ReadFile(fresh + "/tls/ca.key"), "the CA key\n");
    EXPECT_EQ(ReadFile(fresh + "/tls/ca.crt"), "the CA cert\n");
    EXPECT_EQ(ReadFile(fresh + "/admin.credentials"), "admin secret\n");
    EXPECT_NE(::access((fresh + "/catalog.key").c_str(), F_OK), 0) << "the key is never bundled";
    EXPECT_NE(::access((fresh + "/recover.tmp").c_str(), F_OK), 0) << "staging left behind";
    EXPECT_EQ(HasPolicy(fresh + "/catalog.db", "nightly"), std::optional<bool>(true));
  }
}

TEST_F(CatalogBackupTest, RecoverRefusesADirWithACatalog) {
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  ASSERT_OK(backup->BackupNow().status());
  const std::string fresh = Dir("recovered");
  ASSERT_OK(WriteFileAtomically(fresh + "/catalog.db", "precious", 0600));
  absl::StatusOr<RecoveryReport> report = RecoverStateDir(tier("a"), key_, fresh);
  EXPECT_TRUE(absl::IsFailedPrecondition(report.status())) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr("move"));
  EXPECT_EQ(ReadFile(fresh + "/catalog.db"), "precious");
  EXPECT_NE(::access((fresh + "/tls").c_str(), F_OK), 0);
  EXPECT_NE(::access((fresh + "/admin.credentials").c_str(), F_OK), 0);
  // Not even the live state directory, whose catalog is open.
  report = RecoverStateDir(tier("a"), key_, state_dir_);
  EXPECT_TRUE(absl::IsFailedPrecondition(report.status())) << report.status();
}

// An operator told to "move catalog.db away" after a crash leaves its
// catalog.db-wal behind; SQLite then replays that WAL, written for another
// database, over the recovered catalog. Recovery must refuse (or the
// recovered catalog must be the bundle's, intact).
TEST_F(CatalogBackupTest, RecoverDoesNotLetAStaleWalOverrideTheCatalog) {
  ASSERT_OK(catalog_->policies().Put(NamedPolicy("nightly")));
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  ASSERT_OK(backup->BackupNow().status());

  // A crashed server's directory: its catalog moved away, its WAL not.
  const std::string fresh = Dir("recovered");
  const std::string crashed = Dir("crashed");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> old, Catalog::Open(crashed + "/catalog.db"));
  ASSERT_OK(old->policies().Put(NamedPolicy("stale")));
  ASSERT_OK(old->policies().Delete("stale"));
  ASSERT_OK(old->policies().Put(NamedPolicy("stale-2")));
  absl::StatusOr<std::string> wal = ReadFileToString(crashed + "/catalog.db-wal", 64 << 20);
  ASSERT_TRUE(wal.ok() && !wal->empty()) << wal.status();
  ASSERT_OK(WriteFileAtomically(fresh + "/catalog.db-wal", *wal, 0600));
  old.reset();

  absl::StatusOr<RecoveryReport> report = RecoverStateDir(tier("a"), key_, fresh);
  if (absl::IsFailedPrecondition(report.status())) {
    EXPECT_THAT(report.status().message(), HasSubstr("catalog.db-wal"));
    return;
  }
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(HasPolicy(fresh + "/catalog.db", "nightly"), std::optional<bool>(true));
  EXPECT_EQ(HasPolicy(fresh + "/catalog.db", "stale-2"), std::optional<bool>(false));
}

TEST_F(CatalogBackupTest, RecoverFallsBackPastACorruptNewestBundle) {
  ASSERT_OK(catalog_->policies().Put(NamedPolicy("first")));
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  ASSERT_OK_AND_ASSIGN(std::string older, backup->BackupNow());
  absl::SleepFor(absl::Milliseconds(2));
  ASSERT_OK(catalog_->policies().Put(NamedPolicy("second")));
  ASSERT_OK_AND_ASSIGN(std::string newer, backup->BackupNow());
  ASSERT_LT(older, newer);
  CorruptObject("a", newer);

  const std::string fresh = Dir("recovered");
  ASSERT_OK_AND_ASSIGN(RecoveryReport report, RecoverStateDir(tier("a"), key_, fresh));
  EXPECT_EQ(report.object, older);
  ASSERT_THAT(report.skipped, SizeIs(1));
  EXPECT_THAT(report.skipped[0], HasSubstr(newer));
  EXPECT_EQ(HasPolicy(fresh + "/catalog.db", "first"), std::optional<bool>(true));
  EXPECT_EQ(HasPolicy(fresh + "/catalog.db", "second"), std::optional<bool>(false));
  EXPECT_NE(::access((fresh + "/recover.tmp").c_str(), F_OK), 0) << "staging left behind";

  // The undamaged copy on the other tier has the newer catalog.
  const std::string other = Dir("recovered");
  ASSERT_OK_AND_ASSIGN(report, RecoverStateDir(tier("b"), key_, other));
  EXPECT_EQ(report.object, newer);
  EXPECT_EQ(HasPolicy(other + "/catalog.db", "second"), std::optional<bool>(true));
}

// A read
// of the newest bundle that fails for a passing reason (the store is down,
// the staging disk is full) is not a bundle that "does not open": falling
// back to an older bundle then silently loses the newest snapshots (and GC
// later deletes their packs as orphans). The header promises skipping only
// for bundles that do not open (wrong key, damaged).
TEST_F(CatalogBackupTest, RecoverStopsOnAReadErrorInsteadOfFallingBack) {
  ASSERT_OK(catalog_->policies().Put(NamedPolicy("first")));
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  ASSERT_OK(backup->BackupNow().status());
  absl::SleepFor(absl::Milliseconds(2));
  ASSERT_OK(catalog_->policies().Put(NamedPolicy("second")));
  ASSERT_OK(backup->BackupNow().status());

  faults_b_->FailNth(TierOp::kRead, 1, absl::UnavailableError("the store is down"));
  const std::string fresh = Dir("recovered");
  absl::StatusOr<RecoveryReport> report = RecoverStateDir(tier("b"), key_, fresh);
  EXPECT_TRUE(absl::IsUnavailable(report.status()))
      << (report.ok() ? absl::StrCat("recovered from ", report->object, " after skipping ",
                                     report->skipped.empty() ? "" : report->skipped[0])
                      : report.status().ToString());
  EXPECT_NE(::access((fresh + "/catalog.db").c_str(), F_OK), 0);
}

TEST_F(CatalogBackupTest, RecoverIsDataLossWhenNoBundleOpens) {
  std::unique_ptr<CatalogBackup> backup = MakeBackup();
  ASSERT_OK_AND_ASSIGN(std::string older, backup->BackupNow());
  absl::SleepFor(absl::Milliseconds(2));
  ASSERT_OK_AND_ASSIGN(std::string newer, backup->BackupNow());

  // Wrong key: every bundle skipped, nothing left behind.
  const std::string fresh = Dir("recovered");
  absl::StatusOr<RecoveryReport> report = RecoverStateDir(tier("a"), SecretKey::Random(), fresh);
  EXPECT_TRUE(absl::IsDataLoss(report.status())) << report.status();
  EXPECT_NE(::access((fresh + "/catalog.db").c_str(), F_OK), 0);
  EXPECT_NE(::access((fresh + "/recover.tmp").c_str(), F_OK), 0);

  // Every bundle damaged.
  CorruptObject("a", older);
  CorruptObject("a", newer);
  report = RecoverStateDir(tier("a"), key_, fresh);
  EXPECT_TRUE(absl::IsDataLoss(report.status())) << report.status();
  EXPECT_NE(::access((fresh + "/catalog.db").c_str(), F_OK), 0);
}

TEST_F(CatalogBackupTest, RecoverIsNotFoundOnATierWithoutBundles) {
  MakeTiers();
  ASSERT_OK(tier("a")->Put("pack-1", "pack"));
  ASSERT_OK(tier("a")->Put("catalog-notes.txt", "not a bundle"));
  const std::string fresh = Dir("recovered");
  absl::StatusOr<RecoveryReport> report = RecoverStateDir(tier("a"), key_, fresh);
  EXPECT_TRUE(absl::IsNotFound(report.status())) << report.status();
  report = RecoverStateDir(tier("b"), key_, fresh);
  EXPECT_TRUE(absl::IsNotFound(report.status())) << report.status();
  EXPECT_NE(::access((fresh + "/catalog.db").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace cairn

// Power loss on the server at every durability point of a backup, a garbage
// collection and a compaction (each fsync of a pack, each directory sync
// after a rename, each SQLite sync): afterwards the catalog passes
// integrity_check, every snapshot that was acknowledged (and any other the
// catalog kept) restores byte-identical, verify finds nothing damaged, and
// the next backup and collection work. Unlike kill -9, a power cut also
// loses what sat in the page cache, so a missing fsync anywhere shows.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "common/status_macros.h"
#include "server/maintenance/garbage_collector.h"
#include "tests/agent/agent_test_util.h"
#include "tests/crash/power_loss.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

CoreOptions WatchedCatalog() {
  CoreOptions options;
  options.catalog.sqlite_vfs = PowerLoss::kVfs;
  return options;
}

// One run: a server with snapshot S1, power watched from there on.
class Scenario {
 public:
  static absl::StatusOr<std::unique_ptr<Scenario>> Start(const std::string& label) {
    PowerLoss::RegisterVfs();
    auto s = std::unique_ptr<Scenario>(new Scenario());
    ASSIGN_OR_RETURN(s->env_, AgentTestEnv::Start(label, WatchedCatalog()));
    s->src_ = s->env_->base() + "/src";
    RETURN_IF_ERROR(MakeDirectories(s->src_ + "/sub", 0755));
    for (int i = 0; i < 6; ++i) {
      RETURN_IF_ERROR(WriteFile(absl::StrCat(s->src_, i % 2 ? "/sub/f" : "/f", i),
                                RandomBytes(40000 + i * 9000, i)));
    }
    RETURN_IF_ERROR(s->Backup());
    s->power_ = std::make_unique<PowerLoss>(std::vector<std::string>{s->env_->server_state_dir()});
    return s;
  }

  // Changes some files (or, with `all`, every file): the next backup has
  // new chunks, trees and a pack.
  absl::Status Change(int round, bool all = false) {
    for (int i = 0; i < (all ? 6 : 1); ++i) {
      RETURN_IF_ERROR(WriteFile(absl::StrCat(src_, i % 2 ? "/sub/f" : "/f", i),
                                RandomBytes(40000 + i * 9000, 1000 * round + i)));
    }
    RETURN_IF_ERROR(WriteFile(absl::StrCat(src_, "/sub/new", round), RandomBytes(30000, round)));
    return absl::OkStatus();
  }

  // The tree as the work left it: what a snapshot the cut kept, without the
  // agent hearing of it, was taken of.
  void NoteTreeAtCut() {
    absl::StatusOr<TreeManifest> tree = CaptureTree(src_);
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_at_cut_ = *std::move(tree);
  }

  // A full backup; on success its snapshot and the tree it saw are expected back.
  absl::Status Backup() {
    ASSIGN_OR_RETURN(TreeManifest manifest, CaptureTree(src_));
    ASSIGN_OR_RETURN(BackupResult result, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
    acknowledged_.emplace_back(result.snapshot.id(), std::move(manifest));
    return absl::OkStatus();
  }

  // After the cut: stop the server, put the disk back as the cut left it,
  // start a server on it (no power watching) and check everything.
  void CutOverAndCheck(const std::string& trace) {
    SCOPED_TRACE(trace);
    env_->StopServer();
    ASSERT_OK(power_->Revert());
    power_.reset();
    ASSERT_OK(env_->RestartServer());
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems,
                         env_->server()->catalog()->IntegrityCheck());
    EXPECT_TRUE(problems.empty()) << problems.front();
    ExpectRestorable();
    v1::VerifyRequest verify;
    verify.set_read_data(true);
    ASSERT_OK_AND_ASSIGN(v1::VerifyResponse report,
                         env_->server()->core()->maintenance().Verify(Caller::Internal(), verify));
    EXPECT_EQ(report.problems_size(), 0) << report.problems(0);
    // Life goes on: another backup, a collection, and everything still restores.
    ASSERT_OK(Change(99));
    ASSERT_OK(Backup());
    GcOptions gc;
    gc.grace = absl::ZeroDuration();
    gc.clock_slack = absl::ZeroDuration();
    ASSERT_OK(env_->server()->core()->maintenance().CollectGarbage(Caller::Internal(), gc).status());
    ExpectRestorable();
  }

  // Every acknowledged snapshot, and every other the catalog still has,
  // restores to the tree it was taken of.
  void ExpectRestorable() {
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all,
                         env_->server()->catalog()->snapshots().List("", 1000));
    for (const auto& [id, manifest] : acknowledged_) {
      bool found = false;
      for (const v1::Snapshot& s : all) found = found || s.id() == id;
      EXPECT_TRUE(found) << "acknowledged snapshot " << id << " is gone";
    }
    for (const v1::Snapshot& s : all) {
      std::string target = absl::StrCat(env_->base(), "/restore-", s.id(), "-", restores_++);
      ASSERT_OK_AND_ASSIGN(RestoreResult r, env_->Restore(s.id(), target));
      EXPECT_EQ(r.failed, 0u) << s.id() << ": " << DescribeErrors(r.errors);
      ASSERT_OK_AND_ASSIGN(TreeManifest got, CaptureTree(target));
      const TreeManifest* want = nullptr;
      for (const auto& [id, manifest] : acknowledged_) {
        if (id == s.id()) want = &manifest;
      }
      if (want == nullptr) want = &tree_at_cut_;
      EXPECT_EQ(DiffManifests(*want, got, /*ignore_dir_mtime=*/true), "") << s.id();
      RemoveTree(target);
    }
  }

  AgentTestEnv& env() { return *env_; }
  PowerLoss& power() { return *power_; }
  void Forget(const std::string& snapshot_id) {
    std::erase_if(acknowledged_, [&](const auto& a) { return a.first == snapshot_id; });
  }
  const std::string& snapshot(size_t i) const { return acknowledged_[i].first; }

 private:
  Scenario() = default;
  std::unique_ptr<AgentTestEnv> env_;
  std::unique_ptr<PowerLoss> power_;
  std::string src_;
  std::vector<std::pair<std::string, TreeManifest>> acknowledged_;
  TreeManifest tree_at_cut_;
  int restores_ = 0;
};

// Runs `work` once to count its durability points, then once per point with
// the power cut there.
template <typename Setup, typename Work>
void CutAtEveryPoint(const std::string& label, Setup setup, Work work) {
  int points = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Scenario> s, Scenario::Start(label));
    ASSERT_NO_FATAL_FAILURE(setup(*s));
    int before = s->power().points();
    ASSERT_OK(work(*s));
    points = s->power().points() - before;
    std::vector<std::string> history = s->power().history();
    history.erase(history.begin(), history.begin() + before);
    ASSERT_GE(points, 3) << "the work made (almost) nothing durable: "
                         << absl::StrJoin(history, ", ");
  }
  for (int cut = 1; cut <= points; ++cut) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Scenario> s, Scenario::Start(label));
    ASSERT_NO_FATAL_FAILURE(setup(*s));
    s->power().CutAt(cut);
    absl::Status status = work(*s);  // fails at or after the cut, or just in time
    ASSERT_NO_FATAL_FAILURE(s->NoteTreeAtCut());
    std::vector<std::string> history = s->power().history();
    std::string trace = absl::StrCat("power cut at point ", cut, " of ", points, ": ",
                                     history.empty() ? "?" : history.back(),
                                     "; the work said: ", status.ToString());
    ASSERT_NO_FATAL_FAILURE(s->CutOverAndCheck(trace));
    RemoveTree(s->env().base());
  }
}

TEST(ServerPowerLossTest, BackupLosesNothingAcknowledgedAtAnyCut) {
  CutAtEveryPoint(
      "power_backup", [](Scenario& s) { ASSERT_OK(s.Change(1)); },
      [](Scenario& s) { return s.Backup(); });
}

// Two more backups of a tree changed each time (wholly, with `all`), then
// every snapshot but the last dropped: a collection has trees and chunks to
// delete, packs left empty (whole changes) or sparse (partial ones: with a
// high compact_below they are rewritten).
void DropOlderSnapshots(Scenario& s, bool all) {
  for (int round = 1; round <= 2; ++round) {
    ASSERT_OK(s.Change(round, all));
    ASSERT_OK(s.Backup());
  }
  for (std::string id : {s.snapshot(0), s.snapshot(1)}) {
    ASSERT_OK(s.env().server()->catalog()->snapshots().Delete({{id, "dropped by the test"}}));
    s.Forget(id);
  }
}

absl::Status Collect(Scenario& s, double compact_below) {
  GcOptions gc;
  gc.grace = absl::ZeroDuration();
  gc.clock_slack = absl::ZeroDuration();
  gc.compact_below = compact_below;
  ASSIGN_OR_RETURN(GcReport report,
                   s.env().server()->core()->maintenance().CollectGarbage(Caller::Internal(), gc));
  if (compact_below > 0.9 && report.packs_compacted == 0 && !s.power().cut()) {
    return absl::InternalError("the collection compacted nothing: the scenario tests nothing");
  }
  return absl::OkStatus();
}

TEST(ServerPowerLossTest, GarbageCollectionLosesNothingAtAnyCut) {
  CutAtEveryPoint(
      "power_gc", [](Scenario& s) { DropOlderSnapshots(s, /*all=*/true); },
      [](Scenario& s) { return Collect(s, 0); });
}

TEST(ServerPowerLossTest, CompactionLosesNothingAtAnyCut) {
  CutAtEveryPoint(
      "power_compact", [](Scenario& s) { DropOlderSnapshots(s, /*all=*/false); },
      [](Scenario& s) { return Collect(s, 0.99); });
}

}  // namespace
}  // namespace cairn

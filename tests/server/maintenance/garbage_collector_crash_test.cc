// GarbageCollector crashed at every phase: a forked child killed with
// _exit(9) at the phase, and an error returned at the phase. Afterwards the
// catalog is sound, every snapshot reads, and the next run finishes the work.
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "server/maintenance/garbage_collector.h"
#include "tests/server/maintenance/gc_test_util.h"

namespace cairn {
namespace {

// State with work for every phase: an empty pack to delete, a sparse pack to
// compact, an orphan object. Returns the ids that must be gone afterwards.
absl::StatusOr<std::vector<std::string>> BuildCrashScenario(GcRepo& repo) {
  ASSIGN_OR_RETURN(v1::Snapshot s1, Backup(repo, {Ids(0, 8)}, {Ids(0, 4), Ids(4, 8)}));
  ASSIGN_OR_RETURN(v1::Snapshot s2, Backup(repo, {{Id(4)}, Ids(20, 24)}, {Ids(20, 24)}));
  ASSIGN_OR_RETURN(v1::Snapshot s3, Backup(repo, {Ids(20, 22)}, {}, "/ckpt"));
  RETURN_IF_ERROR(Forget(repo, s1));
  RETURN_IF_ERROR(repo.tier->Put("pack-1-orphan", "left by a crash"));
  std::vector<std::string> garbage = Ids(0, 4);
  for (int i = 5; i < 8; ++i) garbage.push_back(Id(i));
  return garbage;
}

// After a crash at any point: the catalog is sound, every snapshot reads,
// every catalogued pack exists, and a new run finishes the work.
void ExpectRecovered(const std::string& dir, const std::vector<std::string>& garbage) {
  TestClock clock;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<GcRepo> repo, OpenGcRepo(dir, clock));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo));
  std::set<std::string> objects = TierObjects(*repo);
  for (const std::string& p : CatalogPacks(*repo)) EXPECT_EQ(objects.count(p), 1u) << p;

  ASSERT_OK(Collect(*repo, Immediately()).status());
  EXPECT_EQ(TierObjects(*repo), CatalogPacks(*repo)) << "orphans cleaned";
  for (const std::string& id : garbage) EXPECT_FALSE(Stored(*repo, id));
  ASSERT_NO_FATAL_FAILURE(ExpectAllSnapshotsReadable(*repo));
  GcOptions dry = Immediately();
  dry.dry_run = true;
  ASSERT_OK_AND_ASSIGN(GcReport left, Collect(*repo, dry));
  EXPECT_EQ(left.chunks_deleted + left.trees_deleted + left.packs_deleted + left.packs_compacted,
            0u);
}

class GcCrashTest : public ::testing::TestWithParam<GcPhase> {};

TEST_P(GcCrashTest, KilledAtPhaseRecovers) {
  const std::string dir = FreshTestDir("gc_crash");
  std::vector<std::string> garbage;
  {
    TestClock clock;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<GcRepo> repo, OpenGcRepo(dir, clock));
    ASSERT_OK_AND_ASSIGN(garbage, BuildCrashScenario(*repo));
  }  // closed: the child opens its own catalog, as a restarted server would
  const GcPhase crash_at = GetParam();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No gtest in here: a bare process that dies like kill -9 at the phase.
    TestClock clock;
    absl::StatusOr<std::unique_ptr<GcRepo>> repo = OpenGcRepo(dir, clock);
    if (!repo.ok()) ::_exit(2);
    GcOptions options = Immediately();
    options.phase_hook = [crash_at](GcPhase phase) {
      if (phase == crash_at) ::_exit(9);
      return absl::OkStatus();
    };
    absl::Status status = Collect(**repo, options).status();
    ::_exit(status.ok() ? 0 : 3);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 9) << "the phase was not reached (or the run failed)";
  ExpectRecovered(dir, garbage);
}

TEST_P(GcCrashTest, ErrorAtPhaseRecovers) {
  const std::string dir = FreshTestDir("gc_error");
  std::vector<std::string> garbage;
  const GcPhase stop_at = GetParam();
  {
    TestClock clock;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<GcRepo> repo, OpenGcRepo(dir, clock));
    ASSERT_OK_AND_ASSIGN(garbage, BuildCrashScenario(*repo));
    GcOptions options = Immediately();
    options.phase_hook = [stop_at](GcPhase phase) {
      return phase == stop_at ? absl::UnavailableError(GcPhaseName(phase)) : absl::OkStatus();
    };
    absl::Status status = Collect(*repo, options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(status.message(), GcPhaseName(stop_at));
  }
  ExpectRecovered(dir, garbage);
}

INSTANTIATE_TEST_SUITE_P(EveryPhase, GcCrashTest,
                         ::testing::Values(GcPhase::kStarted, GcPhase::kTreeCandidates,
                                           GcPhase::kTreesSwept, GcPhase::kChunkCandidates,
                                           GcPhase::kChunksSwept, GcPhase::kEmptyPackDeleted,
                                           GcPhase::kCompactPackWritten, GcPhase::kCompactRepointed,
                                           GcPhase::kCompactOldPackDeleted, GcPhase::kOrphanDeleted,
                                           GcPhase::kFinished),
                         [](const ::testing::TestParamInfo<GcPhase>& info) {
                           std::string name;
                           for (char c : GcPhaseName(info.param)) {
                             if (c != '-') name += c;
                           }
                           return name;
                         });

}  // namespace
}  // namespace cairn

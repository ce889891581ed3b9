// Shared fixture of the garbage-collector tests: a server core over a real
// catalog and a real local tier wrapped for fault injection (reopenable, as a
// restarted server would), a clock the test moves, backups of fake sealed
// chunks with one pack per upload group, and a check that every snapshot
// still reads chunk by chunk.
//
//   class MyGcTest : public GcTest {};
//   ASSERT_OK_AND_ASSIGN(v1::Snapshot s, Backup(*repo_, {{Id(1), Id(2)}}, {{Id(1), Id(2)}}));
//   ASSERT_OK(Forget(*repo_, s));
//   ASSERT_OK_AND_ASSIGN(GcReport report, Gc());
#ifndef CAIRN_TESTS_SERVER_MAINTENANCE_GC_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_MAINTENANCE_GC_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"
#include "server/maintenance/garbage_collector.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {

inline constexpr char kTenant[] = "t";

// A clock the test moves. It starts a second ahead of the real one, so that
// "older than now minus a zero grace" holds for everything made before a GC.
class TestClock {
 public:
  std::function<absl::Time()> fn() const {
    std::shared_ptr<std::atomic<int64_t>> offset = offset_ms_;
    return [offset] { return absl::Now() + absl::Milliseconds(offset->load()); };
  }
  void Advance(absl::Duration d) { *offset_ms_ += absl::ToInt64Milliseconds(d); }

 private:
  std::shared_ptr<std::atomic<int64_t>> offset_ms_ = std::make_shared<std::atomic<int64_t>>(1000);
};

// A server core over `dir` with a fault-injecting local tier; reopenable.
struct GcRepo {
  std::unique_ptr<TestRepo> repo;
  Catalog* catalog = nullptr;
  AgentCalls* agent = nullptr;
  FaultInjectionTier* tier = nullptr;
  ServerCore& core() { return *repo->core; }
};

absl::StatusOr<std::unique_ptr<GcRepo>> OpenGcRepo(const std::string& dir, const TestClock& clock);

// A chunk's sealed bytes, read as a restore reads them.
absl::StatusOr<std::string> ReadSealed(GcRepo& repo, int64_t tenant, const std::string& id);

// A collection on `repo` with `options` (packs of 1 MiB, as the repo writes).
absl::StatusOr<GcReport> Collect(GcRepo& repo, GcOptions options);

// What the agent would have sealed for `id`: 200 bytes, different per id.
std::string Sealed(absl::string_view id);

std::string Id(int n);
std::vector<std::string> Ids(int from, int to);  // [from, to)

// One upload stream: the chunks land in one new pack.
absl::Status Upload(GcRepo& repo, absl::string_view job, const std::vector<std::string>& ids);

absl::StatusOr<std::vector<uint32_t>> Missing(GcRepo& repo, absl::string_view job,
                                              const std::vector<std::string>& ids);

using Files = std::vector<std::vector<std::string>>;  // chunk ids of f0, f1, ...

// The two trees of a snapshot: root -> "d" -> files. Returns {sub, root}.
std::vector<std::string> TreesFor(const Files& files);

// The rest of a backup once its chunks are stored: trees, then commit.
absl::StatusOr<v1::Snapshot> Finish(GcRepo& repo, absl::string_view job, const Files& files);

// A whole backup: each group of ids not yet stored goes up in its own stream
// (its own pack).
absl::StatusOr<v1::Snapshot> Backup(GcRepo& repo, const Files& files,
                                    const std::vector<std::vector<std::string>>& groups,
                                    absl::string_view root = "/data");

absl::Status Forget(GcRepo& repo, const v1::Snapshot& snapshot);

int64_t TenantOf(GcRepo& repo);

bool Stored(GcRepo& repo, absl::string_view id);

std::set<std::string> TierObjects(GcRepo& repo);

std::set<std::string> CatalogPacks(GcRepo& repo);

// Every chunk of every snapshot: located, its blob read and checked against
// its pack's index, and ReadChunk returns the sealed bytes uploaded.
void ExpectAllSnapshotsReadable(GcRepo& repo);

GcOptions Immediately(double compact_below = 0.5);

// Lets the millisecond clock tick, so what is made next is strictly newer.
void NextMillisecond();

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(repo_, OpenGcRepo(FreshTestDir("gc"), clock_)); }

  absl::StatusOr<GcReport> Gc(const GcOptions& options = Immediately()) {
    return Collect(*repo_, options);
  }

  TestClock clock_;
  std::unique_ptr<GcRepo> repo_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_MAINTENANCE_GC_TEST_UTIL_H_

// ChunkReader with pack copies, over a real server core with two local tiers
// (hot, cold; both wrapped for faults) and packs written by real backups and
// copied to the other tier: the nearer tier (first in the configured order)
// is read when both are up, whichever holds the first location; a read that
// fails (outage or object gone) falls back to the copy; a tier marked down
// is read last; when every copy fails the nearest one's error is returned;
// without a PlacementStore only the first location is read; restores
// (SnapshotReader) read through the copies.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/chunk_reader.h"
#include "server/tiers/local_tier.h"
#include "tests/server/maintenance/gc_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

class ChunkReaderCopiesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open({"hot", "cold"})); }

  // A core with local tiers in the order of `order` (nearest first); new
  // packs go to hot. A tier that fails is passed over for an hour.
  void Open(const std::vector<std::string>& order) {
    repo_.reset();
    const std::string dir = FreshTestDir("chunk_reader_copies");
    ASSERT_OK(MakeDirectories(dir, 0750));
    std::vector<std::unique_ptr<Tier>> tiers;
    for (const std::string& name : order) {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> local, OpenLocalTier(name, dir + "/" + name));
      std::unique_ptr<FaultInjectionTier> faulty = WrapWithFaults(std::move(local));
      (name == "hot" ? hot_ : cold_) = faulty.get();
      tiers.push_back(std::move(faulty));
    }
    CoreOptions options;
    options.pack_target_bytes = 1 << 20;
    options.clock = clock_.fn();
    options.tier_set.new_packs = {"hot"};
    options.tier_set.retry_after = absl::Hours(1);
    auto repo = std::make_unique<TestRepo>();
    repo->dir = dir;
    repo->cleanup.dir = dir;
    ASSERT_OK_AND_ASSIGN(repo->core,
                         ServerCore::Open(dir + "/catalog.db", std::move(tiers), options));
    repo->catalog = &repo->core->catalog();
    repo->jobs = &repo->core->jobs();
    repo->agent = std::make_unique<AgentCalls>(repo->core.get());
    repo->tier = hot_;
    repo_ = std::make_unique<GcRepo>();
    repo_->catalog = repo->catalog;
    repo_->agent = repo->agent.get();
    repo_->tier = hot_;
    repo_->repo = std::move(repo);
  }

  // One snapshot of one pack of chunks Id(0..9) on hot, copied to cold
  // (object and record).
  void BackupAndCopy() {
    ASSERT_OK_AND_ASSIGN(snapshot_, Backup(*repo_, {Ids(0, 10)}, {Ids(0, 10)}));
    ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, repo_->catalog->chunks().ListPacks());
    ASSERT_THAT(packs, SizeIs(1));
    pack_ = packs[0];
    ASSERT_EQ(pack_.tier, "hot");
    std::string bytes;
    ASSERT_OK(hot_->base().Read(pack_.name, 0, pack_.size, &bytes));
    ASSERT_OK(cold_->base().Put(pack_.name, bytes));
    ASSERT_OK_AND_ASSIGN(bool recorded, repo_->catalog->placement().AddCopy(pack_.id, "cold"));
    ASSERT_TRUE(recorded);
  }

  // Reads chunks `ids` with a ChunkReader (with the placement store unless
  // `no_placement`), checking each one's bytes.
  absl::Status Read(const std::vector<std::string>& ids, bool no_placement = false) {
    ChunkReader reader(&repo_->catalog->chunks(), &repo_->core().tiers(),
                       no_placement ? nullptr : &repo_->catalog->placement());
    ASSIGN_OR_RETURN(int64_t tenant, repo_->catalog->agents().TenantId(kTenant));
    size_t emitted = 0;
    RETURN_IF_ERROR(reader.Read(tenant, ids, [&](absl::string_view id, absl::string_view sealed) {
      EXPECT_EQ(sealed, Sealed(id));
      ++emitted;
      return absl::OkStatus();
    }));
    EXPECT_EQ(emitted, ids.size());
    return absl::OkStatus();
  }

  // Reads of each tier since the last call.
  struct Reads {
    int64_t hot;
    int64_t cold;
  };
  Reads ReadsSince() {
    Reads r{hot_->calls(TierOp::kRead) - hot_reads_, cold_->calls(TierOp::kRead) - cold_reads_};
    hot_reads_ = hot_->calls(TierOp::kRead);
    cold_reads_ = cold_->calls(TierOp::kRead);
    return r;
  }

  // Makes a call to `tier` fail as an outage would: the set marks it down.
  void MarkDown(FaultInjectionTier* tier) {
    tier->FailNth(TierOp::kSize, 1, absl::UnavailableError("injected outage"));
    Tier* tracked = repo_->core().tiers().Find(tier->name());
    ASSERT_NE(tracked, nullptr);
    EXPECT_FALSE(tracked->Size(pack_.name).ok());
    EXPECT_FALSE(repo_->core().tiers().Health(tier->name()).up);
    EXPECT_TRUE(repo_->core().tiers().Avoid(tier->name()));
  }

  TestClock clock_;
  std::unique_ptr<GcRepo> repo_;
  FaultInjectionTier* hot_ = nullptr;
  FaultInjectionTier* cold_ = nullptr;
  v1::Snapshot snapshot_;
  PackRecord pack_;
  int64_t hot_reads_ = 0;
  int64_t cold_reads_ = 0;
};

TEST_F(ChunkReaderCopiesTest, TheNearerTierIsReadWhenBothAreUp) {
  ASSERT_NO_FATAL_FAILURE(BackupAndCopy());
  ReadsSince();
  ASSERT_OK(Read(Ids(0, 10)));
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 1);  // one run
  EXPECT_EQ(r.cold, 0);

  // The first location on cold and the copy on hot: still hot, the nearer.
  ASSERT_OK_AND_ASSIGN(bool moved, repo_->catalog->placement().Relocate(pack_.id, "hot", "cold"));
  ASSERT_TRUE(moved);
  ASSERT_OK_AND_ASSIGN(bool copied, repo_->catalog->placement().AddCopy(pack_.id, "hot"));
  ASSERT_TRUE(copied);
  ReadsSince();
  ASSERT_OK(Read(Ids(0, 10)));
  r = ReadsSince();
  EXPECT_EQ(r.hot, 1);
  EXPECT_EQ(r.cold, 0);
}

TEST_F(ChunkReaderCopiesTest, TheFirstTierInTheConfiguredOrderIsTheNearer) {
  ASSERT_NO_FATAL_FAILURE(Open({"cold", "hot"}));
  ASSERT_NO_FATAL_FAILURE(BackupAndCopy());  // first location hot, copy cold
  ReadsSince();
  ASSERT_OK(Read(Ids(0, 10)));
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 0);
  EXPECT_EQ(r.cold, 1);
}

TEST_F(ChunkReaderCopiesTest, AFailingReadFallsBackToTheCopy) {
  ASSERT_NO_FATAL_FAILURE(BackupAndCopy());
  hot_->FailNth(TierOp::kRead, 1, absl::UnavailableError("injected: hot disk gone"));
  ReadsSince();
  ASSERT_OK(Read(Ids(0, 10)));
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 1);
  EXPECT_EQ(r.cold, 1);
}

TEST_F(ChunkReaderCopiesTest, AnObjectGoneFromTheFirstTierIsReadFromTheCopy) {
  ASSERT_NO_FATAL_FAILURE(BackupAndCopy());
  ASSERT_OK(hot_->base().Delete(pack_.name));
  ReadsSince();
  ASSERT_OK(Read(Ids(0, 10)));
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 1);
  EXPECT_EQ(r.cold, 1);
  // NotFound is an answer, not an outage: hot stays up.
  EXPECT_TRUE(repo_->core().tiers().Health("hot").up);
  // A restore reads through the copies too.
  ASSERT_OK_AND_ASSIGN(auto chunks, repo_->agent->ReadChunks(snapshot_.id(), Ids(0, 10)));
  ASSERT_THAT(chunks, SizeIs(10));
  for (const auto& [id, sealed] : chunks) EXPECT_EQ(sealed, Sealed(id));
}

TEST_F(ChunkReaderCopiesTest, ATierThatIsDownIsReadLast) {
  ASSERT_NO_FATAL_FAILURE(BackupAndCopy());
  ASSERT_NO_FATAL_FAILURE(MarkDown(hot_));
  ReadsSince();
  ASSERT_OK(Read(Ids(0, 10)));
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 0);
  EXPECT_EQ(r.cold, 1);
  ASSERT_OK_AND_ASSIGN(auto chunks, repo_->agent->ReadChunks(snapshot_.id(), Ids(0, 5)));
  EXPECT_THAT(chunks, SizeIs(5));
  r = ReadsSince();
  EXPECT_EQ(r.hot, 0);
  EXPECT_EQ(r.cold, 1);

  // Down is last, not never: when cold fails too, hot is tried.
  cold_->FailNth(TierOp::kRead, 1, absl::UnavailableError("injected: cold unreachable"));
  ASSERT_OK(Read(Ids(0, 10)));
  r = ReadsSince();
  EXPECT_EQ(r.cold, 1);
  EXPECT_EQ(r.hot, 1);
  // That read brought hot back up; it is the nearer one again.
  EXPECT_TRUE(repo_->core().tiers().Health("hot").up);
  ASSERT_OK(Read(Ids(0, 10)));
  r = ReadsSince();
  EXPECT_EQ(r.hot, 1);
  EXPECT_EQ(r.cold, 0);
}

TEST_F(ChunkReaderCopiesTest, WhenEveryCopyFailsTheNearestOnesErrorIsReturned) {
  ASSERT_NO_FATAL_FAILURE(BackupAndCopy());
  hot_->FailNth(TierOp::kRead, 1, absl::UnavailableError("injected: hot disk gone"));
  cold_->FailNth(TierOp::kRead, 1, absl::UnavailableError("injected: cold unreachable"));
  ReadsSince();
  absl::Status status = Read(Ids(0, 10));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("hot disk gone"));
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 1);
  EXPECT_EQ(r.cold, 1);
}

TEST_F(ChunkReaderCopiesTest, WithoutThePlacementStoreOnlyTheFirstLocationIsRead) {
  ASSERT_NO_FATAL_FAILURE(BackupAndCopy());
  hot_->FailNth(TierOp::kRead, 1, absl::UnavailableError("injected: hot disk gone"));
  ReadsSince();
  absl::Status status = Read(Ids(0, 10), /*no_placement=*/true);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 1);
  EXPECT_EQ(r.cold, 0);
}

TEST_F(ChunkReaderCopiesTest, APackWithoutCopiesFailsAsBefore) {
  ASSERT_OK_AND_ASSIGN(snapshot_, Backup(*repo_, {Ids(0, 10)}, {Ids(0, 10)}));
  hot_->FailNth(TierOp::kRead, 1, absl::UnavailableError("injected: hot disk gone"));
  ReadsSince();
  absl::Status status = Read(Ids(0, 10));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  Reads r = ReadsSince();
  EXPECT_EQ(r.hot, 1);
  EXPECT_EQ(r.cold, 0);
  ASSERT_OK(Read(Ids(0, 10)));
}

}  // namespace
}  // namespace cairn

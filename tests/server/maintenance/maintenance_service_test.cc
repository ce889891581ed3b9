// MaintenanceService::Verify over a real ServerCore and local tier (wrapped
// for faults): healthy packs pass; a flipped byte, a deleted or truncated
// object, or a catalogued chunk the pack lacks are reported and quarantined
// (and their chunks count as missing); a pack that cannot be read now (its
// tier failing with Unavailable, or not configured) is reported as unchecked
// and left alone.
#include "server/maintenance/maintenance_service.h"

#include <memory>
#include <string>
#include <vector>

#include "common/pack_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class MaintenanceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("maintenance", CoreOptions(), [this](std::unique_ptr<Tier> local) {
      std::unique_ptr<FaultInjectionTier> wrapped = WrapWithFaults(std::move(local));
      faults_ = wrapped.get();
      return std::unique_ptr<Tier>(std::move(wrapped));
    });
    ASSERT_NE(repo_, nullptr);
    ASSERT_OK_AND_ASSIGN(job_, StartBackup(*repo_->agent, "a1", "t1", "/data"));
    ASSERT_OK_AND_ASSIGN(tenant_, repo_->catalog->agents().TenantId("t1"));
    // Two packs of three chunks each (one upload stream each).
    ASSERT_OK(StoreChunks(*repo_->agent, job_, Ids(0, 3)));
    ASSERT_OK(StoreChunks(*repo_->agent, job_, Ids(3, 6)));
    ASSERT_OK_AND_ASSIGN(packs_, repo_->catalog->chunks().ListPacks());
    ASSERT_EQ(packs_.size(), 2u);
  }

  static std::vector<std::string> Ids(uint64_t from, uint64_t to) {
    std::vector<std::string> ids;
    for (uint64_t n = from; n < to; ++n) ids.push_back(TestChunkId(n));
    return ids;
  }
  v1::VerifyResponse Verify(bool read_data) {
    v1::VerifyRequest request;
    request.set_read_data(read_data);
    absl::StatusOr<v1::VerifyResponse> r =
        repo_->core->maintenance().Verify(Caller::Internal(), request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::VerifyResponse();
  }
  bool Quarantined(const PackRecord& pack) {
    absl::StatusOr<std::optional<PackRecord>> now = repo_->catalog->chunks().GetPack(pack.id);
    EXPECT_TRUE(now.ok() && now->has_value());
    return now.ok() && now->has_value() && (*now)->quarantined;
  }
  std::vector<uint32_t> Missing(const std::vector<std::string>& ids) {
    absl::StatusOr<std::vector<uint32_t>> m = repo_->catalog->chunks().FindMissing(tenant_, ids);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : std::vector<uint32_t>();
  }
  std::string Bytes(const PackRecord& pack) {
    std::string bytes;
    EXPECT_OK(repo_->tier->Read(pack.name, 0, pack.size, &bytes));
    return bytes;
  }
  // Only packs_[0] was damaged: it is reported, quarantined, its chunks
  // missing; packs_[1] is checked and stays.
  void ExpectFirstPackQuarantined(const v1::VerifyResponse& r, const std::string& why) {
    ASSERT_EQ(r.problems_size(), 1);
    EXPECT_THAT(r.problems(0), HasSubstr(packs_[0].name));
    EXPECT_THAT(r.problems(0), HasSubstr(why));
    EXPECT_THAT(r.problems(0), HasSubstr("quarantined"));
    EXPECT_THAT(r.unchecked(), IsEmpty());
    EXPECT_EQ(r.packs_checked(), 2u);
    EXPECT_TRUE(Quarantined(packs_[0]));
    EXPECT_FALSE(Quarantined(packs_[1]));
    EXPECT_EQ(Missing(Ids(0, 6)), (std::vector<uint32_t>{0, 1, 2}));
    // The next verify leaves the quarantined pack out.
    v1::VerifyResponse again = Verify(true);
    EXPECT_EQ(again.packs_checked(), 1u);
    EXPECT_THAT(again.problems(), IsEmpty());
  }

  std::unique_ptr<TestRepo> repo_;
  FaultInjectionTier* faults_ = nullptr;
  std::string job_;
  int64_t tenant_ = 0;
  std::vector<PackRecord> packs_;
};

TEST_F(MaintenanceServiceTest, HealthyPacksPass) {
  v1::VerifyResponse r = Verify(true);
  EXPECT_EQ(r.packs_checked(), 2u);
  EXPECT_EQ(r.chunks_checked(), 6u);
  EXPECT_THAT(r.problems(), IsEmpty());
  EXPECT_THAT(r.unchecked(), IsEmpty());
  r = Verify(false);
  EXPECT_EQ(r.packs_checked(), 2u);
  EXPECT_EQ(r.chunks_checked(), 0u);  // the index only
  EXPECT_FALSE(Quarantined(packs_[0]));
}

TEST_F(MaintenanceServiceTest, AFlippedByteIsFoundByReadingTheData) {
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> at,
                       repo_->catalog->chunks().Locate(tenant_, TestChunkId(1)));
  std::string bytes = Bytes(packs_[0]);
  bytes[at->offset + 5] ^= 0x01;
  ASSERT_OK(repo_->tier->Put(packs_[0].name, bytes));
  // Without read_data only the index is read: the damage goes unseen.
  v1::VerifyResponse index_only = Verify(false);
  EXPECT_THAT(index_only.problems(), IsEmpty());
  EXPECT_FALSE(Quarantined(packs_[0]));
  ExpectFirstPackQuarantined(Verify(true), "");
}

TEST_F(MaintenanceServiceTest, ADamagedIndexIsFoundEvenWithoutReadingTheData) {
  std::string bytes = Bytes(packs_[0]);
  bytes[bytes.size() - kPackFooterSize - 3] ^= 0x10;  // inside the index
  ASSERT_OK(repo_->tier->Put(packs_[0].name, bytes));
  ExpectFirstPackQuarantined(Verify(false), "");
}

TEST_F(MaintenanceServiceTest, ADeletedObjectIsReportedAndQuarantined) {
  ASSERT_OK(repo_->tier->Delete(packs_[0].name));
  ExpectFirstPackQuarantined(Verify(true), "");
}

TEST_F(MaintenanceServiceTest, ATruncatedObjectIsReportedAndQuarantined) {
  std::string bytes = Bytes(packs_[0]);
  ASSERT_OK(repo_->tier->Put(packs_[0].name, bytes.substr(0, bytes.size() / 2)));
  ExpectFirstPackQuarantined(Verify(true), "");
}

TEST_F(MaintenanceServiceTest, AnObjectCutBelowHeaderAndFooterIsTruncated) {
  ASSERT_OK(repo_->tier->Put(packs_[0].name, "CAIRNPK1"));
  ExpectFirstPackQuarantined(Verify(false), "truncated");
}

TEST_F(MaintenanceServiceTest, AChunkTheCatalogPlacesInAPackThatLacksItIsDamage) {
  // A catalogued copy of the second pack's object that is said to hold a
  // chunk it does not hold.
  const std::string copy = "pack-copy";
  ASSERT_OK(repo_->tier->Put(copy, Bytes(packs_[1])));
  ASSERT_OK(
      repo_->catalog->chunks()
          .AddPack(tenant_, "hot", copy, packs_[1].size, {StoredChunk{TestChunkId(99), 8, 64, 100}})
          .status());
  v1::VerifyResponse r = Verify(false);
  ASSERT_EQ(r.problems_size(), 1);
  EXPECT_THAT(r.problems(0), HasSubstr(copy));
  EXPECT_THAT(r.problems(0), HasSubstr("the pack lacks it"));
  EXPECT_EQ(Missing({TestChunkId(99)}), (std::vector<uint32_t>{0}));
}

TEST_F(MaintenanceServiceTest, AFailingTierIsUncheckedNotQuarantined) {
  for (TierOp op : {TierOp::kSize, TierOp::kRead}) {
    SCOPED_TRACE(static_cast<int>(op));
    faults_->FailFromNth(op, 1, absl::UnavailableError("the disk shelf is off"));
    v1::VerifyResponse r = Verify(true);
    faults_->ClearFaults();
    EXPECT_THAT(r.problems(), IsEmpty());
    ASSERT_EQ(r.unchecked_size(), 2);
    EXPECT_THAT(r.unchecked(0), HasSubstr(packs_[0].name));
    EXPECT_THAT(r.unchecked(0), HasSubstr("not checked"));
    EXPECT_THAT(r.unchecked(0), HasSubstr("the disk shelf is off"));
    EXPECT_EQ(r.packs_checked(), 0u);
    EXPECT_FALSE(Quarantined(packs_[0]));
    EXPECT_FALSE(Quarantined(packs_[1]));
    EXPECT_THAT(Missing(Ids(0, 6)), IsEmpty());
  }
  // Once the tier is back, the packs verify.
  v1::VerifyResponse r = Verify(true);
  EXPECT_EQ(r.packs_checked(), 2u);
  EXPECT_THAT(r.unchecked(), IsEmpty());
}

TEST_F(MaintenanceServiceTest, AnIoErrorMidPackIsUncheckedNotQuarantined) {
  // The index reads fine; the data read fails with an I/O error (Internal).
  faults_->FailNth(TierOp::kRead, 4, absl::InternalError("EIO"));  // header, footer, index, data
  v1::VerifyResponse r = Verify(true);
  EXPECT_THAT(r.problems(), IsEmpty());
  ASSERT_EQ(r.unchecked_size(), 1);
  EXPECT_THAT(r.unchecked(0), HasSubstr("EIO"));
  EXPECT_EQ(r.packs_checked(), 1u);
  EXPECT_FALSE(Quarantined(packs_[0]));
}

TEST_F(MaintenanceServiceTest, APackOnAnUnconfiguredTierIsUnchecked) {
  ASSERT_OK(repo_->catalog->chunks()
                .AddPack(tenant_, "archive", "pack-far-away", 1000,
                         {StoredChunk{TestChunkId(50), 8, 64, 100}})
                .status());
  v1::VerifyResponse r = Verify(true);
  EXPECT_THAT(r.problems(), IsEmpty());
  ASSERT_EQ(r.unchecked_size(), 1);
  EXPECT_THAT(r.unchecked(0), HasSubstr("pack-far-away"));
  EXPECT_THAT(r.unchecked(0), HasSubstr("archive"));
  EXPECT_EQ(r.packs_checked(), 2u);
  EXPECT_THAT(Missing({TestChunkId(50)}), IsEmpty());
}

}  // namespace
}  // namespace cairn

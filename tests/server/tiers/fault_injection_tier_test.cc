#include "tests/server/tiers/fault_injection_tier.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tiers/local_tier.h"
#include "tests/server/tiers/tier_test_dir.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class FaultInjectionTierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("fault_tier");
    absl::StatusOr<std::unique_ptr<Tier>> base = OpenLocalTier("hot", dir_);
    ASSERT_TRUE(base.ok()) << base.status();
    tier_ = WrapWithFaults(*std::move(base));
  }

  std::string dir_;
  std::unique_ptr<FaultInjectionTier> tier_;
};

TEST_F(FaultInjectionTierTest, InjectedNoSpaceOnAppendKeepsWriterFailed) {
  tier_->FailNth(TierOp::kAppend, 2);
  std::unique_ptr<TierWriter> writer = *tier_->Create("pack");
  ASSERT_TRUE(writer->Append("first").ok());
  absl::Status status = writer->Append("second");
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  // The fault was one-shot, but the writer must not carry on past a gap.
  EXPECT_EQ(writer->Append("third"), status);
  EXPECT_EQ(writer->Commit(), status);
  EXPECT_THAT(*tier_->List(), IsEmpty());
  writer.reset();
  EXPECT_THAT(RawDirListing(dir_), IsEmpty());
  // The next writer is unaffected.
  ASSERT_TRUE(tier_->Put("pack", "ok").ok());
  EXPECT_THAT(*tier_->List(), ElementsAre("pack"));
}

TEST_F(FaultInjectionTierTest, CommitFailureLeavesNothingListed) {
  ASSERT_TRUE(tier_->Put("other", "x").ok());
  tier_->FailNth(TierOp::kCommit, 1);
  {
    std::unique_ptr<TierWriter> writer = *tier_->Create("pack");
    ASSERT_TRUE(writer->Append("data").ok());
    EXPECT_TRUE(absl::IsResourceExhausted(writer->Commit()));
    EXPECT_THAT(*tier_->List(), ElementsAre("other"));
  }
  EXPECT_THAT(*tier_->List(), ElementsAre("other"));
  EXPECT_THAT(RawDirListing(dir_), ElementsAre("other"));
}

TEST_F(FaultInjectionTierTest, CrashDuringCommitLeavesTempThatReopenRemoves) {
  tier_->CrashNthCommit(1);
  std::unique_ptr<TierWriter> writer = *tier_->Create("pack");
  ASSERT_TRUE(writer->Append("half a pack").ok());
  absl::Status status = writer->Commit();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  writer.reset();
  // The process "died": its temporary file is still on disk, unlisted.
  std::vector<std::string> raw = RawDirListing(dir_);
  ASSERT_THAT(raw, SizeIs(1));
  EXPECT_THAT(raw[0], HasSubstr("pack~"));
  EXPECT_THAT(*tier_->List(), IsEmpty());
  // The restarted server opens the tier again and the leftover is gone.
  absl::StatusOr<std::unique_ptr<Tier>> reopened = OpenLocalTier("hot", dir_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_THAT(RawDirListing(dir_), IsEmpty());
  EXPECT_THAT(*(*reopened)->List(), IsEmpty());
}

TEST_F(FaultInjectionTierTest, StickyFaultLikeAFullDisk) {
  tier_->FailFromNth(TierOp::kPut, 2);
  EXPECT_TRUE(tier_->Put("a", "1").ok());
  EXPECT_TRUE(absl::IsResourceExhausted(tier_->Put("b", "2")));
  EXPECT_TRUE(absl::IsResourceExhausted(tier_->Put("c", "3")));
  tier_->ClearFaults();
  EXPECT_TRUE(tier_->Put("d", "4").ok());
  EXPECT_THAT(*tier_->List(), ElementsAre("a", "d"));
  EXPECT_EQ(tier_->calls(TierOp::kPut), 4);
}

TEST_F(FaultInjectionTierTest, FaultsOnOtherOperationsUseTheGivenError) {
  ASSERT_TRUE(tier_->Put("a", "abc").ok());
  tier_->FailNth(TierOp::kRead, 1, absl::UnavailableError("disk went away"));
  tier_->FailNth(TierOp::kList, 1, absl::InternalError("io"));
  tier_->FailNth(TierOp::kDelete, 1);
  tier_->FailNth(TierOp::kCreate, 1);
  tier_->FailNth(TierOp::kSize, 1);
  tier_->FailNth(TierOp::kSpace, 1);
  std::string out;
  EXPECT_TRUE(absl::IsUnavailable(tier_->Read("a", 0, 3, &out)));
  EXPECT_TRUE(tier_->Read("a", 0, 3, &out).ok());
  EXPECT_TRUE(absl::IsInternal(tier_->List().status()));
  EXPECT_TRUE(absl::IsResourceExhausted(tier_->Delete("a")));
  EXPECT_TRUE(absl::IsResourceExhausted(tier_->Create("b").status()));
  EXPECT_TRUE(absl::IsResourceExhausted(tier_->Size("a").status()));
  EXPECT_TRUE(absl::IsResourceExhausted(tier_->Space().status()));
  EXPECT_THAT(*tier_->List(), ElementsAre("a"));
}

TEST_F(FaultInjectionTierTest, CorruptReadFlipsOneBit) {
  ASSERT_TRUE(tier_->Put("a", "abcdef").ok());
  tier_->CorruptNthRead(2);
  std::string out;
  ASSERT_TRUE(tier_->Read("a", 0, 6, &out).ok());
  EXPECT_EQ(out, "abcdef");
  ASSERT_TRUE(tier_->Read("a", 0, 6, &out).ok());
  EXPECT_EQ(out, "abceef");  // the middle byte 'd' with its lowest bit flipped
  ASSERT_TRUE(tier_->Read("a", 0, 6, &out).ok());
  EXPECT_EQ(out, "abcdef");
}

TEST_F(FaultInjectionTierTest, PassesNameAndKindThrough) {
  EXPECT_EQ(tier_->name(), "hot");
  EXPECT_EQ(tier_->kind(), "local");
  EXPECT_EQ(tier_->base().name(), "hot");
}

}  // namespace
}  // namespace cairn

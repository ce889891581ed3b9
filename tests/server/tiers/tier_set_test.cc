// TierSet over real local tiers: the first tier is the hot one, tiers are
// found by exact name, an unconfigured name is nullptr for Find and
// Unavailable naming it for Get, and the set owns the tiers it was given.
#include "server/tiers/tier_set.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/tier_health.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

class TierSetTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = FreshTestDir("tier_set"); }
  void TearDown() override { RemoveTestDirUnlessFailed(dir_); }

  // Local tiers named `names`, each in its own directory.
  std::vector<std::unique_ptr<Tier>> Open(const std::vector<std::string>& names) {
    std::vector<std::unique_ptr<Tier>> tiers;
    for (const std::string& name : names) {
      absl::StatusOr<std::unique_ptr<Tier>> tier = OpenLocalTier(name, dir_ + "/" + name);
      EXPECT_TRUE(tier.ok()) << tier.status();
      if (tier.ok()) tiers.push_back(*std::move(tier));
    }
    return tiers;
  }

  std::string dir_;
};

// The set wraps each tier to watch its health; this is the tier inside.
Tier* Inner(Tier* tier) { return static_cast<HealthTrackingTier*>(tier)->base(); }

TEST_F(TierSetTest, TheFirstTierIsHotAndEachIsFoundByName) {
  std::vector<std::unique_ptr<Tier>> tiers = Open({"hot", "warm", "archive"});
  std::vector<Tier*> raw;
  for (const auto& t : tiers) raw.push_back(t.get());
  TierSet set(std::move(tiers));
  EXPECT_EQ(Inner(set.hot()), raw[0]);
  EXPECT_EQ(Inner(set.Find("hot")), raw[0]);
  EXPECT_EQ(Inner(set.Find("warm")), raw[1]);
  EXPECT_EQ(Inner(set.Find("archive")), raw[2]);
  ASSERT_OK_AND_ASSIGN(Tier * archive, set.Get("archive"));
  EXPECT_EQ(Inner(archive), raw[2]);
  ASSERT_EQ(set.all().size(), 3u);
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_EQ(Inner(set.all()[i].get()), raw[i]);
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_EQ(set.Rank(raw[i]->name()), i);
  EXPECT_EQ(set.Rank("elsewhere"), 3u);
}

TEST_F(TierSetTest, TheHotTierNeedNotBeCalledHot) {
  std::vector<std::unique_ptr<Tier>> tiers = Open({"ssd", "hot"});
  Tier* ssd = tiers[0].get();
  TierSet set(std::move(tiers));
  EXPECT_EQ(Inner(set.hot()), ssd);
  EXPECT_EQ(set.hot()->name(), "ssd");
  // A write through hot() lands in that tier's directory.
  ASSERT_OK(set.hot()->Put("pack-1", "bytes"));
  EXPECT_THAT(RawDirListing(dir_ + "/ssd"), ::testing::ElementsAre("pack-1"));
  EXPECT_EQ(set.Find("hot")->Size("pack-1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TierSetTest, AnUnconfiguredTierIsNullOrUnavailable) {
  TierSet set(Open({"hot"}));
  for (const std::string& name : {std::string("cold"), std::string("HOT"), std::string("hot "),
                                  std::string(""), std::string("ho")}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(set.Find(name), nullptr);
    absl::StatusOr<Tier*> got = set.Get(name);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr("tier " + name + " is not configured"));
  }
}

TEST_F(TierSetTest, TheSetOwnsItsTiers) {
  // The tiers stay usable for as long as the set lives, whatever happened to
  // the vector they came in.
  std::unique_ptr<TierSet> set;
  {
    std::vector<std::unique_ptr<Tier>> tiers = Open({"hot", "cold"});
    set = std::make_unique<TierSet>(std::move(tiers));
  }
  ASSERT_OK(set->Find("cold")->Put("obj", "data"));
  std::string back;
  ASSERT_OK(set->Find("cold")->Read("obj", 0, 4, &back));
  EXPECT_EQ(back, "data");
}

// A tier that fails as a store that is down fails is passed over for new
// packs until its retry time; the next one in the new-pack order gets them;
// answers such as NotFound do not count as an outage; a success brings the
// tier back.
TEST_F(TierSetTest, NewPacksGoAroundATierThatIsDown) {
  std::vector<std::unique_ptr<Tier>> tiers = Open({"hot", "cold"});
  FaultInjectionTier* hot = WrapWithFaults(std::move(tiers[0])).release();
  tiers[0].reset(hot);
  TierSet set(std::move(tiers), {.retry_after = absl::Milliseconds(200)});
  EXPECT_EQ(set.ForNewPacks()->name(), "hot");

  EXPECT_EQ(set.hot()->Size("absent").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(set.Health("hot").up) << "NotFound is an answer, not an outage";

  hot->FailFromNth(TierOp::kPut, 1, absl::UnavailableError("connection refused"));
  EXPECT_FALSE(set.hot()->Put("pack-1", "x").ok());
  TierHealth health = set.Health("hot");
  EXPECT_FALSE(health.up);
  EXPECT_EQ(health.failures, 1u);
  EXPECT_THAT(health.last_error, HasSubstr("connection refused"));
  EXPECT_TRUE(set.Avoid("hot"));
  EXPECT_EQ(set.ForNewPacks()->name(), "cold");

  // Due for a retry: one new pack tries it again.
  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_FALSE(set.Avoid("hot"));
  EXPECT_EQ(set.ForNewPacks()->name(), "hot");
  hot->ClearFaults();
  ASSERT_OK(set.hot()->Put("pack-1", "x"));
  EXPECT_TRUE(set.Health("hot").up);
}

TEST_F(TierSetTest, TheNewPackOrderIsConfigurableAndAllDownStillNamesTheFirst) {
  std::vector<std::unique_ptr<Tier>> tiers = Open({"hot", "warm", "cold"});
  FaultInjectionTier* cold = WrapWithFaults(std::move(tiers[2])).release();
  tiers[2].reset(cold);
  FaultInjectionTier* warm = WrapWithFaults(std::move(tiers[1])).release();
  tiers[1].reset(warm);
  TierSet set(std::move(tiers), {.new_packs = {"cold", "warm"}});
  EXPECT_EQ(set.ForNewPacks()->name(), "cold");
  cold->FailFromNth(TierOp::kPut, 1);  // a full disk
  EXPECT_FALSE(set.Find("cold")->Put("p", "x").ok());
  EXPECT_EQ(set.ForNewPacks()->name(), "warm");
  warm->FailFromNth(TierOp::kPut, 1);
  EXPECT_FALSE(set.Find("warm")->Put("p", "x").ok());
  // "hot" is not in the order: all that may take new packs are down, so the
  // first of them is tried (its error then says why).
  EXPECT_EQ(set.ForNewPacks()->name(), "cold");
}

}  // namespace
}  // namespace cairn

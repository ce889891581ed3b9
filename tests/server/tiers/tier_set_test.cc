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
#include "tests/server/server_test_util.h"

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

TEST_F(TierSetTest, TheFirstTierIsHotAndEachIsFoundByName) {
  std::vector<std::unique_ptr<Tier>> tiers = Open({"hot", "warm", "archive"});
  std::vector<Tier*> raw;
  for (const auto& t : tiers) raw.push_back(t.get());
  TierSet set(std::move(tiers));
  EXPECT_EQ(set.hot(), raw[0]);
  EXPECT_EQ(set.Find("hot"), raw[0]);
  EXPECT_EQ(set.Find("warm"), raw[1]);
  EXPECT_EQ(set.Find("archive"), raw[2]);
  ASSERT_OK_AND_ASSIGN(Tier * archive, set.Get("archive"));
  EXPECT_EQ(archive, raw[2]);
  ASSERT_EQ(set.all().size(), 3u);
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_EQ(set.all()[i].get(), raw[i]);
}

TEST_F(TierSetTest, TheHotTierNeedNotBeCalledHot) {
  std::vector<std::unique_ptr<Tier>> tiers = Open({"ssd", "hot"});
  Tier* ssd = tiers[0].get();
  TierSet set(std::move(tiers));
  EXPECT_EQ(set.hot(), ssd);
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

}  // namespace
}  // namespace cairn

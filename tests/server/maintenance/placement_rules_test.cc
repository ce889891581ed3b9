// PlacementRules over a real server core with two local tiers: each rule is
// one TierMover run as the server itself; a copy rule leaves every pack on
// both tiers, an age rule moves only packs old enough, a rule that cannot run
// is reported and the next still runs, and the thread stops promptly.
#include "server/maintenance/placement_rules.h"

#include <sys/stat.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tiers/local_tier.h"
#include "tests/server/server_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class PlacementRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("placement_rules");
    std::vector<std::unique_ptr<Tier>> tiers;
    for (const char* name : {"hot", "cold"}) {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> t, OpenLocalTier(name, dir_ + "/" + name));
      tiers.push_back(std::move(t));
    }
    CoreOptions options;
    options.pack_target_bytes = 1 << 20;
    options.tier_set.new_packs = {"hot"};
    ASSERT_OK_AND_ASSIGN(core_, ServerCore::Open(dir_ + "/catalog.db", std::move(tiers), options));
    agent_ = std::make_unique<AgentCalls>(core_.get());
    // Two uploads: two packs on hot.
    for (int u = 0; u < 2; ++u) {
      ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*agent_, "a1", "t", "/data"));
      std::vector<std::string> ids;
      for (int i = 0; i < 3; ++i) ids.push_back(std::string(31, static_cast<char>(u)) + char(i));
      ASSERT_OK(StoreChunks(*agent_, job, ids));
    }
  }

  std::vector<PlacedPack> On(const std::string& tier) {
    absl::StatusOr<std::vector<PlacedPack>> packs =
        core_->catalog().placement().PacksOn(tier, INT64_MAX, 0, 1000);
    EXPECT_TRUE(packs.ok()) << packs.status();
    return packs.value_or(std::vector<PlacedPack>{});
  }

  v1::PlacementRule Rule(std::string from, std::string to, bool copy, uint32_t days = 0) {
    v1::PlacementRule r;
    r.set_from(std::move(from));
    r.set_to(std::move(to));
    r.set_copy(copy);
    r.set_older_than_days(days);
    return r;
  }

  // A snapshot of agent `agent` whose one file is the chunks of upload `u`:
  // SetUp's uploads 0 and 1, or (u > 1) a new upload of its own.
  void SnapshotOfUpload(const std::string& agent, int u) {
    ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*agent_, agent, "t", "/data"));
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(std::string(31, static_cast<char>(u)) + char(i));
    if (u > 1) ASSERT_OK(StoreChunks(*agent_, job, ids));
    const std::string root = TreeBytes({FileEntry("f", ids, 100)});
    ASSERT_OK(PutTrees(*agent_, job, {root}));
    ASSERT_OK(Commit(*agent_, job, Sha256Of(root)).status());
  }

  void SetCopies(const std::string& name, const std::string& agents, uint32_t copies) {
    v1::Policy p;
    p.set_name(name);
    p.add_agents(agents);
    p.set_copies(copies);
    ASSERT_OK(core_->policies().Set(Caller::Internal(), p).status());
  }

  std::string dir_;
  std::unique_ptr<ServerCore> core_;
  std::unique_ptr<AgentCalls> agent_;
};

TEST_F(PlacementRulesTest, ACopyRuleLeavesEveryPackOnBothTiers) {
  ASSERT_THAT(On("hot"), SizeIs(2));
  ASSERT_THAT(On("cold"), IsEmpty());
  PlacementRules rules(&core_->maintenance(), {Rule("hot", "cold", true)}, absl::Hours(1));
  EXPECT_THAT(rules.RunOnce(), IsEmpty());
  EXPECT_THAT(On("hot"), SizeIs(2));
  std::vector<PlacedPack> cold = On("cold");
  ASSERT_THAT(cold, SizeIs(2));
  for (const PlacedPack& p : cold) EXPECT_THAT(p.locations, ElementsAre("hot", "cold"));
  // Run again: nothing more to do.
  EXPECT_THAT(rules.RunOnce(), IsEmpty());
  EXPECT_THAT(On("cold"), SizeIs(2));
}

TEST_F(PlacementRulesTest, AnAgeRuleMovesOnlyPacksOldEnough) {
  PlacementRules young(&core_->maintenance(), {Rule("hot", "cold", false, 1)}, absl::Hours(1));
  EXPECT_THAT(young.RunOnce(), IsEmpty());
  EXPECT_THAT(On("hot"), SizeIs(2)) << "packs written just now are not a day old";
  PlacementRules any(&core_->maintenance(), {Rule("hot", "cold", false, 0)}, absl::Hours(1));
  EXPECT_THAT(any.RunOnce(), IsEmpty());
  EXPECT_THAT(On("hot"), IsEmpty());
  std::vector<PlacedPack> cold = On("cold");
  ASSERT_THAT(cold, SizeIs(2));
  for (const PlacedPack& p : cold) {
    EXPECT_THAT(p.locations, ElementsAre("cold"));
    EXPECT_FALSE(FileExists(dir_ + "/hot/" + p.pack.name)) << "the source object was deleted";
    EXPECT_TRUE(FileExists(dir_ + "/cold/" + p.pack.name));
  }
}

TEST_F(PlacementRulesTest, ARuleThatFailsIsReportedAndTheNextStillRuns) {
  PlacementRules rules(&core_->maintenance(),
                       {Rule("hot", "nowhere", true), Rule("hot", "cold", true)}, absl::Hours(1));
  std::vector<std::string> problems = rules.RunOnce();
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("nowhere"));
  EXPECT_THAT(On("cold"), SizeIs(2));
}

// copies: 2 on a1's policy puts exactly the packs a1's snapshots use on
// both tiers; b1's policy asks for nothing and its pack stays where it is.
TEST_F(PlacementRulesTest, APolicyAskingForTwoCopiesGetsThemForItsAgentsData) {
  ASSERT_NO_FATAL_FAILURE(SnapshotOfUpload("a1", 0));
  ASSERT_NO_FATAL_FAILURE(SnapshotOfUpload("b1", 7));
  ASSERT_THAT(On("hot"), SizeIs(3));
  ASSERT_NO_FATAL_FAILURE(SetCopies("a-twice", "a*", 2));
  ASSERT_NO_FATAL_FAILURE(SetCopies("b-once", "b*", 1));
  PlacementRules rules(&core_->maintenance(), {}, absl::Hours(1));
  EXPECT_THAT(rules.RunOnce(), IsEmpty());
  std::vector<PlacedPack> cold = On("cold");
  ASSERT_THAT(cold, SizeIs(1));
  EXPECT_THAT(cold[0].locations, ElementsAre("hot", "cold"));
  EXPECT_TRUE(FileExists(dir_ + "/cold/" + cold[0].pack.name));
  ASSERT_OK_AND_ASSIGN(int64_t tenant, core_->catalog().agents().TenantId("t"));
  ASSERT_OK_AND_ASSIGN(
      std::optional<ChunkLocation> a_chunk,
      core_->catalog().chunks().Locate(tenant, std::string(31, static_cast<char>(0)) + char(0)));
  ASSERT_TRUE(a_chunk.has_value());
  EXPECT_EQ(a_chunk->pack_id, cold[0].pack.id) << "the copy is of a1's pack";
  // Nothing more to do the second time.
  EXPECT_THAT(rules.RunOnce(), IsEmpty());
  EXPECT_THAT(On("cold"), SizeIs(1));
}

// More copies than tiers: what can be made is made, and the rest is said.
TEST_F(PlacementRulesTest, MoreCopiesThanTiersIsReported) {
  ASSERT_NO_FATAL_FAILURE(SnapshotOfUpload("a1", 0));
  ASSERT_NO_FATAL_FAILURE(SetCopies("a-thrice", "a1", 3));
  PlacementRules rules(&core_->maintenance(), {}, absl::Hours(1));
  std::vector<std::string> problems = rules.RunOnce();
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("has 2 of 3 locations"));
  EXPECT_THAT(On("cold"), SizeIs(1));
  v1::Policy too_many;
  too_many.set_name("nine");
  too_many.add_agents("a1");
  too_many.set_copies(9);
  absl::StatusOr<v1::Policy> refused = core_->policies().Set(Caller::Internal(), too_many);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
}

// An age rule goes by the newest snapshot that uses a pack: a pack written
// ten days ago that today's snapshot still uses stays hot; one only old
// snapshots use moves.
TEST(PlacementRulesAgeTest, AnAgeRuleGoesByTheNewestSnapshotUsingAPack) {
  const std::string dir = NewTempDir("placement_age");
  std::vector<std::unique_ptr<Tier>> tiers;
  for (const char* name : {"hot", "cold"}) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> t, OpenLocalTier(name, dir + "/" + name));
    tiers.push_back(std::move(t));
  }
  auto now = std::make_shared<absl::Time>(absl::Now() - absl::Hours(24 * 10));
  CoreOptions options;
  options.pack_target_bytes = 1 << 20;
  options.tier_set.new_packs = {"hot"};
  options.clock = [now] { return *now; };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerCore> core,
                       ServerCore::Open(dir + "/catalog.db", std::move(tiers), options));
  AgentCalls agent(core.get());
  auto ids_of = [](int u) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(std::string(31, static_cast<char>(u)) + char(i));
    return ids;
  };
  auto snapshot = [&](int u, bool store) {
    ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(agent, "a1", "t", "/data"));
    if (store) ASSERT_OK(StoreChunks(agent, job, ids_of(u)));
    const std::string root = TreeBytes({FileEntry("f", ids_of(u), 100)});
    ASSERT_OK(PutTrees(agent, job, {root}));
    ASSERT_OK(Commit(agent, job, Sha256Of(root)).status());
  };
  // Ten days ago: two packs, each used by a snapshot of its own.
  ASSERT_NO_FATAL_FAILURE(snapshot(0, true));
  ASSERT_NO_FATAL_FAILURE(snapshot(1, true));
  // Today: a snapshot that uses pack 0's chunks again.
  *now = absl::Now();
  ASSERT_NO_FATAL_FAILURE(snapshot(0, false));

  v1::PlacementRule rule;
  rule.set_from("hot");
  rule.set_to("cold");
  rule.set_older_than_days(5);
  PlacementRules rules(&core->maintenance(), {rule}, absl::Hours(1));
  EXPECT_THAT(rules.RunOnce(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(int64_t tenant, core->catalog().agents().TenantId("t"));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> still_used,
                       core->catalog().chunks().Locate(tenant, ids_of(0)[0]));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> unused,
                       core->catalog().chunks().Locate(tenant, ids_of(1)[0]));
  ASSERT_TRUE(still_used.has_value() && unused.has_value());
  EXPECT_EQ(still_used->tier, "hot") << "today's snapshot uses it";
  EXPECT_EQ(unused->tier, "cold") << "only a ten-day-old snapshot uses it";
}

TEST_F(PlacementRulesTest, TheThreadStopsPromptly) {
  const absl::Time start = absl::Now();
  {
    PlacementRules rules(&core_->maintenance(), {Rule("hot", "cold", true)}, absl::Hours(1));
    rules.Start();
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(On("cold"), IsEmpty()) << "the first run waits one interval";
}

}  // namespace
}  // namespace cairn

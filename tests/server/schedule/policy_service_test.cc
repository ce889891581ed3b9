// PolicyService over a real ServerCore: Set validates and fills defaults
// before storing, Get and Delete of a missing policy are NotFound, and the
// cache: read from the catalog once, a new version (and a JobBoard wake-up)
// after each successful edit and none after a refused one.
#include "server/schedule/policy_service.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class PolicyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("policy_service");
    ASSERT_NE(repo_, nullptr);
  }

  PolicyService& policies() { return repo_->core->policies(); }

  static v1::Policy Policy(const std::string& name) {
    v1::Policy p;
    p.set_name(name);
    p.add_agents("gpu-*");
    p.add_roots("/data");
    return p;
  }
  std::vector<std::string> Names(const PolicySnapshot& snapshot) {
    std::vector<std::string> names;
    for (const v1::Policy& p : *snapshot.policies) names.push_back(p.name());
    return names;
  }

  std::unique_ptr<TestRepo> repo_;
  const Caller admin_ = Caller::Admin("root", Role::kAdmin);
};

TEST_F(PolicyServiceTest, SetFillsDefaultsAndStoresWhatItReturns) {
  ASSERT_OK_AND_ASSIGN(v1::Policy stored, policies().Set(admin_, Policy("nightly")));
  EXPECT_EQ(stored.interval_seconds(), 60u);
  EXPECT_EQ(stored.quiet_seconds(), 2u);
  ASSERT_OK_AND_ASSIGN(v1::Policy got, policies().Get(admin_, "nightly"));
  EXPECT_EQ(got.SerializeAsString(), stored.SerializeAsString());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Policy> in_catalog,
                       repo_->catalog->policies().Get("nightly"));
  ASSERT_TRUE(in_catalog.has_value());
  EXPECT_EQ(in_catalog->interval_seconds(), 60u);
}

TEST_F(PolicyServiceTest, AnInvalidPolicyIsRefusedAndNothingChanges) {
  ASSERT_OK_AND_ASSIGN(PolicySnapshot before, policies().Current());
  const uint64_t board = repo_->jobs->version();
  v1::Policy no_agents = Policy("p");
  no_agents.clear_agents();
  v1::Policy relative_root = Policy("p");
  relative_root.add_roots("data");
  v1::Policy bad_name = Policy("bad name!");
  v1::Policy bad_cron = Policy("p");
  bad_cron.add_schedules()->set_cron("not a cron line");
  for (const v1::Policy& bad : {no_agents, relative_root, bad_name, bad_cron}) {
    absl::StatusOr<v1::Policy> set = policies().Set(admin_, bad);
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument) << set.status();
  }
  absl::StatusOr<v1::Policy> set = policies().Set(admin_, relative_root);
  EXPECT_THAT(set.status().message(), HasSubstr("roots"));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot after, policies().Current());
  EXPECT_EQ(after.version, before.version);
  EXPECT_THAT(*after.policies, IsEmpty());
  EXPECT_EQ(repo_->jobs->version(), board);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Policy> stored, repo_->catalog->policies().List());
  EXPECT_THAT(stored, IsEmpty());
}

TEST_F(PolicyServiceTest, GetAndDeleteOfAMissingPolicyAreNotFound) {
  absl::StatusOr<v1::Policy> got = policies().Get(admin_, "ghost");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("ghost"));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot before, policies().Current());
  EXPECT_EQ(policies().Delete(admin_, "ghost").code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(PolicySnapshot after, policies().Current());
  EXPECT_EQ(after.version, before.version);

  ASSERT_OK(policies().Set(admin_, Policy("p")).status());
  ASSERT_OK(policies().Delete(admin_, "p"));
  EXPECT_EQ(policies().Get(admin_, "p").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(policies().Delete(admin_, "p").code(), absl::StatusCode::kNotFound);
}

TEST_F(PolicyServiceTest, CurrentIsCachedUntilAnEdit) {
  ASSERT_OK(policies().Set(admin_, Policy("b")).status());
  ASSERT_OK(policies().Set(admin_, Policy("a")).status());
  ASSERT_OK_AND_ASSIGN(PolicySnapshot first, policies().Current());
  EXPECT_THAT(Names(first), ElementsAre("a", "b"));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot second, policies().Current());
  EXPECT_EQ(second.version, first.version);
  EXPECT_EQ(second.policies.get(), first.policies.get());  // the same cached list

  // A write behind the service's back is not seen: the cache is the source.
  ASSERT_OK(repo_->catalog->policies().Put(Policy("sneaked-in")));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot cached, policies().Current());
  EXPECT_THAT(Names(cached), ElementsAre("a", "b"));

  // An edit through the service: a new version, read afresh, and the board wakes.
  const uint64_t board = repo_->jobs->version();
  ASSERT_OK(policies().Delete(admin_, "a"));
  EXPECT_GT(repo_->jobs->version(), board);
  ASSERT_OK_AND_ASSIGN(PolicySnapshot edited, policies().Current());
  EXPECT_GT(edited.version, first.version);
  EXPECT_THAT(Names(edited), ElementsAre("b", "sneaked-in"));
  // The snapshot handed out before stays as it was.
  EXPECT_THAT(Names(first), ElementsAre("a", "b"));

  ASSERT_OK_AND_ASSIGN(v1::ListPoliciesResponse listed, policies().List(admin_));
  ASSERT_EQ(listed.policies_size(), 2);
  EXPECT_EQ(listed.policies(1).name(), "sneaked-in");
}

TEST_F(PolicyServiceTest, EverySuccessfulEditIsANewVersion) {
  ASSERT_OK_AND_ASSIGN(PolicySnapshot s0, policies().Current());
  ASSERT_OK(policies().Set(admin_, Policy("p")).status());
  ASSERT_OK_AND_ASSIGN(PolicySnapshot s1, policies().Current());
  // Storing the same policy again is still an edit.
  ASSERT_OK(policies().Set(admin_, Policy("p")).status());
  ASSERT_OK_AND_ASSIGN(PolicySnapshot s2, policies().Current());
  ASSERT_OK(policies().Delete(admin_, "p"));
  ASSERT_OK_AND_ASSIGN(PolicySnapshot s3, policies().Current());
  EXPECT_LT(s0.version, s1.version);
  EXPECT_LT(s1.version, s2.version);
  EXPECT_LT(s2.version, s3.version);
  EXPECT_THAT(*s3.policies, IsEmpty());
}

}  // namespace
}  // namespace cairn

// PolicyStore on a real catalog file: Put creates or replaces by name, Get
// and List (in name order) read them back after a reopen, Delete is NotFound
// for a policy that is not there, and damaged rows are DataLoss.
#include "server/catalog/policy_store.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class PolicyStoreTest : public StoreTest {
 protected:
  PolicyStore& policies() { return catalog().policies(); }

  static v1::Policy Policy(const std::string& name, uint32_t rpo = 3600) {
    v1::Policy p;
    p.set_name(name);
    p.add_agents("gpu-*");
    p.add_roots("/data");
    p.add_excludes("*.tmp");
    p.set_rpo_seconds(rpo);
    return p;
  }
  std::vector<std::string> Names() {
    absl::StatusOr<std::vector<v1::Policy>> all = policies().List();
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<std::string> names;
    if (all.ok()) {
      for (const v1::Policy& p : *all) names.push_back(p.name());
    }
    return names;
  }
};

TEST_F(PolicyStoreTest, PutThenGetAndListAfterReopen) {
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Policy> none, policies().List());
  EXPECT_THAT(none, IsEmpty());
  ASSERT_OK(policies().Put(Policy("nightly")));
  ASSERT_OK(policies().Put(Policy("a-first")));
  ASSERT_OK(policies().Put(Policy("zz")));

  Reopen();
  EXPECT_THAT(Names(), ElementsAre("a-first", "nightly", "zz"));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Policy> got, policies().Get("nightly"));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(*got, Policy("nightly"))) << got->DebugString();
  ASSERT_OK_AND_ASSIGN(got, policies().Get("Nightly"));  // names are case-sensitive
  EXPECT_FALSE(got.has_value());
}

TEST_F(PolicyStoreTest, PutReplacesByName) {
  ASSERT_OK(policies().Put(Policy("p", 60)));
  v1::Policy second;
  second.set_name("p");
  second.set_continuous(true);
  ASSERT_OK(policies().Put(second));
  EXPECT_THAT(Names(), ElementsAre("p"));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Policy> got, policies().Get("p"));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(*got, second)) << got->DebugString();
  EXPECT_EQ(got->rpo_seconds(), 0u);
}

TEST_F(PolicyStoreTest, DeleteOfAMissingPolicyIsNotFound) {
  absl::Status missing = policies().Delete("ghost");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("ghost"));

  ASSERT_OK(policies().Put(Policy("a")));
  ASSERT_OK(policies().Put(Policy("b")));
  ASSERT_OK(policies().Delete("a"));
  EXPECT_THAT(Names(), ElementsAre("b"));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Policy> gone, policies().Get("a"));
  EXPECT_FALSE(gone.has_value());
  EXPECT_EQ(policies().Delete("a").code(), absl::StatusCode::kNotFound);
  // And it may be created again.
  ASSERT_OK(policies().Put(Policy("a")));
  EXPECT_THAT(Names(), ElementsAre("a", "b"));
}

TEST_F(PolicyStoreTest, AnUnparsableRowIsDataLoss) {
  ASSERT_OK(policies().Put(Policy("p")));
  ASSERT_OK(RawExec("UPDATE policies SET data = X'FF' WHERE name = 'p'"));
  absl::StatusOr<std::optional<v1::Policy>> got = policies().Get("p");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("policy"));
  EXPECT_EQ(policies().List().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cairn

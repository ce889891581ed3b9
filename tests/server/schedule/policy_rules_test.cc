#include "server/schedule/policy_rules.h"

#include "gtest/gtest.h"

namespace cairn {
namespace {

v1::Policy Valid() {
  v1::Policy p;
  p.set_name("ckpt");
  p.add_agents("gpu-*");
  p.add_roots("/data/ckpt");
  return p;
}

TEST(PolicyRulesTest, FillsDefaults) {
  v1::Policy p = Valid();
  p.add_consistency_groups()->set_path("step-*");
  p.add_schedules()->set_cron("0 3 * * *");
  ASSERT_TRUE(NormalizePolicy(&p).ok());
  EXPECT_EQ(p.interval_seconds(), 60u);
  EXPECT_EQ(p.quiet_seconds(), 2u);
  EXPECT_EQ(p.consistency_groups(0).settle_seconds(), 30u);
  EXPECT_EQ(p.schedules(0).level(), v1::BACKUP_LEVEL_INCREMENTAL);
}

TEST(PolicyRulesTest, ErrorsNameTheField) {
  struct Case {
    std::function<void(v1::Policy*)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](v1::Policy* p) { p->set_name("bad name"); }, "policy name"},
      {[](v1::Policy* p) { p->clear_agents(); }, "agents"},
      {[](v1::Policy* p) { p->add_roots("relative/dir"); }, "roots"},
      {[](v1::Policy* p) { p->add_excludes(""); }, "excludes"},
      {[](v1::Policy* p) { p->add_consistency_groups()->set_path("/abs"); },
       "consistency_groups.path"},
      {[](v1::Policy* p) { p->add_consistency_groups()->set_path("../up"); },
       "consistency_groups.path"},
      {[](v1::Policy* p) {
         auto* g = p->add_consistency_groups();
         g->set_path("step-*");
         g->add_markers("a/b");
       },
       "consistency_groups.markers"},
      {[](v1::Policy* p) { p->add_schedules()->set_cron("0 3 * *"); }, "schedules.cron"},
      {[](v1::Policy* p) {
         auto* s = p->add_schedules();
         s->set_cron("0 3 * * *");
         s->set_verify_sample_percent(101);
       },
       "schedules.verify_sample_percent"},
      {[](v1::Policy* p) { p->mutable_throttle()->set_nice(25); }, "throttle.nice"},
      {[](v1::Policy* p) { p->set_quiet_seconds(100000); }, "quiet_seconds"},
  };
  for (const Case& c : cases) {
    v1::Policy p = Valid();
    c.mutate(&p);
    absl::Status status = NormalizePolicy(&p);
    EXPECT_FALSE(status.ok()) << c.field;
    EXPECT_NE(status.message().find(c.field), absl::string_view::npos)
        << c.field << ": " << status.message();
  }
}

TEST(PolicyRulesTest, AgentGlobs) {
  v1::Policy a = Valid();
  v1::Policy b = Valid();
  b.set_name("all");
  b.clear_agents();
  b.add_agents("*");
  EXPECT_TRUE(PolicyCoversAgent(a, "gpu-017"));
  EXPECT_FALSE(PolicyCoversAgent(a, "cpu-001"));
  EXPECT_EQ(PoliciesForAgent({a, b}, "gpu-1").size(), 2u);
  EXPECT_EQ(PoliciesForAgent({a, b}, "login").size(), 1u);
}

}  // namespace
}  // namespace cairn

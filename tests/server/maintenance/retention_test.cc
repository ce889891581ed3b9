// Retention arithmetic (ExpiredSnapshots, restic "forget" semantics in UTC),
// which policies cover which snapshots, and PruneSnapshots on a real catalog.
#include "server/maintenance/retention.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

int64_t Ms(absl::string_view rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << rfc3339 << error;
  return absl::ToUnixMillis(t);
}

v1::Snapshot Snap(absl::string_view id, int64_t ms) {
  v1::Snapshot s;
  s.set_id(std::string(id));
  s.set_created_unix_ms(ms);
  return s;
}

// Snapshots named by their times, given newest first.
std::vector<v1::Snapshot> Snaps(const std::vector<std::string>& times) {
  std::vector<v1::Snapshot> out;
  for (const std::string& t : times) out.push_back(Snap(t, Ms(t)));
  return out;
}

v1::RetentionRule Rule(uint32_t last, uint32_t hourly, uint32_t daily, uint32_t weekly,
                       uint32_t monthly) {
  v1::RetentionRule r;
  r.set_keep_last(last);
  r.set_keep_hourly(hourly);
  r.set_keep_daily(daily);
  r.set_keep_weekly(weekly);
  r.set_keep_monthly(monthly);
  return r;
}

TEST(ExpiredSnapshotsTest, EmptyListExpiresNothing) {
  EXPECT_THAT(ExpiredSnapshots({}, Rule(1, 1, 1, 1, 1)), IsEmpty());
  EXPECT_THAT(ExpiredSnapshots({}, Rule(0, 0, 0, 0, 0)), IsEmpty());
}

TEST(ExpiredSnapshotsTest, AllZeroRuleKeepsEverything) {
  auto snaps = Snaps({"2024-03-01T00:00:00Z", "2023-01-01T00:00:00Z", "2020-01-01T00:00:00Z"});
  EXPECT_THAT(ExpiredSnapshots(snaps, v1::RetentionRule()), IsEmpty());
  EXPECT_FALSE(HasRetention(v1::RetentionRule()));
  EXPECT_TRUE(HasRetention(Rule(0, 0, 0, 0, 1)));
}

TEST(ExpiredSnapshotsTest, KeepLast) {
  auto snaps = Snaps({"2024-01-05T00:00:00Z", "2024-01-04T00:00:00Z", "2024-01-03T00:00:00Z",
                      "2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z"});
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(3, 0, 0, 0, 0)),
              ElementsAre("2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z"));
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(5, 0, 0, 0, 0)), IsEmpty());
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(100, 0, 0, 0, 0)), IsEmpty());
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(1, 0, 0, 0, 0)).size(), 4u);
}

TEST(ExpiredSnapshotsTest, HourlyBucketBoundaries) {
  auto snaps = Snaps({"2024-05-05T12:15:00Z", "2024-05-05T11:30:00Z", "2024-05-05T11:00:00Z",
                      "2024-05-05T10:59:59.999Z", "2024-05-05T10:00:00Z"});
  // Buckets 12h, 11h, 10h: newest of each, most recent first.
  EXPECT_THAT(
      ExpiredSnapshots(snaps, Rule(0, 2, 0, 0, 0)),
      ElementsAre("2024-05-05T11:00:00Z", "2024-05-05T10:59:59.999Z", "2024-05-05T10:00:00Z"));
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 3, 0, 0, 0)),
              ElementsAre("2024-05-05T11:00:00Z", "2024-05-05T10:00:00Z"));
}

TEST(ExpiredSnapshotsTest, DailyBoundaryAtMidnightUtc) {
  auto snaps = Snaps({"2024-02-02T00:00:00Z", "2024-02-01T23:59:59.999Z", "2024-02-01T00:00:00Z",
                      "2024-01-31T23:59:59.999Z"});
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 2, 0, 0)),
              ElementsAre("2024-02-01T00:00:00Z", "2024-01-31T23:59:59.999Z"));
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 3, 0, 0)), ElementsAre("2024-02-01T00:00:00Z"));
}

TEST(ExpiredSnapshotsTest, EmptyPeriodsDoNotCount) {
  // keep_daily=2 keeps the two most recent days that HAVE snapshots.
  auto snaps = Snaps({"2024-01-10T08:00:00Z", "2024-01-05T08:00:00Z", "2024-01-01T08:00:00Z"});
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 2, 0, 0)), ElementsAre("2024-01-01T08:00:00Z"));
}

TEST(ExpiredSnapshotsTest, IsoWeeksAcrossYearEnd) {
  // 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 2020-W53;
  // Monday 2021-01-04 starts 2021-W01.
  auto snaps = Snaps({"2021-01-04T00:00:00Z", "2021-01-03T23:59:59.999Z", "2020-12-31T12:00:00Z",
                      "2020-12-27T23:00:00Z"});
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 0, 2, 0)),
              ElementsAre("2020-12-31T12:00:00Z", "2020-12-27T23:00:00Z"));
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 0, 3, 0)), ElementsAre("2020-12-31T12:00:00Z"));

  // Monday 2024-12-30 already belongs to 2025-W01, with 2025-01-01.
  auto turn = Snaps({"2025-01-01T10:00:00Z", "2024-12-30T00:30:00Z", "2024-12-29T23:00:00Z"});
  EXPECT_THAT(ExpiredSnapshots(turn, Rule(0, 0, 0, 1, 0)),
              ElementsAre("2024-12-30T00:30:00Z", "2024-12-29T23:00:00Z"));
  EXPECT_THAT(ExpiredSnapshots(turn, Rule(0, 0, 0, 2, 0)), ElementsAre("2024-12-30T00:30:00Z"));
}

TEST(ExpiredSnapshotsTest, MonthsAcrossYearEndAndLeapDay) {
  auto snaps =
      Snaps({"2024-03-01T00:00:00Z", "2024-02-29T23:59:59.999Z", "2024-02-01T00:00:00Z",
             "2024-01-31T23:59:59.999Z", "2023-12-31T23:59:59.999Z", "2023-11-15T00:00:00Z"});
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 0, 0, 4)),
              ElementsAre("2024-02-01T00:00:00Z", "2023-11-15T00:00:00Z"));
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 0, 0, 5)), ElementsAre("2024-02-01T00:00:00Z"));
}

TEST(ExpiredSnapshotsTest, RulesUnite) {
  auto snaps = Snaps({"2024-01-03T10:00:00Z", "2024-01-03T09:00:00Z", "2024-01-02T10:00:00Z",
                      "2024-01-02T09:00:00Z", "2024-01-01T10:00:00Z"});
  // keep_last=2 keeps both of Jan 3; keep_daily=2 keeps Jan 3 10:00 and Jan 2 10:00.
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(2, 0, 2, 0, 0)),
              ElementsAre("2024-01-02T09:00:00Z", "2024-01-01T10:00:00Z"));
}

TEST(ExpiredSnapshotsTest, TiesKeepTheEarlierInTheList) {
  int64_t t = Ms("2024-06-01T12:00:00Z");
  std::vector<v1::Snapshot> snaps = {Snap("a", t), Snap("b", t), Snap("c", t - 1)};
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(1, 0, 0, 0, 0)), ElementsAre("b", "c"));
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 1, 0, 0)), ElementsAre("b", "c"));
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 2, 0, 0, 0)), ElementsAre("b"));
}

TEST(ExpiredSnapshotsTest, UnsortedInputIsHandled) {
  std::vector<v1::Snapshot> snaps = {Snap("old", Ms("2024-01-01T00:00:00Z")),
                                     Snap("new", Ms("2024-01-03T00:00:00Z")),
                                     Snap("mid", Ms("2024-01-02T00:00:00Z"))};
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(1, 0, 0, 0, 0)), ElementsAre("old", "mid"));
}

TEST(ExpiredSnapshotsTest, TimesBefore1970) {
  auto snaps = Snaps({"1970-01-01T01:00:00Z", "1969-12-31T23:00:00Z", "1969-12-31T01:00:00Z"});
  EXPECT_THAT(ExpiredSnapshots(snaps, Rule(0, 0, 2, 0, 0)), ElementsAre("1969-12-31T01:00:00Z"));
  // 1969-12-29 (Mon) .. 1970-01-04 (Sun) is one ISO week.
  auto week = Snaps({"1970-01-04T23:00:00Z", "1969-12-29T00:00:00Z", "1969-12-28T23:59:59Z"});
  EXPECT_THAT(ExpiredSnapshots(week, Rule(0, 0, 0, 1, 0)),
              ElementsAre("1969-12-29T00:00:00Z", "1969-12-28T23:59:59Z"));
}

// An independent reference: ISO week-year and week number by the Thursday
// rule, months from civil time, buckets kept with an explicit set.
std::string IsoWeekKey(int64_t ms) {
  absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMillis(ms), absl::UTCTimeZone());
  int weekday = (static_cast<int>(absl::GetWeekday(day)) + 7) % 7;  // Monday = 0
  absl::CivilDay thursday = day - weekday + 3;
  int week = (absl::GetYearDay(thursday) - 1) / 7 + 1;
  return absl::StrCat(thursday.year(), "-W", week);
}

std::vector<std::string> Reference(const std::vector<v1::Snapshot>& newest_first,
                                   const v1::RetentionRule& rule) {
  if (!HasRetention(rule)) return {};
  std::set<std::string> keep;
  for (size_t i = 0; i < newest_first.size() && i < rule.keep_last(); ++i) {
    keep.insert(newest_first[i].id());
  }
  auto per = [&](uint32_t n, auto key_of) {
    std::set<std::string> buckets;
    for (const v1::Snapshot& s : newest_first) {
      std::string key = key_of(s.created_unix_ms());
      if (buckets.count(key) > 0) continue;
      if (buckets.size() == n) break;
      buckets.insert(key);
      keep.insert(s.id());
    }
  };
  auto civil = [](int64_t ms) {
    return absl::ToCivilSecond(absl::FromUnixMillis(ms), absl::UTCTimeZone());
  };
  per(rule.keep_hourly(),
      [&](int64_t ms) { return absl::FormatCivilTime(absl::CivilHour(civil(ms))); });
  per(rule.keep_daily(),
      [&](int64_t ms) { return absl::FormatCivilTime(absl::CivilDay(civil(ms))); });
  per(rule.keep_weekly(), IsoWeekKey);
  per(rule.keep_monthly(),
      [&](int64_t ms) { return absl::FormatCivilTime(absl::CivilMonth(civil(ms))); });
  std::vector<std::string> expired;
  for (const v1::Snapshot& s : newest_first) {
    if (keep.count(s.id()) == 0) expired.push_back(s.id());
  }
  return expired;
}

TEST(ExpiredSnapshotsTest, AgreesWithAnIndependentReference) {
  std::mt19937_64 rng(20240601);
  const int64_t start = Ms("2019-12-20T00:00:00Z");
  for (int round = 0; round < 300; ++round) {
    // Clustered times: many in some hours and days, gaps elsewhere.
    int n = static_cast<int>(rng() % 60);
    int64_t span = int64_t{1} << (20 + rng() % 18);  // ~17 minutes to ~8 years
    std::vector<int64_t> times;
    for (int i = 0; i < n; ++i) times.push_back(start + static_cast<int64_t>(rng() % span));
    std::sort(times.rbegin(), times.rend());
    std::vector<v1::Snapshot> snaps;
    for (int i = 0; i < n; ++i) snaps.push_back(Snap(absl::StrCat("s", i), times[i]));
    v1::RetentionRule rule = Rule(rng() % 4, rng() % 5, rng() % 5, rng() % 5, rng() % 5);
    ASSERT_EQ(ExpiredSnapshots(snaps, rule), Reference(snaps, rule))
        << "round " << round << " rule " << rule.ShortDebugString();
  }
}

TEST(PolicyCoversTest, GlobsRootsAndAgentRoots) {
  v1::Policy p;
  p.add_agents("gpu-*");
  p.add_roots("/data/");
  EXPECT_TRUE(PolicyCovers(p, "gpu-01", "/data", {}));
  EXPECT_TRUE(PolicyCovers(p, "gpu-01", "/data/", {}));
  EXPECT_FALSE(PolicyCovers(p, "cpu-01", "/data", {}));
  EXPECT_FALSE(PolicyCovers(p, "gpu-01", "/data/sub", {}));
  v1::Policy all;
  all.add_agents("*");
  EXPECT_TRUE(PolicyCovers(all, "x", "/ckpt", {"/ckpt", "/logs"}));
  EXPECT_FALSE(PolicyCovers(all, "x", "/other", {"/ckpt", "/logs"}));
  EXPECT_FALSE(PolicyCovers(all, "x", "/ckpt", {}));
}

// A real catalog with snapshots at chosen times.
class PruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("prune");
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_ + "-catalog.db"));
    for (const char* agent : {"gpu-1", "gpu-2"}) {
      v1::AgentInfo info;
      info.set_name(agent);
      info.set_tenant("t");
      info.add_roots("/data");
      ASSERT_OK(catalog_->agents().Upsert(info));
    }
  }

  std::string Add(absl::string_view agent, absl::string_view root, absl::string_view when) {
    int n = ++added_;
    v1::Job job;
    job.set_id(absl::StrCat("j-", n));
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_agent(std::string(agent));
    EXPECT_OK(catalog_->jobs().Insert(job, 0));
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    v1::Snapshot s;
    s.set_id(absl::StrCat("s-", n));
    s.set_agent(std::string(agent));
    s.set_tenant("t");
    s.add_roots(std::string(root));
    s.set_root_tree_id(std::string(32, 'r'));
    s.set_created_unix_ms(Ms(when));
    s.set_job_id(job.id());
    job.set_snapshot_id(s.id());
    EXPECT_TRUE(catalog_->snapshots().Commit(s, job).ok());
    return s.id();
  }

  std::vector<std::string> Remaining() {
    absl::StatusOr<std::vector<v1::Snapshot>> all =
        catalog_->snapshots().List("", std::numeric_limits<uint32_t>::max());
    EXPECT_TRUE(all.ok());
    std::vector<std::string> ids;
    for (const v1::Snapshot& s : *all) ids.push_back(s.id());
    return ids;
  }

  static v1::Policy Policy(absl::string_view name, absl::string_view agents,
                           const v1::RetentionRule& rule) {
    v1::Policy p;
    p.set_name(std::string(name));
    p.add_agents(std::string(agents));
    p.add_roots("/data");
    *p.mutable_retention() = rule;
    return p;
  }

  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
  int added_ = 0;
};

TEST_F(PruneTest, KeepLastAndDailyDeleteTheRest) {
  std::string d1a = Add("gpu-1", "/data", "2024-01-01T08:00:00Z");
  std::string d1b = Add("gpu-1", "/data", "2024-01-01T20:00:00Z");
  std::string d2 = Add("gpu-1", "/data", "2024-01-02T08:00:00Z");
  std::string d3a = Add("gpu-1", "/data", "2024-01-03T08:00:00Z");
  std::string d3b = Add("gpu-1", "/data", "2024-01-03T09:00:00Z");
  std::string other_root = Add("gpu-1", "/scratch", "2023-01-01T00:00:00Z");
  std::vector<v1::Policy> policies = {Policy("p", "gpu-*", Rule(1, 0, 2, 0, 0))};

  v1::PruneRequest dry;
  dry.set_dry_run(true);
  ASSERT_OK_AND_ASSIGN(v1::PruneResponse preview,
                       PruneSnapshots(catalog_.get(), policies, dry, absl::Now()));
  EXPECT_THAT(preview.expired_snapshot_ids(), UnorderedElementsAre(d1a, d1b, d3a));
  EXPECT_EQ(preview.kept(), 3u);
  EXPECT_EQ(Remaining().size(), 6u) << "a dry run deletes nothing";

  ASSERT_OK_AND_ASSIGN(v1::PruneResponse done,
                       PruneSnapshots(catalog_.get(), policies, v1::PruneRequest(), absl::Now()));
  EXPECT_THAT(done.expired_snapshot_ids(), UnorderedElementsAre(d1a, d1b, d3a));
  EXPECT_THAT(Remaining(), UnorderedElementsAre(d3b, d2, other_root));
  // The job stays, with a note.
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, catalog_->jobs().Get("j-1"));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_THAT(job->error(), ::testing::HasSubstr("expired by the retention of policy p"));
  // Pruning again finds nothing more.
  ASSERT_OK_AND_ASSIGN(v1::PruneResponse again,
                       PruneSnapshots(catalog_.get(), policies, v1::PruneRequest(), absl::Now()));
  EXPECT_THAT(again.expired_snapshot_ids(), IsEmpty());
}

TEST_F(PruneTest, KeptByAnyCoveringPolicy) {
  std::vector<std::string> ids;
  for (int day = 1; day <= 5; ++day) {
    ids.push_back(Add("gpu-1", "/data", absl::StrCat("2024-01-0", day, "T00:00:00Z")));
  }
  std::vector<v1::Policy> policies = {Policy("short", "gpu-1", Rule(1, 0, 0, 0, 0)),
                                      Policy("long", "gpu-*", Rule(3, 0, 0, 0, 0))};
  ASSERT_OK_AND_ASSIGN(v1::PruneResponse r,
                       PruneSnapshots(catalog_.get(), policies, v1::PruneRequest(), absl::Now()));
  EXPECT_THAT(r.expired_snapshot_ids(), UnorderedElementsAre(ids[0], ids[1]));

  // A covering policy without retention keeps everything.
  policies.push_back(Policy("forever", "*", v1::RetentionRule()));
  ASSERT_OK_AND_ASSIGN(r,
                       PruneSnapshots(catalog_.get(), policies, v1::PruneRequest(), absl::Now()));
  EXPECT_THAT(r.expired_snapshot_ids(), IsEmpty());
}

TEST_F(PruneTest, UncoveredSnapshotsNeverExpireAndAgentFilterApplies) {
  std::string a1 = Add("gpu-1", "/data", "2024-01-01T00:00:00Z");
  std::string a2 = Add("gpu-1", "/data", "2024-01-02T00:00:00Z");
  std::string b1 = Add("gpu-2", "/data", "2024-01-01T00:00:00Z");
  std::string b2 = Add("gpu-2", "/data", "2024-01-02T00:00:00Z");
  std::vector<v1::Policy> policies = {Policy("p", "gpu-*", Rule(1, 0, 0, 0, 0))};
  ASSERT_OK_AND_ASSIGN(v1::PruneResponse none,
                       PruneSnapshots(catalog_.get(), {}, v1::PruneRequest(), absl::Now()));
  EXPECT_THAT(none.expired_snapshot_ids(), IsEmpty());
  EXPECT_EQ(none.kept(), 4u);

  v1::PruneRequest only;
  only.set_agent("gpu-2");
  ASSERT_OK_AND_ASSIGN(v1::PruneResponse r,
                       PruneSnapshots(catalog_.get(), policies, only, absl::Now()));
  EXPECT_THAT(r.expired_snapshot_ids(), ElementsAre(b1));
  EXPECT_EQ(r.kept(), 1u);
  EXPECT_THAT(Remaining(), UnorderedElementsAre(a1, a2, b2));

  v1::PruneRequest bad;
  bad.set_agent("no/such");
  EXPECT_EQ(PruneSnapshots(catalog_.get(), policies, bad, absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn

#include "server/schedule/cron.h"

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

TEST(CronTest, EveryMinute) {
  auto s = CronSchedule::Parse("* * * * *");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->NextAfter(Utc(2026, 1, 1, 0, 0)), Utc(2026, 1, 1, 0, 1));
  // Strictly after: a time inside a matching minute gives the next one.
  EXPECT_EQ(s->NextAfter(Utc(2026, 1, 1, 0, 0) + absl::Seconds(30)), Utc(2026, 1, 1, 0, 1));
}

TEST(CronTest, WeeklySundayAtThree) {
  auto s = CronSchedule::Parse("0 3 * * 0");
  ASSERT_TRUE(s.ok());
  // 2026-11-25 is a Wednesday; the next Sunday is the 29th.
  EXPECT_EQ(s->NextAfter(Utc(2026, 11, 25, 12, 0)), Utc(2026, 11, 29, 3, 0));
  // 7 means Sunday too.
  auto seven = CronSchedule::Parse("0 3 * * 7");
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(seven->NextAfter(Utc(2026, 11, 25, 12, 0)), Utc(2026, 11, 29, 3, 0));
}

TEST(CronTest, RangesListsAndSteps) {
  auto s = CronSchedule::Parse("*/15 9-17 * * 1-5");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->NextAfter(Utc(2026, 11, 27, 17, 45)), Utc(2026, 11, 30, 9, 0));  // Fri -> Mon
  EXPECT_EQ(s->NextAfter(Utc(2026, 11, 30, 9, 0)), Utc(2026, 11, 30, 9, 15));
  auto list = CronSchedule::Parse("5,35 0 1,15 * *");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->NextAfter(Utc(2026, 11, 25, 0, 0)), Utc(2026, 12, 1, 0, 5));
}

TEST(CronTest, BothDayFieldsMatchEither) {
  // Classic cron: day 1 of the month OR any Monday.
  auto s = CronSchedule::Parse("0 0 1 * 1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->NextAfter(Utc(2026, 11, 25, 0, 0)), Utc(2026, 11, 30, 0, 0));  // Monday
  EXPECT_EQ(s->NextAfter(Utc(2026, 11, 30, 0, 0)), Utc(2026, 12, 1, 0, 0));   // the 1st
}

TEST(CronTest, LeapDay) {
  auto s = CronSchedule::Parse("0 12 29 2 *");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->NextAfter(Utc(2026, 11, 25, 0, 0)), Utc(2028, 2, 29, 12, 0));
}

TEST(CronTest, RejectsMalformedSpecs) {
  for (const char* bad : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
                          "* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * * 8", "a * * * *",
                          "*/0 * * * *", "5-1 * * * *", "1-2-3 * * * *", "*/x * * * *"}) {
    EXPECT_FALSE(CronSchedule::Parse(bad).ok()) << "\"" << bad << "\"";
  }
}

}  // namespace
}  // namespace cairn

// ProgressThrottle: not due before its period has passed, due once it has;
// a zero period is always due. Only lower bounds on time are relied on (a
// sleep of at least the period), never an upper bound.
#include "agent/progress_throttle.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(ProgressThrottleTest, NotDueBeforeItsPeriod) {
  ProgressThrottle hourly(absl::Hours(1));
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(hourly.Due()) << i;
  absl::Time start = absl::Now();
  ProgressThrottle default_period;  // one second
  bool due = default_period.Due();
  // Less than a second since before construction: it cannot be due yet.
  if (absl::Now() - start < absl::Seconds(1)) {
    EXPECT_FALSE(due);
  }
}

TEST(ProgressThrottleTest, DueOnceThePeriodHasPassed) {
  ProgressThrottle throttle(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(2));
  EXPECT_TRUE(throttle.Due());
  absl::SleepFor(absl::Milliseconds(2));
  EXPECT_TRUE(throttle.Due());
}

TEST(ProgressThrottleTest, AZeroPeriodIsAlwaysDue) {
  ProgressThrottle always(absl::ZeroDuration());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(always.Due()) << i;
}

TEST(ProgressThrottleTest, DueRestartsThePeriod) {
  // Due at most once per period: however fast or slow the loop runs, the
  // calls that were due are at most one plus the milliseconds it took.
  ProgressThrottle throttle(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(2));
  int due = 0;
  absl::Time start = absl::Now();
  for (int i = 0; i < 100; ++i) due += throttle.Due() ? 1 : 0;
  absl::Duration took = absl::Now() - start;
  // At least the first call was due; at most one per elapsed millisecond after it.
  EXPECT_GE(due, 1);
  EXPECT_LE(due, 1 + absl::ToInt64Milliseconds(took));
}

}  // namespace
}  // namespace cairn

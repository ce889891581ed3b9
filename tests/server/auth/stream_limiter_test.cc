// StreamLimiter: each agent holds at most the limit of slots at once, the
// next is refused with RESOURCE_EXHAUSTED naming the agent and the limit's
// config key, a slot given back (its Slot destroyed, moved-from slots giving
// back nothing) can be taken again, and agents do not share slots.
#include "server/auth/stream_limiter.h"

#include <optional>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

TEST(StreamLimiterTest, TheSlotPastTheLimitIsRefused) {
  StreamLimiter limiter(2);
  std::vector<StreamLimiter::Slot> held;
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(StreamLimiter::Slot slot, limiter.Acquire("gpu-07"));
    held.push_back(std::move(slot));
  }
  EXPECT_EQ(limiter.open("gpu-07"), 2u);
  absl::StatusOr<StreamLimiter::Slot> third = limiter.Acquire("gpu-07");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  EXPECT_THAT(third.status().message(), HasSubstr("gpu-07 already has 2 streams open"));
  EXPECT_THAT(third.status().message(), HasSubstr("limits.max_streams_per_agent"));
  EXPECT_EQ(limiter.open("gpu-07"), 2u) << "a refusal took a slot";
}

TEST(StreamLimiterTest, AReleasedSlotCanBeTakenAgain) {
  StreamLimiter limiter(1);
  {
    ASSERT_OK_AND_ASSIGN(StreamLimiter::Slot slot, limiter.Acquire("a1"));
    EXPECT_EQ(limiter.Acquire("a1").status().code(), absl::StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(limiter.open("a1"), 0u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(StreamLimiter::Slot slot, limiter.Acquire("a1"));
    EXPECT_EQ(limiter.open("a1"), 1u);
  }
  EXPECT_EQ(limiter.open("a1"), 0u);
}

TEST(StreamLimiterTest, AMovedSlotIsReleasedOnceByItsLastOwner) {
  StreamLimiter limiter(2);
  std::optional<StreamLimiter::Slot> outer;
  {
    ASSERT_OK_AND_ASSIGN(StreamLimiter::Slot slot, limiter.Acquire("a1"));
    outer.emplace(std::move(slot));
    ASSERT_OK_AND_ASSIGN(StreamLimiter::Slot second, limiter.Acquire("a1"));
    EXPECT_EQ(limiter.open("a1"), 2u);
  }
  // `second` went back; the moved-from `slot` gave back nothing.
  EXPECT_EQ(limiter.open("a1"), 1u);
  outer.reset();
  EXPECT_EQ(limiter.open("a1"), 0u);
}

TEST(StreamLimiterTest, AgentsHaveSlotsOfTheirOwn) {
  StreamLimiter limiter(1);
  ASSERT_OK_AND_ASSIGN(StreamLimiter::Slot a, limiter.Acquire("a1"));
  ASSERT_OK_AND_ASSIGN(StreamLimiter::Slot b, limiter.Acquire("a2"));
  EXPECT_EQ(limiter.Acquire("a1").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.Acquire("a2").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.open("a1"), 1u);
  EXPECT_EQ(limiter.open("a3"), 0u);
}

TEST(StreamLimiterTest, ALimitOfZeroAdmitsNothing) {
  StreamLimiter limiter(0);
  EXPECT_EQ(limiter.Acquire("a1").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.open("a1"), 0u);
}

}  // namespace
}  // namespace cairn

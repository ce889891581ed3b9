// IsFinished: exactly SUCCEEDED, PARTIAL, FAILED and CANCELLED are final,
// checked against every value of the JobState enum.
#include "common/job_states.h"

#include <set>

#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(JobStatesTest, ExactlyTheEndStatesAreFinished) {
  const std::set<v1::JobState> finished = {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_PARTIAL,
                                           v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED};
  const google::protobuf::EnumDescriptor* states = v1::JobState_descriptor();
  ASSERT_GE(states->value_count(), 7);
  for (int i = 0; i < states->value_count(); ++i) {
    const auto state = static_cast<v1::JobState>(states->value(i)->number());
    EXPECT_EQ(IsFinished(state), finished.count(state) == 1) << states->value(i)->name();
  }
}

TEST(JobStatesTest, UnknownValuesAreNotFinished) {
  // A newer peer may send a state this build does not know: still running.
  EXPECT_FALSE(IsFinished(static_cast<v1::JobState>(99)));
  EXPECT_FALSE(IsFinished(static_cast<v1::JobState>(-1)));
}

}  // namespace
}  // namespace cairn

// The one definition of which job states are final, shared by the server
// (finishing, watching and dispatching jobs) and cairnctl (following one).
#ifndef CAIRN_COMMON_JOB_STATES_H_
#define CAIRN_COMMON_JOB_STATES_H_

#include "cairn/v1/types.pb.h"

namespace cairn {

// SUCCEEDED, PARTIAL, FAILED and CANCELLED: the job will not change again.
inline bool IsFinished(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_PARTIAL ||
         state == v1::JOB_STATE_FAILED || state == v1::JOB_STATE_CANCELLED;
}

}  // namespace cairn

#endif  // CAIRN_COMMON_JOB_STATES_H_

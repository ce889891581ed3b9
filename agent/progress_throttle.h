// Says when a long job should report progress again: at most once per
// period, so a job of a million small files does not send a million updates.
//
//   ProgressThrottle throttle;
//   if (throttle.Due()) options.progress(progress);
#ifndef CAIRN_AGENT_PROGRESS_THROTTLE_H_
#define CAIRN_AGENT_PROGRESS_THROTTLE_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cairn {

class ProgressThrottle final {
 public:
  explicit ProgressThrottle(absl::Duration every = absl::Seconds(1))
      : every_(every), last_(absl::Now()) {}
  // True (and the period restarts) once `every` has passed since the last time.
  bool Due() {
    absl::Time now = absl::Now();
    if (now - last_ < every_) return false;
    last_ = now;
    return true;
  }

 private:
  absl::Duration every_;
  absl::Time last_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_PROGRESS_THROTTLE_H_

// Writes the audit log: who did what, on what, when, and how it ended. Admin
// actions are recorded whatever their outcome; refused calls always, up to
// kMaxRefusalsPerWindow in each ten seconds (a caller hammering the port
// cannot fill the disk): the rest are counted and the count is recorded when
// the next window opens. A failure to write is reported on stderr and does
// not fail the call.
//
//   audit.Record(caller, context->peer(), method, "agent=gpu-07", status);
#ifndef CAIRN_SERVER_AUTH_AUDIT_LOG_H_
#define CAIRN_SERVER_AUTH_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/auth/caller.h"
#include "server/catalog/audit_store.h"

namespace cairn {

class AuditLog final {
 public:
  static constexpr int kMaxRefusalsPerWindow = 100;
  static constexpr absl::Duration kWindow = absl::Seconds(10);

  AuditLog(AuditStore* store, std::function<absl::Time()> clock = absl::Now)
      : store_(store), clock_(std::move(clock)) {}

  void Record(const Caller& caller, absl::string_view peer, absl::string_view method,
              absl::string_view resource, const absl::Status& outcome);
  // How many refusals were counted but not written so far (tests).
  uint64_t suppressed_total();

 private:
  // Whether a call (`refused` or not) may be written now: successes always
  // may. The first call after a window that suppressed refusals, whatever
  // its outcome, opens a new window and writes the count of the one before.
  bool Admit(bool refused);

  AuditStore* store_;
  std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int refusals_in_window_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t suppressed_in_window_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t suppressed_total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_AUDIT_LOG_H_

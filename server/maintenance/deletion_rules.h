// When a snapshot may be deleted, for prune and delete alike: never while it
// is protected (`cairnctl snapshot protect`), and never before it is
// `min_retention` old — the retention lock, set in the server's config file
// (min_retention_days) and changeable by no RPC, so that a stolen admin
// credential cannot destroy the last days of backups.
//
//   RETURN_IF_ERROR(MayDelete(snapshot, rules, now));
#ifndef CAIRN_SERVER_MAINTENANCE_DELETION_RULES_H_
#define CAIRN_SERVER_MAINTENANCE_DELETION_RULES_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

struct DeletionRules {
  absl::Duration min_retention = absl::ZeroDuration();
};

// OK when `snapshot` may be deleted at `now`; FailedPrecondition saying why
// not (protected; or locked, with the time the lock ends).
absl::Status MayDelete(const v1::Snapshot& snapshot, const DeletionRules& rules, absl::Time now);

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_DELETION_RULES_H_

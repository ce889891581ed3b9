// Verify jobs: an agent reads its snapshots' chunks back with its key. One
// rule for what such a job covers, whoever orders it (an admin with
// `cairnctl verify --agent A`, or a policy's schedule): the snapshot named,
// or the agent's newest snapshot of each root.
//
//   ASSIGN_OR_RETURN(v1::Job job, MakeVerifyJob(catalog, "gpu-07", "", 10));
//   ASSIGN_OR_RETURN(job, jobs->Create(job));
#ifndef CAIRN_SERVER_SCHEDULE_VERIFY_JOBS_H_
#define CAIRN_SERVER_SCHEDULE_VERIFY_JOBS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/catalog.h"

namespace cairn {

inline constexpr int kMaxVerifySnapshots = 64;

// A queued verify job for `agent` (not yet stored). NotFound for an unknown
// agent or snapshot; PermissionDenied for a snapshot of another tenant;
// FailedPrecondition when the agent has no snapshot yet; InvalidArgument
// for a sample outside 0..100.
absl::StatusOr<v1::Job> MakeVerifyJob(Catalog* catalog, const std::string& agent,
                                      const std::string& snapshot_id, uint32_t sample_percent);

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_VERIFY_JOBS_H_

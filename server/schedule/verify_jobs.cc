#include "server/schedule/verify_jobs.h"

#include <limits>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<v1::Job> MakeVerifyJob(Catalog* catalog, const std::string& agent,
                                      const std::string& snapshot_id, uint32_t sample_percent) {
  if (sample_percent > 100) {
    return absl::InvalidArgumentError("the sample is a percentage: 1 to 100 (0 = all)");
  }
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> info, catalog->agents().Get(agent));
  if (!info.has_value()) {
    return absl::NotFoundError(absl::StrCat("no agent ", agent, "; see `cairnctl agents`"));
  }
  v1::Job job;
  job.set_kind(v1::JOB_KIND_VERIFY);
  job.set_state(v1::JOB_STATE_QUEUED);
  job.set_agent(agent);
  v1::VerifyOrder* order = job.mutable_verify();
  order->set_sample_percent(sample_percent);
  if (!snapshot_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot, catalog->snapshots().Get(snapshot_id));
    if (!snapshot.has_value())
      return absl::NotFoundError(absl::StrCat("no snapshot ", snapshot_id));
    if (snapshot->tenant() != info->tenant()) {
      return absl::PermissionDeniedError(
          absl::StrCat("agent ", agent, " is of tenant ", info->tenant(), " and cannot read ",
                       snapshot->tenant(), "'s snapshot (it lacks the key)"));
    }
    order->add_snapshot_ids(snapshot_id);
    job.set_snapshot_id(snapshot_id);
    return job;
  }
  ASSIGN_OR_RETURN(std::vector<v1::Snapshot> snapshots,
                   catalog->snapshots().List(agent, std::numeric_limits<uint32_t>::max()));
  absl::flat_hash_set<std::string> roots;
  for (const v1::Snapshot& s : snapshots) {  // newest first
    if (order->snapshot_ids_size() >= kMaxVerifySnapshots) break;
    if (roots.insert(s.roots_size() > 0 ? s.roots(0) : "").second) {
      order->add_snapshot_ids(s.id());
    }
  }
  if (order->snapshot_ids().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent ", agent, " has no snapshot to verify yet"));
  }
  job.set_snapshot_id(order->snapshot_ids(0));
  return job;
}

}  // namespace cairn

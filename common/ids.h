// Random identifiers for jobs and snapshots ("j-" / "s-" + 16 hex digits),
// and validation of agent and tenant names.
#ifndef CAIRN_COMMON_IDS_H_
#define CAIRN_COMMON_IDS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cairn {

std::string NewJobId();
std::string NewSnapshotId();
// The id of the snapshot job `job_id` ("j-<hex>") commits: "s-<hex>". The
// agent knows it from the job's start and signs it (common/manifest_mac.h).
std::string SnapshotIdForJob(absl::string_view job_id);
// [A-Za-z0-9._-]{1,64}; `what` names the field in the error.
absl::Status ValidateAgentName(absl::string_view name, absl::string_view what);
// Hex of arbitrary bytes (lower case).
std::string HexOf(absl::string_view bytes);

}  // namespace cairn

#endif  // CAIRN_COMMON_IDS_H_

// Retention: which snapshots a policy's RetentionRule lets go, and the prune
// that deletes them. ExpiredSnapshots is pure arithmetic (restic "forget"
// semantics, UTC buckets); PruneSnapshots applies every policy to the catalog.
// Pruning deletes snapshot rows only; the data goes with the next GC.
//
//   std::vector<std::string> gone = ExpiredSnapshots(newest_first, policy.retention());
//   ASSIGN_OR_RETURN(v1::PruneResponse r, PruneSnapshots(catalog, policies, request, absl::Now()));
#ifndef CAIRN_SERVER_MAINTENANCE_RETENTION_H_
#define CAIRN_SERVER_MAINTENANCE_RETENTION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/v1/admin.pb.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/catalog.h"
#include "server/maintenance/deletion_rules.h"

namespace cairn {

// The ids of the snapshots `rule` does not keep, in input order. The input is
// the snapshots of one (agent, root), newest first (equal times: the earlier
// in the list counts as newer). Kept are the newest keep_last, and for each of
// hourly, daily, weekly (ISO weeks, Monday to Sunday) and monthly the newest
// snapshot of each of the N most recent periods that hold a snapshot; a
// snapshot kept by any rule is kept. A rule of all zeros keeps everything.
std::vector<std::string> ExpiredSnapshots(const std::vector<v1::Snapshot>& newest_first,
                                          const v1::RetentionRule& rule);

// True when `rule` would let anything go (some count is non-zero).
bool HasRetention(const v1::RetentionRule& rule);

// Whether `policy` covers snapshots of `root` on `agent`: one of its agent
// globs matches and `root` is one of its roots, or, for a policy without
// roots, one of `agent_roots` (the agent's configured roots, as the scheduler
// reads it). A trailing '/' is ignored.
bool PolicyCovers(const v1::Policy& policy, absl::string_view agent, absl::string_view root,
                  const std::vector<std::string>& agent_roots);

// Applies `policies` to the snapshots of every agent (or request.agent()):
// per (agent, root), a snapshot expires when at least one policy with a
// non-zero retention covers it and every covering policy lets it go. Unless
// request.dry_run(), the expired snapshots are deleted in one transaction and
// their jobs keep a note naming the policy and `now`. A snapshot `rules`
// hold (protected, or under the retention lock) stays and is listed as held.
// `kept` counts the snapshots in scope that remain.
absl::StatusOr<v1::PruneResponse> PruneSnapshots(Catalog* catalog,
                                                 const std::vector<v1::Policy>& policies,
                                                 const v1::PruneRequest& request, absl::Time now,
                                                 const DeletionRules& rules = {});

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_RETENTION_H_

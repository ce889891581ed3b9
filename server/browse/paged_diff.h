// What two versions of one paged directory (common/tree_pages.h) do not
// share, without reading what they do: every node whose id is on both sides
// holds the same entries in the same name range, so it is left out of both
// with everything below it, level by level from the top. What remains are
// the leaves that hold a difference, whose entries the caller merges as
// usual. A diff of a directory of a million entries with one change reads a
// few nodes a side instead of fifty thousand.
//
//   ASSIGN_OR_RETURN(std::optional<DifferingLeaves> d, DifferingLeaves::Of(a, b, load, 1024));
//   if (!d.has_value()) { ... too many differ: merge whole directories ... }
#ifndef CAIRN_SERVER_BROWSE_PAGED_DIFF_H_
#define CAIRN_SERVER_BROWSE_PAGED_DIFF_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/v1/types.pb.h"
#include "common/tree_pages.h"

namespace cairn {

struct DifferingLeaves {
  // The entries of each side's differing leaves, in name order (checked:
  // strictly increasing, else DataLoss).
  std::vector<v1::TreeEntry> a;
  std::vector<v1::TreeEntry> b;

  // nullopt when more than `max_leaves` leaves differ (then merging the
  // whole directories costs about as much, in bounded memory).
  static absl::StatusOr<std::optional<DifferingLeaves>> Of(v1::Tree a, v1::Tree b,
                                                           const TreeIterator::Load& load,
                                                           size_t max_leaves);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_BROWSE_PAGED_DIFF_H_

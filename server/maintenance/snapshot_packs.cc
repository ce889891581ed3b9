#include "server/maintenance/snapshot_packs.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "server/ingest/tree_validator.h"

namespace cairn {

absl::Status WalkSnapshotPacks(
    Catalog* catalog, const std::vector<const v1::Snapshot*>& snapshots,
    const std::function<void(const v1::Snapshot&, int64_t pack_id)>& on_pack,
    std::vector<std::string>* problems) {
  absl::flat_hash_map<int64_t, absl::flat_hash_set<std::string>> seen;  // per tenant
  for (const v1::Snapshot* snapshot : snapshots) {
    ASSIGN_OR_RETURN(int64_t tenant, catalog->agents().TenantId(snapshot->tenant()));
    absl::flat_hash_set<std::string>& visited = seen[tenant];
    std::vector<std::string> stack{snapshot->root_tree_id()};
    while (!stack.empty()) {
      std::string id = std::move(stack.back());
      stack.pop_back();
      if (!visited.insert(id).second) continue;
      ASSIGN_OR_RETURN(std::optional<std::string> bytes, catalog->trees().Get(tenant, id));
      absl::StatusOr<TreeReferences> refs =
          bytes.has_value() ? CheckTree(*bytes) : absl::NotFoundError("not stored");
      if (!refs.ok()) {
        problems->push_back(absl::StrCat("snapshot ", snapshot->id(), ": tree ", HexOf(id), ": ",
                                         refs.status().message()));
        continue;
      }
      for (std::string& sub : refs->subtree_ids) stack.push_back(std::move(sub));
      ASSIGN_OR_RETURN(std::vector<std::optional<ChunkLocation>> located,
                       catalog->chunks().LocateMany(tenant, refs->chunk_ids));
      for (const std::optional<ChunkLocation>& where : located) {
        if (where.has_value()) on_pack(*snapshot, where->pack_id);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> NewestUseOfPacks(
    Catalog* catalog, std::vector<std::string>* problems) {
  ASSIGN_OR_RETURN(std::vector<v1::Snapshot> snapshots,
                   catalog->snapshots().List("", std::numeric_limits<uint32_t>::max()));
  std::vector<const v1::Snapshot*> newest_first;
  for (const v1::Snapshot& s : snapshots) newest_first.push_back(&s);
  std::stable_sort(newest_first.begin(), newest_first.end(), [](const auto* a, const auto* b) {
    return a->created_unix_ms() > b->created_unix_ms();
  });
  absl::flat_hash_map<int64_t, int64_t> newest;
  RETURN_IF_ERROR(WalkSnapshotPacks(
      catalog, newest_first,
      [&newest](const v1::Snapshot& s, int64_t pack) {
        int64_t& t = newest[pack];
        t = std::max(t, s.created_unix_ms());
      },
      problems));
  return newest;
}

}  // namespace cairn

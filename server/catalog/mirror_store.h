// What the metadata mirror (server/recovery/metadata_mirror.h) needs of the
// catalog: the trees no tree pack on the tiers holds yet, the tree packs the
// catalog still refers to, and the snapshot ids whose records belong on the
// tiers. The mirror's objects let `cairn-server --rebuild-catalog` bring
// every snapshot back after every catalog copy is lost.
//
//   ASSIGN_OR_RETURN(std::vector<TreeRow> trees, catalog->mirror().Unmirrored(tenant, 32 << 20));
//   ... write them to a tree pack on the tiers ...
//   RETURN_IF_ERROR(catalog->mirror().MarkMirrored(tenant, ids, pack_name));
#ifndef CAIRN_SERVER_CATALOG_MIRROR_STORE_H_
#define CAIRN_SERVER_CATALOG_MIRROR_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "server/catalog/records.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

struct TenantName {
  int64_t id = 0;
  std::string name;
};

class MirrorStore final {
 public:
  explicit MirrorStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  // Tenants that have trees no tree pack holds yet.
  absl::StatusOr<std::vector<TenantName>> TenantsWithUnmirrored();
  // Up to about `max_bytes` of the tenant's trees no tree pack holds yet
  // (at least one when there is any), in the order they were stored: a
  // directory's nodes and its neighbours' side by side, which is what makes
  // a tree pack's groups compress (by id, the order is random: 20% larger).
  absl::StatusOr<std::vector<TreeRow>> Unmirrored(int64_t tenant, uint64_t max_bytes);
  // Records that tree pack `pack` holds these trees of the tenant.
  absl::Status MarkMirrored(int64_t tenant, absl::Span<const std::string> ids,
                            absl::string_view pack);
  // Every tree pack name some tree is recorded in, sorted.
  absl::StatusOr<std::vector<std::string>> TreePacks();
  // The trees recorded in tree pack `pack`, and their tenant (a tree pack
  // holds one tenant's trees).
  absl::StatusOr<std::pair<TenantName, std::vector<TreeRow>>> TreesIn(absl::string_view pack);
  // Every snapshot id, sorted.
  absl::StatusOr<std::vector<std::string>> SnapshotIds();

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_MIRROR_STORE_H_

// Directory trees, stored once per tenant by content (id = SHA-256 of the
// serialized cairn.v1.Tree), so snapshots share every unchanged directory.
// A tree is written only after everything it names is stored (the ingest
// checks that); this store keeps the rows.
//
//   RETURN_IF_ERROR(catalog->trees().Put(tenant, {{id, bytes}}));
//   ASSIGN_OR_RETURN(std::optional<std::string> bytes, catalog->trees().Get(tenant, id));
#ifndef CAIRN_SERVER_CATALOG_TREE_STORE_H_
#define CAIRN_SERVER_CATALOG_TREE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/catalog/read_connection.h"
#include "server/catalog/records.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class TreeStore final {
 public:
  // `clock` stamps creation and update times. `reader` (read_connection.h)
  // serves FindMissing.
  TreeStore(std::unique_ptr<SqliteDb> db, std::function<absl::Time()> clock,
            std::unique_ptr<SqliteDb> reader)
      : db_(std::move(db)), clock_(std::move(clock)), reader_(std::move(reader)) {}

  // Indexes into `ids` of the trees this tenant lacks.
  absl::StatusOr<std::vector<uint32_t>> FindMissing(int64_t tenant,
                                                    absl::Span<const std::string> ids);
  // Stores (id, bytes) trees in one transaction (one fsync, not one per
  // tree). A tree already stored is left as it is.
  absl::Status Put(int64_t tenant, absl::Span<const std::pair<std::string, std::string>> trees);
  absl::StatusOr<std::optional<std::string>> Get(int64_t tenant, absl::string_view id);

  // --- For garbage collection ---
  // Trees after (tenant, id) in key order, with their bytes, until about
  // `max_bytes` (at least one tree).
  absl::StatusOr<std::vector<TreeRow>> Page(int64_t after_tenant, absl::string_view after_id,
                                            uint64_t max_bytes);
  // Deletes trees; returns how many were there.
  absl::StatusOr<uint64_t> Delete(absl::Span<const TenantObject> trees);

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  const std::function<absl::Time()> clock_;
  ReadConnection reader_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_TREE_STORE_H_

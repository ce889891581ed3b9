#include "server/catalog/tree_store.h"

#include <utility>

#include "common/status_macros.h"
#include "server/catalog/rows.h"
#include "server/catalog/tree_blob.h"

namespace cairn {

absl::StatusOr<std::vector<uint32_t>> TreeStore::FindMissing(int64_t tenant,
                                                             absl::Span<const std::string> ids) {
  return reader_.Run([&](SqliteDb* db) {
    return MissingIndexes(db, "SELECT 1 FROM trees WHERE tenant_id=? AND id=?", tenant, ids);
  });
}

absl::Status TreeStore::Put(int64_t tenant,
                            absl::Span<const std::pair<std::string, std::string>> trees) {
  // Compressed before the lock (tree_blob.h).
  std::vector<std::string> blobs;
  blobs.reserve(trees.size());
  for (const auto& [id, data] : trees) blobs.push_back(PackTreeBlob(data));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(
      SqliteStatement put,
      db_->Prepare(
          "INSERT OR IGNORE INTO trees(tenant_id, id, data, created_ms) VALUES(?, ?, ?, ?)"));
  const int64_t now_ms = absl::ToUnixMillis(clock_());
  for (size_t i = 0; i < trees.size(); ++i) {
    put.Reset();
    put.Bind(1, tenant);
    put.BindBlob(2, trees[i].first);
    put.BindBlob(3, blobs[i]);
    put.Bind(4, now_ms);
    RETURN_IF_ERROR(put.Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::optional<std::string>> TreeStore::Get(int64_t tenant, absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare("SELECT data FROM trees WHERE tenant_id=? AND id=?"));
  get.Bind(1, tenant);
  get.BindBlob(2, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return UnpackTreeBlob(get.ColumnBlob(0));
}

absl::StatusOr<std::vector<TreeRow>> TreeStore::Page(int64_t after_tenant,
                                                     absl::string_view after_id,
                                                     uint64_t max_bytes) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(
          "SELECT tenant_id, id, created_ms, data FROM trees WHERE (tenant_id, id) > (?, ?) "
          "ORDER BY tenant_id, id"));
  list.Bind(1, after_tenant);
  list.BindBlob(2, after_id);
  std::vector<TreeRow> trees;
  uint64_t bytes = 0;
  while (trees.empty() || bytes < max_bytes) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    TreeRow& tree = trees.emplace_back();
    tree.tenant = list.ColumnInt(0);
    tree.id = list.ColumnBlob(1);
    tree.created_ms = list.ColumnInt(2);
    ASSIGN_OR_RETURN(tree.data, UnpackTreeBlob(list.ColumnBlob(3)));
    bytes += tree.data.size() + tree.id.size() + 16;
  }
  return trees;
}

absl::StatusOr<uint64_t> TreeStore::Delete(absl::Span<const TenantObject> trees) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement del,
                   db_->Prepare("DELETE FROM trees WHERE tenant_id = ? AND id = ?"));
  uint64_t deleted = 0;
  for (const TenantObject& t : trees) {
    del.Reset();
    del.Bind(1, t.tenant);
    del.BindBlob(2, t.id);
    RETURN_IF_ERROR(del.Run());
    deleted += db_->Changes();
  }
  RETURN_IF_ERROR(txn.Commit());
  return deleted;
}

}  // namespace cairn

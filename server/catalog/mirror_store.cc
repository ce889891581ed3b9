#include "server/catalog/mirror_store.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/catalog/tree_blob.h"

namespace cairn {

absl::StatusOr<std::vector<TenantName>> MirrorStore::TenantsWithUnmirrored() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT id, name FROM tenants WHERE EXISTS (SELECT 1 FROM trees "
                                "WHERE tenant_id = tenants.id AND tier_pack IS NULL) ORDER BY id"));
  std::vector<TenantName> tenants;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    tenants.push_back({list.ColumnInt(0), list.ColumnText(1)});
  }
  return tenants;
}

absl::StatusOr<std::vector<TreeRow>> MirrorStore::Unmirrored(int64_t tenant, uint64_t max_bytes) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT id, created_ms, data FROM trees WHERE tier_pack IS NULL "
                                "AND tenant_id = ? ORDER BY rowid"));
  list.Bind(1, tenant);
  std::vector<TreeRow> trees;
  uint64_t bytes = 0;
  while (trees.empty() || bytes < max_bytes) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    TreeRow& tree = trees.emplace_back();
    tree.tenant = tenant;
    tree.id = list.ColumnBlob(0);
    tree.created_ms = list.ColumnInt(1);
    ASSIGN_OR_RETURN(tree.data, UnpackTreeBlob(list.ColumnBlob(2)));
    bytes += tree.data.size() + tree.id.size();
  }
  return trees;
}

absl::Status MirrorStore::MarkMirrored(int64_t tenant, absl::Span<const std::string> ids,
                                       absl::string_view pack) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement mark,
                   db_->Prepare("UPDATE trees SET tier_pack = ? WHERE tenant_id = ? AND id = ?"));
  for (const std::string& id : ids) {
    mark.Reset();
    mark.BindText(1, pack);
    mark.Bind(2, tenant);
    mark.BindBlob(3, id);
    RETURN_IF_ERROR(mark.Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::vector<std::string>> MirrorStore::TreePacks() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT DISTINCT tier_pack FROM trees WHERE tier_pack IS NOT NULL "
                                "ORDER BY tier_pack"));
  std::vector<std::string> packs;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    packs.push_back(list.ColumnText(0));
  }
  return packs;
}

absl::StatusOr<std::pair<TenantName, std::vector<TreeRow>>> MirrorStore::TreesIn(
    absl::string_view pack) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare("SELECT trees.tenant_id, tenants.name, trees.id, trees.created_ms, "
                   "trees.data FROM trees JOIN tenants ON tenants.id = trees.tenant_id "
                   "WHERE trees.tier_pack = ? ORDER BY trees.tenant_id, trees.id"));
  list.BindText(1, pack);
  std::pair<TenantName, std::vector<TreeRow>> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    if (out.second.empty()) {
      out.first = {list.ColumnInt(0), list.ColumnText(1)};
    } else if (out.first.id != list.ColumnInt(0)) {
      return absl::InternalError(
          absl::StrCat("tree pack ", pack, " is recorded for more than one tenant"));
    }
    TreeRow& tree = out.second.emplace_back();
    tree.tenant = out.first.id;
    tree.id = list.ColumnBlob(2);
    tree.created_ms = list.ColumnInt(3);
    ASSIGN_OR_RETURN(tree.data, UnpackTreeBlob(list.ColumnBlob(4)));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> MirrorStore::SnapshotIds() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare("SELECT id FROM snapshots ORDER BY id"));
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    ids.push_back(list.ColumnText(0));
  }
  return ids;
}

}  // namespace cairn

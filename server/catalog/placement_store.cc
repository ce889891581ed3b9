#include "server/catalog/placement_store.h"

#include <optional>
#include <utility>

#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "server/catalog/rows.h"

namespace cairn {
namespace {

// Is there a pack `id`, and its first tier.
absl::StatusOr<std::optional<std::string>> FirstTier(SqliteDb* db, int64_t pack_id) {
  ASSIGN_OR_RETURN(SqliteStatement get, db->Prepare("SELECT tier FROM packs WHERE id = ?"));
  get.Bind(1, pack_id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return get.ColumnText(0);
}

absl::Status InsertCopy(SqliteDb* db, int64_t pack_id, absl::string_view tier, absl::Time now) {
  ASSIGN_OR_RETURN(SqliteStatement add,
                   db->Prepare("INSERT OR IGNORE INTO pack_copies(pack_id, tier, created_ms) "
                               "VALUES(?, ?, ?)"));
  add.Bind(1, pack_id);
  add.BindText(2, tier);
  add.Bind(3, absl::ToUnixMillis(now));
  return add.Run();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> PlacementStore::Copies(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT tier FROM pack_copies WHERE pack_id = ? ORDER BY tier"));
  list.Bind(1, pack_id);
  return MapRows<std::string>(list, [](const SqliteStatement& row) { return row.ColumnText(0); });
}

absl::StatusOr<std::vector<PlacedPack>> PlacementStore::PacksOn(absl::string_view tier,
                                                                int64_t created_before_ms,
                                                                int64_t after, uint32_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare("SELECT p.id, p.tier, p.name, p.size, p.entries, p.quarantined, p.created_ms, "
                   "(SELECT group_concat(tier, ',') FROM "
                   "  (SELECT tier FROM pack_copies c WHERE c.pack_id = p.id ORDER BY tier)) "
                   "FROM packs p WHERE p.id > ?1 AND p.created_ms < ?2 AND "
                   "(p.tier = ?3 OR EXISTS (SELECT 1 FROM pack_copies c WHERE c.pack_id = p.id AND "
                   "c.tier = ?3)) ORDER BY p.id LIMIT ?4"));
  list.Bind(1, after);
  list.Bind(2, created_before_ms);
  list.BindText(3, tier);
  list.Bind(4, static_cast<int64_t>(limit));
  return MapRows<PlacedPack>(list, [](const SqliteStatement& row) {
    PlacedPack p;
    p.pack.id = row.ColumnInt(0);
    p.pack.tier = row.ColumnText(1);
    p.pack.name = row.ColumnText(2);
    p.pack.size = row.ColumnInt(3);
    p.pack.entries = row.ColumnInt(4);
    p.pack.quarantined = row.ColumnInt(5) != 0;
    p.created_ms = row.ColumnInt(6);
    p.locations.push_back(p.pack.tier);
    if (!row.ColumnIsNull(7)) {
      for (absl::string_view t : absl::StrSplit(row.ColumnText(7), ',')) {
        p.locations.emplace_back(t);
      }
    }
    return p;
  });
}

absl::StatusOr<bool> PlacementStore::AddCopy(int64_t pack_id, absl::string_view tier) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(std::optional<std::string> first, FirstTier(db_.get(), pack_id));
  if (!first.has_value()) return false;
  if (*first != tier) RETURN_IF_ERROR(InsertCopy(db_.get(), pack_id, tier, clock_()));
  RETURN_IF_ERROR(txn.Commit());
  return true;
}

absl::StatusOr<bool> PlacementStore::Relocate(int64_t pack_id, absl::string_view from,
                                              absl::string_view to) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(std::optional<std::string> first, FirstTier(db_.get(), pack_id));
  if (!first.has_value()) return false;
  ASSIGN_OR_RETURN(SqliteStatement drop,
                   db_->Prepare("DELETE FROM pack_copies WHERE pack_id = ? AND tier = ?"));
  if (*first == from) {
    ASSIGN_OR_RETURN(SqliteStatement move, db_->Prepare("UPDATE packs SET tier = ? WHERE id = ?"));
    move.BindText(1, to);
    move.Bind(2, pack_id);
    RETURN_IF_ERROR(move.Run());
    drop.Bind(1, pack_id);
    drop.BindText(2, to);  // the new first location is no copy
    RETURN_IF_ERROR(drop.Run());
  } else {
    drop.Bind(1, pack_id);
    drop.BindText(2, from);
    RETURN_IF_ERROR(drop.Run());
    if (db_->Changes() == 0) return false;
    if (*first != to) RETURN_IF_ERROR(InsertCopy(db_.get(), pack_id, to, clock_()));
  }
  RETURN_IF_ERROR(txn.Commit());
  return true;
}

absl::StatusOr<std::vector<TierUsage>> PlacementStore::UsageByTier() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare("SELECT tier, count(*), coalesce(sum(size), 0) FROM ("
                   "  SELECT tier, size FROM packs UNION ALL "
                   "  SELECT c.tier, p.size FROM pack_copies c JOIN packs p ON p.id = c.pack_id) "
                   "GROUP BY tier ORDER BY tier"));
  return MapRows<TierUsage>(list, [](const SqliteStatement& row) {
    return TierUsage{.tier = row.ColumnText(0),
                     .packs = static_cast<uint64_t>(row.ColumnInt(1)),
                     .bytes = static_cast<uint64_t>(row.ColumnInt(2))};
  });
}

}  // namespace cairn

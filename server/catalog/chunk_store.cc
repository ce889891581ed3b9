#include "server/catalog/chunk_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "server/catalog/rows.h"

namespace cairn {
namespace {

// The one mapping of pack columns (id, tier, name, size, entries,
// quarantined), starting at column `first`.
constexpr char kPackColumns[] = "p.id, p.tier, p.name, p.size, p.entries, p.quarantined";
PackRecord PackFromRow(const SqliteStatement& row, int first = 0) {
  PackRecord p;
  p.id = row.ColumnInt(first);
  p.tier = row.ColumnText(first + 1);
  p.name = row.ColumnText(first + 2);
  p.size = row.ColumnInt(first + 3);
  p.entries = row.ColumnInt(first + 4);
  p.quarantined = row.ColumnInt(first + 5) != 0;
  return p;
}

// The one mapping of chunk columns (tenant_id, id, pack_id, offset, length,
// raw_size, base_id).
constexpr char kChunkColumns[] =
    "c.tenant_id, c.id, c.pack_id, c.offset, c.length, c.raw_size, c.base_id";
ChunkRow ChunkFromRow(const SqliteStatement& row) {
  ChunkRow c;
  c.tenant = row.ColumnInt(0);
  c.id = row.ColumnBlob(1);
  c.pack_id = row.ColumnInt(2);
  c.offset = row.ColumnInt(3);
  c.length = static_cast<uint32_t>(row.ColumnInt(4));
  c.raw_size = static_cast<uint32_t>(row.ColumnInt(5));
  c.base_id = row.ColumnBlob(6);
  return c;
}

// A chunk the tenant holds in a healthy copy (pack not quarantined, not
// reported damaged); its base_id column (NULL for a whole chunk).
// Whether the tenant has a row for a chunk, readable or not.
constexpr char kHasRowSql[] = "SELECT 1 FROM chunks WHERE tenant_id=?1 AND id=?2";

constexpr char kHealthySql[] =
    "SELECT c.base_id FROM chunks c JOIN packs p ON p.id=c.pack_id "
    "WHERE c.tenant_id=? AND c.id=? AND p.quarantined=0 AND c.damaged=0";

}  // namespace

absl::StatusOr<std::optional<int>> ChunkStore::ChainDepth(SqliteStatement* healthy, int64_t tenant,
                                                          absl::string_view id) {
  std::string at(id);
  for (int depth = 0; depth <= kMaxDeltaDepth; ++depth) {
    healthy->Reset();
    healthy->Bind(1, tenant);
    healthy->BindBlob(2, at);
    ASSIGN_OR_RETURN(bool found, healthy->Step());
    if (!found) return std::nullopt;
    std::string base = healthy->ColumnBlob(0);
    if (base.empty()) return depth;
    at = std::move(base);
  }
  return std::nullopt;  // longer than any chain cairn writes: not readable as stored
}

absl::StatusOr<std::vector<uint32_t>> ChunkStore::FindMissing(int64_t tenant,
                                                              absl::Span<const std::string> ids) {
  return reader_.Run([&](SqliteDb* db) -> absl::StatusOr<std::vector<uint32_t>> {
    ASSIGN_OR_RETURN(SqliteStatement healthy, db->Prepare(kHealthySql));
    std::vector<uint32_t> missing;
    for (uint32_t i = 0; i < ids.size(); ++i) {
      ASSIGN_OR_RETURN(std::optional<int> depth, ChainDepth(&healthy, tenant, ids[i]));
      if (!depth.has_value()) missing.push_back(i);
    }
    return missing;
  });
}

absl::StatusOr<std::vector<std::optional<int>>> ChunkStore::ChainDepths(
    int64_t tenant, absl::Span<const std::string> ids) {
  return reader_.Run([&](SqliteDb* db) -> absl::StatusOr<std::vector<std::optional<int>>> {
    ASSIGN_OR_RETURN(SqliteStatement healthy, db->Prepare(kHealthySql));
    std::vector<std::optional<int>> depths;
    depths.reserve(ids.size());
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::optional<int> depth, ChainDepth(&healthy, tenant, id));
      depths.push_back(depth);
    }
    return depths;
  });
}

absl::StatusOr<std::vector<bool>> ChunkStore::HasRows(int64_t tenant,
                                                      absl::Span<const std::string> ids) {
  return reader_.Run([&](SqliteDb* db) -> absl::StatusOr<std::vector<bool>> {
    ASSIGN_OR_RETURN(std::vector<uint32_t> missing, MissingIndexes(db, kHasRowSql, tenant, ids));
    std::vector<bool> rows(ids.size(), true);
    for (uint32_t i : missing) rows[i] = false;
    return rows;
  });
}

absl::StatusOr<std::vector<ChunkRow>> ChunkStore::DeltaPage(int64_t after_tenant,
                                                            absl::string_view after_id,
                                                            uint32_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement page,
                   db_->Prepare(absl::StrCat("SELECT ", kChunkColumns,
                                             " FROM chunks c WHERE c.base_id IS NOT NULL AND "
                                             "(c.tenant_id, c.id) > (?, ?) "
                                             "ORDER BY c.tenant_id, c.id LIMIT ?")));
  page.Bind(1, after_tenant);
  page.BindBlob(2, after_id);
  page.Bind(3, static_cast<int64_t>(limit));
  return MapRows<ChunkRow>(page, ChunkFromRow);
}

absl::StatusOr<std::vector<ChunkStore::SupersededBase>> ChunkStore::SupersededBasePage(
    int64_t since_ms, int64_t after_rowid, uint32_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement page,
                   db_->Prepare("SELECT rowid, tenant_id, base_id FROM superseded_chunks "
                                "WHERE rowid > ? AND base_id IS NOT NULL AND superseded_ms >= ? "
                                "ORDER BY rowid LIMIT ?"));
  page.Bind(1, after_rowid);
  page.Bind(2, since_ms);
  page.Bind(3, static_cast<int64_t>(limit));
  std::vector<SupersededBase> bases;
  while (true) {
    ASSIGN_OR_RETURN(bool row, page.Step());
    if (!row) return bases;
    bases.push_back(SupersededBase{page.ColumnInt(0), page.ColumnInt(1), page.ColumnBlob(2)});
  }
}

absl::StatusOr<int64_t> ChunkStore::InsertPack(absl::string_view tier, absl::string_view name,
                                               uint64_t size, uint64_t entries) {
  ASSIGN_OR_RETURN(SqliteStatement pack,
                   db_->Prepare("INSERT INTO packs(tier, name, size, entries, created_ms) "
                                "VALUES(?, ?, ?, ?, ?)"));
  pack.BindText(1, tier);
  pack.BindText(2, name);
  pack.Bind(3, static_cast<int64_t>(size));
  pack.Bind(4, static_cast<int64_t>(entries));
  pack.Bind(5, absl::ToUnixMillis(clock_()));
  RETURN_IF_ERROR(pack.Run());
  return db_->LastInsertRowId();
}

absl::StatusOr<uint64_t> ChunkStore::AddPack(int64_t tenant, absl::string_view tier,
                                             absl::string_view pack_name, uint64_t pack_size,
                                             absl::Span<const StoredChunk> chunks) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(int64_t pack_id, InsertPack(tier, pack_name, pack_size, chunks.size()));
  ASSIGN_OR_RETURN(uint64_t added, InsertChunks(tenant, pack_id, chunks));
  RETURN_IF_ERROR(txn.Commit());
  return added;
}

absl::StatusOr<uint64_t> ChunkStore::AddToPack(int64_t tenant, absl::string_view pack_name,
                                               absl::Span<const StoredChunk> chunks) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(
      SqliteStatement known,
      db_->Prepare("UPDATE packs SET entries = entries + ? WHERE name = ? RETURNING id"));
  known.Bind(1, static_cast<int64_t>(chunks.size()));
  known.BindText(2, pack_name);
  ASSIGN_OR_RETURN(bool recorded, known.Step());
  if (!recorded) return absl::NotFoundError(absl::StrCat("no pack ", pack_name));
  const int64_t pack_id = known.ColumnInt(0);
  known.Reset();
  ASSIGN_OR_RETURN(uint64_t added, InsertChunks(tenant, pack_id, chunks));
  RETURN_IF_ERROR(txn.Commit());
  return added;
}

absl::StatusOr<uint64_t> ChunkStore::InsertChunks(int64_t tenant, int64_t pack_id,
                                                  absl::Span<const StoredChunk> chunks) {
  // A copy an agent reported damaged is kept aside (superseded_chunks)
  // before the new one replaces it: the server cannot check the report.
  ASSIGN_OR_RETURN(SqliteStatement keep, db_->Prepare(R"sql(
      INSERT INTO superseded_chunks(pack_id, tenant_id, id, offset, length, raw_size,
                                    superseded_ms, base_id)
      SELECT pack_id, tenant_id, id, offset, length, raw_size, ?3, base_id FROM chunks
      WHERE tenant_id=?1 AND id=?2 AND damaged != 0)sql"));
  const int64_t now_ms = absl::ToUnixMillis(clock_());
  // A quarantined or damaged copy of a chunk is replaced by the new, good one.
  ASSIGN_OR_RETURN(SqliteStatement chunk, db_->Prepare(R"sql(
      INSERT INTO chunks(tenant_id, id, pack_id, offset, length, raw_size, base_id)
      VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)
      ON CONFLICT(tenant_id, id) DO UPDATE SET
        pack_id=?3, offset=?4, length=?5, raw_size=?6, base_id=?7, damaged=0
      WHERE chunks.damaged != 0
         OR (SELECT quarantined FROM packs WHERE id=chunks.pack_id) != 0)sql"));
  // A delta whose chain no longer reads (a base damaged, quarantined or
  // gone) counts as missing, so a backup stores it again: its row is marked
  // damaged here so the new copy replaces it like any damaged copy.
  ASSIGN_OR_RETURN(SqliteStatement healthy, db_->Prepare(kHealthySql));
  ASSIGN_OR_RETURN(SqliteStatement broken, db_->Prepare(R"sql(
      UPDATE chunks SET damaged=1
      WHERE tenant_id=?1 AND id=?2 AND base_id IS NOT NULL AND damaged=0)sql"));
  // Most chunks are new: one lookup says so, and only a chunk the tenant
  // has a row for goes through the checks above.
  ASSIGN_OR_RETURN(SqliteStatement exists, db_->Prepare(kHasRowSql));
  uint64_t added = 0;
  for (const StoredChunk& c : chunks) {
    exists.Bind(1, tenant);
    exists.BindBlob(2, c.id);
    ASSIGN_OR_RETURN(bool has_row, exists.Step());
    exists.Reset();
    if (has_row) {
      ASSIGN_OR_RETURN(std::optional<int> depth, ChainDepth(&healthy, tenant, c.id));
      if (!depth.has_value()) {
        broken.Reset();
        broken.Bind(1, tenant);
        broken.BindBlob(2, c.id);
        RETURN_IF_ERROR(broken.Run());
      }
      keep.Reset();
      keep.Bind(1, tenant);
      keep.BindBlob(2, c.id);
      keep.Bind(3, now_ms);
      RETURN_IF_ERROR(keep.Run());
    }
    chunk.Reset();
    chunk.Bind(1, tenant);
    chunk.BindBlob(2, c.id);
    chunk.Bind(3, pack_id);
    chunk.Bind(4, static_cast<int64_t>(c.offset));
    chunk.Bind(5, c.length);
    chunk.Bind(6, c.raw_size);
    if (c.base_id.empty()) {
      chunk.BindNull(7);
    } else {
      chunk.BindBlob(7, c.base_id);
    }
    RETURN_IF_ERROR(chunk.Run());
    added += db_->Changes();
  }
  return added;
}

absl::StatusOr<std::optional<ChunkLocation>> ChunkStore::Locate(int64_t tenant,
                                                                absl::string_view id) {
  std::string one(id);
  ASSIGN_OR_RETURN(auto found, LocateMany(tenant, absl::MakeConstSpan(&one, 1)));
  return std::move(found[0]);
}

absl::StatusOr<std::vector<std::optional<ChunkLocation>>> ChunkStore::LocateMany(
    int64_t tenant, absl::Span<const std::string> ids, bool superseded) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement get,
      db_->Prepare(superseded
                       ? "SELECT c.pack_id, p.tier, p.name, c.offset, c.length, c.raw_size "
                         "FROM superseded_chunks c JOIN packs p ON p.id=c.pack_id "
                         "WHERE c.tenant_id=? AND c.id=? ORDER BY c.superseded_ms DESC LIMIT 1"
                       : "SELECT c.pack_id, p.tier, p.name, c.offset, c.length, c.raw_size "
                         "FROM chunks c JOIN packs p ON p.id=c.pack_id "
                         "WHERE c.tenant_id=? AND c.id=?"));
  std::vector<std::optional<ChunkLocation>> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    get.Reset();
    get.Bind(1, tenant);
    get.BindBlob(2, id);
    ASSIGN_OR_RETURN(bool found, get.Step());
    if (!found) {
      out.emplace_back();
      continue;
    }
    ChunkLocation& loc = out.emplace_back(ChunkLocation()).value();
    loc.pack_id = get.ColumnInt(0);
    loc.tier = get.ColumnText(1);
    loc.pack_name = get.ColumnText(2);
    loc.offset = get.ColumnInt(3);
    loc.length = static_cast<uint32_t>(get.ColumnInt(4));
    loc.raw_size = static_cast<uint32_t>(get.ColumnInt(5));
  }
  return out;
}

absl::StatusOr<std::vector<PackRecord>> ChunkStore::ListPacks() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare(absl::StrCat("SELECT ", kPackColumns,
                                                                   " FROM packs p ORDER BY id")));
  return MapRows<PackRecord>(list, [](const SqliteStatement& row) { return PackFromRow(row); });
}

absl::StatusOr<std::optional<PackRecord>> ChunkStore::GetPack(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare(absl::StrCat("SELECT ", kPackColumns, " FROM packs p WHERE id=?")));
  get.Bind(1, pack_id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return PackFromRow(get);
}

absl::StatusOr<std::vector<std::string>> ChunkStore::PackChunkIds(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT id FROM chunks WHERE pack_id=? ORDER BY offset"));
  list.Bind(1, pack_id);
  return MapRows<std::string>(list, [](const SqliteStatement& row) { return row.ColumnBlob(0); });
}

absl::Status ChunkStore::Quarantine(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare("UPDATE packs SET quarantined=1 WHERE id=?"));
  q.Bind(1, pack_id);
  return q.Run();
}

absl::StatusOr<std::vector<PackUsage>> ChunkStore::Usage() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(absl::StrCat(
          "SELECT ", kPackColumns,
          ", p.created_ms, coalesce(min(c.tenant_id), 0), count(c.id), "
          "coalesce(sum(c.length), 0), "
          "EXISTS (SELECT 1 FROM superseded_chunks s WHERE s.pack_id = p.id) "
          "FROM packs p LEFT JOIN chunks c ON c.pack_id = p.id GROUP BY p.id ORDER BY p.id")));
  return MapRows<PackUsage>(list, [](const SqliteStatement& row) {
    PackUsage p;
    p.pack = PackFromRow(row);
    p.created_ms = row.ColumnInt(6);
    p.tenant = row.ColumnInt(7);
    p.live_chunks = row.ColumnInt(8);
    p.live_bytes = row.ColumnInt(9);
    p.held = row.ColumnInt(10) != 0;
    return p;
  });
}

absl::StatusOr<std::vector<ChunkRow>> ChunkStore::LiveChunksOfPack(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(absl::StrCat("SELECT ", kChunkColumns,
                                " FROM chunks c WHERE c.pack_id = ? ORDER BY c.offset")));
  list.Bind(1, pack_id);
  return MapRows<ChunkRow>(list, ChunkFromRow);
}

absl::StatusOr<std::vector<ChunkRow>> ChunkStore::Page(int64_t after_tenant,
                                                       absl::string_view after_id,
                                                       int64_t packs_before_ms, uint32_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(absl::StrCat("SELECT ", kChunkColumns,
                                " FROM chunks c JOIN packs p ON p.id = c.pack_id "
                                "WHERE (c.tenant_id, c.id) > (?1, ?2) AND p.created_ms < ?3 "
                                "ORDER BY c.tenant_id, c.id LIMIT ?4")));
  list.Bind(1, after_tenant);
  list.BindBlob(2, after_id);
  list.Bind(3, packs_before_ms);
  list.Bind(4, limit);
  return MapRows<ChunkRow>(list, ChunkFromRow);
}

// Nothing ever adds chunks to an existing pack, so an empty pack row is
// garbage whatever its age. Runs inside the caller's transaction.
absl::StatusOr<std::vector<PackRecord>> ChunkStore::DeleteEmptyPacks() {
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare(absl::StrCat(
                       "SELECT ", kPackColumns,
                       " FROM packs p "
                       "WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.pack_id = p.id) "
                       "AND NOT EXISTS (SELECT 1 FROM superseded_chunks s WHERE s.pack_id = p.id) "
                       "ORDER BY p.id")));
  ASSIGN_OR_RETURN(
      std::vector<PackRecord> empty,
      MapRows<PackRecord>(list, [](const SqliteStatement& row) { return PackFromRow(row); }));
  ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM packs WHERE id = ?"));
  ASSIGN_OR_RETURN(SqliteStatement copies,
                   db_->Prepare("DELETE FROM pack_copies WHERE pack_id = ? RETURNING tier"));
  for (PackRecord& p : empty) {
    copies.Reset();
    copies.Bind(1, p.id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, copies.Step());
      if (!row) break;
      p.copies.push_back(copies.ColumnText(0));
    }
    del.Reset();
    del.Bind(1, p.id);
    RETURN_IF_ERROR(del.Run());
  }
  return empty;
}

absl::StatusOr<std::vector<PackRecord>> ChunkStore::Delete(absl::Span<const TenantObject> chunks,
                                                           uint64_t* deleted) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement del,
                   db_->Prepare("DELETE FROM chunks WHERE tenant_id = ? AND id = ?"));
  *deleted = 0;
  for (const TenantObject& c : chunks) {
    del.Reset();
    del.Bind(1, c.tenant);
    del.BindBlob(2, c.id);
    RETURN_IF_ERROR(del.Run());
    *deleted += db_->Changes();
  }
  ASSIGN_OR_RETURN(std::vector<PackRecord> empty, DeleteEmptyPacks());
  RETURN_IF_ERROR(txn.Commit());
  return empty;
}

absl::StatusOr<std::vector<PackRecord>> ChunkStore::MoveChunks(
    int64_t tenant, absl::string_view tier, absl::string_view pack_name, uint64_t pack_size,
    absl::Span<const StoredChunk> moves) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(int64_t pack_id, InsertPack(tier, pack_name, pack_size, moves.size()));
  // Only a row still in its source pack moves: anything else about it changed
  // meanwhile and the copy is simply not used.
  ASSIGN_OR_RETURN(
      SqliteStatement move,
      db_->Prepare("UPDATE chunks SET pack_id = ?1, offset = ?2, length = ?3, raw_size = ?4 "
                   "WHERE tenant_id = ?5 AND id = ?6 AND pack_id = ?7"));
  for (const StoredChunk& m : moves) {
    move.Reset();
    move.Bind(1, pack_id);
    move.Bind(2, static_cast<int64_t>(m.offset));
    move.Bind(3, m.length);
    move.Bind(4, m.raw_size);
    move.Bind(5, tenant);
    move.BindBlob(6, m.id);
    move.Bind(7, m.from_pack);
    RETURN_IF_ERROR(move.Run());
  }
  ASSIGN_OR_RETURN(std::vector<PackRecord> empty, DeleteEmptyPacks());
  RETURN_IF_ERROR(txn.Commit());
  return empty;
}

absl::StatusOr<uint64_t> ChunkStore::MarkDamaged(int64_t tenant,
                                                 absl::Span<const std::string> ids) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement mark,
                   db_->Prepare("UPDATE chunks SET damaged=1 WHERE tenant_id=? AND id=?"));
  uint64_t marked = 0;
  for (const std::string& id : ids) {
    mark.Reset();
    mark.Bind(1, tenant);
    mark.BindBlob(2, id);
    RETURN_IF_ERROR(mark.Run());
    marked += db_->Changes();
  }
  RETURN_IF_ERROR(txn.Commit());
  return marked;
}

absl::StatusOr<uint64_t> ChunkStore::DamagedCount() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement count,
                   db_->Prepare("SELECT count(*) FROM chunks WHERE damaged != 0"));
  ASSIGN_OR_RETURN(bool row, count.Step());
  return row ? static_cast<uint64_t>(count.ColumnInt(0)) : 0;
}

absl::StatusOr<uint64_t> ChunkStore::TenantStoredBytes(int64_t tenant) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement sum,
                   db_->Prepare("SELECT stored_bytes FROM chunk_totals WHERE tenant_id=?"));
  sum.Bind(1, tenant);
  ASSIGN_OR_RETURN(bool row, sum.Step());
  return row ? static_cast<uint64_t>(sum.ColumnInt(0)) : 0;
}

absl::StatusOr<CatalogTotals> ChunkStore::Totals() {
  absl::MutexLock lock(&mu_);
  CatalogTotals totals;
  // The rows the chunks table's triggers keep (schema.cc), one per tenant: not a scan.
  ASSIGN_OR_RETURN(SqliteStatement chunks,
                   db_->Prepare("SELECT coalesce(sum(chunks), 0), coalesce(sum(raw_bytes), 0), "
                                "coalesce(sum(stored_bytes), 0) FROM chunk_totals"));
  ASSIGN_OR_RETURN(bool row, chunks.Step());
  if (row) {
    totals.chunks = chunks.ColumnInt(0);
    totals.unique_bytes = chunks.ColumnInt(1);
    totals.stored_bytes = chunks.ColumnInt(2);
  }
  ASSIGN_OR_RETURN(SqliteStatement packs, db_->Prepare("SELECT count(*) FROM packs"));
  ASSIGN_OR_RETURN(row, packs.Step());
  if (row) totals.packs = packs.ColumnInt(0);
  return totals;
}

absl::StatusOr<uint64_t> ChunkStore::ReleaseSuperseded(int64_t before_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement release,
                   db_->Prepare("DELETE FROM superseded_chunks WHERE superseded_ms < ?"));
  release.Bind(1, before_ms);
  RETURN_IF_ERROR(release.Run());
  return static_cast<uint64_t>(db_->Changes());
}

}  // namespace cairn

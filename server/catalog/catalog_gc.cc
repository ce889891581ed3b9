// The Catalog methods that garbage collection and pruning use (declared in
// catalog.h, "GC and prune"). Same rules as catalog.cc: one transaction per
// call under the catalog's mutex.
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "server/catalog/catalog.h"

namespace cairn {

absl::StatusOr<bool> Catalog::ExtendJobLease(absl::string_view job_id, int64_t now_ms,
                                             int64_t expires_ms, bool only_if_live) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement renew,
                   db_->Prepare("UPDATE jobs SET lease_expires_ms = max(lease_expires_ms, ?3) "
                                "WHERE id = ?1 AND (?4 = 0 OR lease_expires_ms > ?2)"));
  renew.BindText(1, job_id);
  renew.Bind(2, now_ms);
  renew.Bind(3, expires_ms);
  renew.Bind(4, only_if_live ? 1 : 0);
  RETURN_IF_ERROR(renew.Run());
  return db_->Changes() == 1;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Catalog::LiveBackupJobs(
    int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(
          "SELECT id, created_ms FROM jobs WHERE state = ? AND kind = ? AND lease_expires_ms > ?"));
  list.Bind(1, v1::JOB_STATE_RUNNING);
  list.Bind(2, v1::JOB_KIND_BACKUP);
  list.Bind(3, now_ms);
  std::vector<std::pair<std::string, int64_t>> jobs;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    jobs.emplace_back(list.ColumnText(0), list.ColumnInt(1));
  }
  return jobs;
}

absl::StatusOr<std::vector<Catalog::TenantObject>> Catalog::SnapshotRootTrees() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT tenant_id, root_tree FROM snapshots"));
  std::vector<TenantObject> roots;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    roots.push_back(TenantObject{list.ColumnInt(0), list.ColumnBlob(1)});
  }
  return roots;
}

absl::StatusOr<std::vector<Catalog::GcTree>> Catalog::GcTreePage(int64_t after_tenant,
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
  std::vector<GcTree> trees;
  uint64_t bytes = 0;
  while (bytes < max_bytes) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    GcTree tree;
    tree.tenant = list.ColumnInt(0);
    tree.id = list.ColumnBlob(1);
    tree.created_ms = list.ColumnInt(2);
    tree.data = list.ColumnBlob(3);
    bytes += tree.data.size() + tree.id.size() + 16;
    trees.push_back(std::move(tree));
  }
  return trees;
}

absl::StatusOr<std::vector<Catalog::GcChunk>> Catalog::GcChunkPage(int64_t after_tenant,
                                                                   absl::string_view after_id,
                                                                   int64_t packs_before_ms,
                                                                   uint32_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare("SELECT c.tenant_id, c.id, c.pack_id, c.offset, c.length, c.raw_size "
                   "FROM chunks c JOIN packs p ON p.id = c.pack_id "
                   "WHERE (c.tenant_id, c.id) > (?1, ?2) AND p.created_ms < ?3 "
                   "ORDER BY c.tenant_id, c.id LIMIT ?4"));
  list.Bind(1, after_tenant);
  list.BindBlob(2, after_id);
  list.Bind(3, packs_before_ms);
  list.Bind(4, limit);
  std::vector<GcChunk> chunks;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    GcChunk c;
    c.tenant = list.ColumnInt(0);
    c.id = list.ColumnBlob(1);
    c.pack_id = list.ColumnInt(2);
    c.offset = list.ColumnInt(3);
    c.length = static_cast<uint32_t>(list.ColumnInt(4));
    c.raw_size = static_cast<uint32_t>(list.ColumnInt(5));
    chunks.push_back(std::move(c));
  }
  return chunks;
}

absl::StatusOr<uint64_t> Catalog::DeleteTrees(absl::Span<const TenantObject> trees) {
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

namespace {

// Deletes every pack row that no chunk row points at (inside the caller's
// transaction) and returns them. Nothing ever adds chunks to an existing
// pack, so an empty pack row is garbage whatever its age.
absl::StatusOr<std::vector<PackRecord>> DeleteEmptyPacks(SqliteDb* db) {
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db->Prepare("SELECT id, tier, name, size, entries, quarantined FROM packs p "
                  "WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.pack_id = p.id) ORDER BY id"));
  std::vector<PackRecord> empty;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    PackRecord p;
    p.id = list.ColumnInt(0);
    p.tier = list.ColumnText(1);
    p.name = list.ColumnText(2);
    p.size = list.ColumnInt(3);
    p.entries = list.ColumnInt(4);
    p.quarantined = list.ColumnInt(5) != 0;
    empty.push_back(std::move(p));
  }
  ASSIGN_OR_RETURN(SqliteStatement del, db->Prepare("DELETE FROM packs WHERE id = ?"));
  for (const PackRecord& p : empty) {
    del.Reset();
    del.Bind(1, p.id);
    RETURN_IF_ERROR(del.Run());
  }
  return empty;
}

}  // namespace

absl::StatusOr<std::vector<PackRecord>> Catalog::DeleteChunks(absl::Span<const TenantObject> chunks,
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
  ASSIGN_OR_RETURN(std::vector<PackRecord> empty, DeleteEmptyPacks(db_.get()));
  RETURN_IF_ERROR(txn.Commit());
  return empty;
}

absl::StatusOr<std::vector<Catalog::GcPack>> Catalog::PackUsage() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(
          "SELECT p.id, p.tier, p.name, p.size, p.entries, p.quarantined, p.created_ms, "
          "coalesce(min(c.tenant_id), 0), count(c.id), coalesce(sum(c.length), 0) "
          "FROM packs p LEFT JOIN chunks c ON c.pack_id = p.id GROUP BY p.id ORDER BY p.id"));
  std::vector<GcPack> packs;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    GcPack p;
    p.pack.id = list.ColumnInt(0);
    p.pack.tier = list.ColumnText(1);
    p.pack.name = list.ColumnText(2);
    p.pack.size = list.ColumnInt(3);
    p.pack.entries = list.ColumnInt(4);
    p.pack.quarantined = list.ColumnInt(5) != 0;
    p.created_ms = list.ColumnInt(6);
    p.tenant = list.ColumnInt(7);
    p.live_chunks = list.ColumnInt(8);
    p.live_bytes = list.ColumnInt(9);
    packs.push_back(std::move(p));
  }
  return packs;
}

absl::StatusOr<std::vector<Catalog::GcChunk>> Catalog::LiveChunksOfPack(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare("SELECT tenant_id, id, offset, length, raw_size FROM chunks WHERE pack_id = ? "
                   "ORDER BY offset"));
  list.Bind(1, pack_id);
  std::vector<GcChunk> chunks;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    GcChunk c;
    c.tenant = list.ColumnInt(0);
    c.id = list.ColumnBlob(1);
    c.pack_id = pack_id;
    c.offset = list.ColumnInt(2);
    c.length = static_cast<uint32_t>(list.ColumnInt(3));
    c.raw_size = static_cast<uint32_t>(list.ColumnInt(4));
    chunks.push_back(std::move(c));
  }
  return chunks;
}

absl::StatusOr<std::vector<PackRecord>> Catalog::MoveChunks(int64_t tenant, absl::string_view tier,
                                                            absl::string_view pack_name,
                                                            uint64_t pack_size,
                                                            absl::Span<const GcMove> moves) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(
      SqliteStatement pack,
      db_->Prepare(
          "INSERT INTO packs(tier, name, size, entries, created_ms) VALUES(?, ?, ?, ?, ?)"));
  pack.BindText(1, tier);
  pack.BindText(2, pack_name);
  pack.Bind(3, static_cast<int64_t>(pack_size));
  pack.Bind(4, static_cast<int64_t>(moves.size()));
  pack.Bind(5, absl::ToUnixMillis(absl::Now()));
  RETURN_IF_ERROR(pack.Run());
  int64_t pack_id = db_->LastInsertRowId();
  // Only a row still in its source pack moves: anything else about it changed
  // meanwhile and the copy is simply not used.
  ASSIGN_OR_RETURN(
      SqliteStatement move,
      db_->Prepare("UPDATE chunks SET pack_id = ?1, offset = ?2, length = ?3, raw_size = ?4 "
                   "WHERE tenant_id = ?5 AND id = ?6 AND pack_id = ?7"));
  for (const GcMove& m : moves) {
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
  ASSIGN_OR_RETURN(std::vector<PackRecord> empty, DeleteEmptyPacks(db_.get()));
  RETURN_IF_ERROR(txn.Commit());
  return empty;
}

absl::Status Catalog::DeleteSnapshots(
    absl::Span<const std::pair<std::string, std::string>> doomed) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement find, db_->Prepare("SELECT job_id FROM snapshots WHERE id = ?"));
  ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM snapshots WHERE id = ?"));
  ASSIGN_OR_RETURN(SqliteStatement job, db_->Prepare("SELECT data FROM jobs WHERE id = ?"));
  ASSIGN_OR_RETURN(SqliteStatement note, db_->Prepare("UPDATE jobs SET data = ? WHERE id = ?"));
  for (const auto& [snapshot_id, text] : doomed) {
    find.Reset();
    find.BindText(1, snapshot_id);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) continue;  // already gone
    std::string job_id = find.ColumnText(0);
    del.Reset();
    del.BindText(1, snapshot_id);
    RETURN_IF_ERROR(del.Run());
    job.Reset();
    job.BindText(1, job_id);
    ASSIGN_OR_RETURN(bool has_job, job.Step());
    if (!has_job) continue;
    v1::Job record;
    if (!record.ParseFromString(job.ColumnBlob(0))) {
      return absl::DataLossError("catalog: unparsable job record");
    }
    record.set_error(record.error().empty() ? text : absl::StrCat(record.error(), "; ", text));
    note.Reset();
    note.BindBlob(1, record.SerializeAsString());
    note.BindText(2, job_id);
    RETURN_IF_ERROR(note.Run());
  }
  return txn.Commit();
}

}  // namespace cairn

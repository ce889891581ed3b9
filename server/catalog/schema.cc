#include "server/catalog/schema.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr absl::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  key_check BLOB);
CREATE TABLE IF NOT EXISTS agents(
  name TEXT PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  info BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS packs(
  id INTEGER PRIMARY KEY,
  tier TEXT NOT NULL,
  name TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  quarantined INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS chunks(
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  id BLOB NOT NULL,
  pack_id INTEGER NOT NULL REFERENCES packs(id),
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  raw_size INTEGER NOT NULL,
  damaged INTEGER NOT NULL DEFAULT 0,
  -- A checkpoint delta's base chunk (common/delta_codec.h): kept while this
  -- row lives; NULL for a whole chunk.
  base_id BLOB,
  PRIMARY KEY(tenant_id, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_pack ON chunks(pack_id);
-- The few damaged chunks, so the status counts them without a scan.
CREATE INDEX IF NOT EXISTS chunks_damaged ON chunks(tenant_id) WHERE damaged != 0;
-- Per tenant, the chunks table's count and sums, kept by triggers in the
-- transaction that changes a row, so the status, /metrics and quotas read
-- a row instead of scanning a table of up to billions of rows. Seeded when
-- the table is made (kSeedChunkTotals); a tenant whose chunks are all gone
-- keeps a row of zeros. (Not INSERT OR IGNORE: in a trigger, the conflict
-- policy of the statement that fired it, such as an upsert's, would win.)
CREATE TABLE IF NOT EXISTS chunk_totals(
  tenant_id INTEGER PRIMARY KEY,
  chunks INTEGER NOT NULL,
  raw_bytes INTEGER NOT NULL,
  stored_bytes INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS chunk_totals_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunk_totals SELECT NEW.tenant_id, 0, 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM chunk_totals WHERE tenant_id = NEW.tenant_id);
  UPDATE chunk_totals SET chunks = chunks + 1, raw_bytes = raw_bytes + NEW.raw_size,
    stored_bytes = stored_bytes + NEW.length WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER IF NOT EXISTS chunk_totals_delete AFTER DELETE ON chunks BEGIN
  UPDATE chunk_totals SET chunks = chunks - 1, raw_bytes = raw_bytes - OLD.raw_size,
    stored_bytes = stored_bytes - OLD.length WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER IF NOT EXISTS chunk_totals_update
AFTER UPDATE OF tenant_id, raw_size, length ON chunks BEGIN
  UPDATE chunk_totals SET chunks = chunks - 1, raw_bytes = raw_bytes - OLD.raw_size,
    stored_bytes = stored_bytes - OLD.length WHERE tenant_id = OLD.tenant_id;
  INSERT INTO chunk_totals SELECT NEW.tenant_id, 0, 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM chunk_totals WHERE tenant_id = NEW.tenant_id);
  UPDATE chunk_totals SET chunks = chunks + 1, raw_bytes = raw_bytes + NEW.raw_size,
    stored_bytes = stored_bytes + NEW.length WHERE tenant_id = NEW.tenant_id;
END;
-- The copy a chunk had before an agent reported it damaged and a new copy
-- replaced it: its pack is kept (not deleted, not compacted) until the hold
-- ends, so a false report by a compromised agent destroys nothing.
-- base_id: the copy's base when it is a checkpoint delta, held with it.
CREATE TABLE IF NOT EXISTS superseded_chunks(
  pack_id INTEGER NOT NULL REFERENCES packs(id),
  tenant_id INTEGER NOT NULL,
  id BLOB NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  raw_size INTEGER NOT NULL,
  superseded_ms INTEGER NOT NULL,
  base_id BLOB);
CREATE INDEX IF NOT EXISTS superseded_by_pack ON superseded_chunks(pack_id);
-- Copies of a pack on tiers other than packs.tier (its first location),
-- each made and verified before its row was written (docs/storage.md).
CREATE TABLE IF NOT EXISTS pack_copies(
  pack_id INTEGER NOT NULL REFERENCES packs(id),
  tier TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY(pack_id, tier)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pack_copies_by_tier ON pack_copies(tier);
CREATE TABLE IF NOT EXISTS trees(
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  id BLOB NOT NULL,
  data BLOB NOT NULL,
  created_ms INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
  tier_pack TEXT,
  PRIMARY KEY(tenant_id, id));
-- tier_pack: the tree pack on the tiers that holds a copy of the tree (NULL
-- until the metadata mirror wrote one; docs/storage.md).
CREATE INDEX IF NOT EXISTS trees_by_tier_pack ON trees(tier_pack);
-- A rowid table on purpose: trees are ~10 KB, and WITHOUT ROWID would keep
-- them inside the key b-tree, so every existence check (PutTrees validates
-- every subtree) read overflow pages: ~2,400 page reads per 1,000 lookups
-- instead of ~30 through the small (tenant_id, id) index.
CREATE TABLE IF NOT EXISTS jobs(
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL,
  kind INTEGER NOT NULL,
  state INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_agent ON jobs(agent, created_ms);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, created_ms);
CREATE TABLE IF NOT EXISTS snapshots(
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL,
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  root BLOB NOT NULL,
  level INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  job_id TEXT NOT NULL UNIQUE REFERENCES jobs(id),
  root_tree BLOB NOT NULL,
  logical_bytes INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS snapshots_by_root ON snapshots(agent, root, created_ms);
CREATE TABLE IF NOT EXISTS policies(
  name TEXT PRIMARY KEY,
  updated_ms INTEGER NOT NULL,
  data BLOB NOT NULL);
)sql"
                                      R"sql(
-- A renewal names the certificate it `replaces`; that one is retired
-- (revoked_ms, replaced_by) when the renewal is first used. (No comments
-- inside column lists: ALTER TABLE ... DROP COLUMN cannot rewrite them.)
CREATE TABLE IF NOT EXISTS certificates(
  serial TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  tenant TEXT NOT NULL DEFAULT '',
  role INTEGER NOT NULL DEFAULT 0,
  pending INTEGER NOT NULL DEFAULT 0,
  issued_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked_ms INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL DEFAULT '',
  replaces TEXT NOT NULL DEFAULT '',
  replaced_by TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS certificates_by_name ON certificates(kind, name);
CREATE TABLE IF NOT EXISTS join_tokens(
  id TEXT PRIMARY KEY,
  secret_hash BLOB NOT NULL,
  uses_left INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  refused INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time_ms);
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_insert BEFORE INSERT ON audit
  WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

// From version 1: tenants gain their key check value, chunks a mark for
// damage an agent's verify found; the access tables are new (kSchema
// creates them).
constexpr absl::string_view kFromVersion1 =
    "ALTER TABLE tenants ADD COLUMN key_check BLOB;"
    "ALTER TABLE chunks ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0;";

// From version 3 (and earlier): trees gain the name of the tree pack that
// mirrors them on the tiers; NULL, so the mirror writes every one once.
constexpr absl::string_view kFromVersion3 = "ALTER TABLE trees ADD COLUMN tier_pack TEXT;";

// From version 4 (and earlier): chunks gain the base of a checkpoint delta.
constexpr absl::string_view kFromVersion4 = "ALTER TABLE chunks ADD COLUMN base_id BLOB;";

// From version 5 (and earlier): chunk_totals (kSchema makes it and its
// triggers) starts from one scan of the chunks table.
constexpr absl::string_view kSeedChunkTotals =
    "INSERT OR IGNORE INTO chunk_totals(tenant_id, chunks, raw_bytes, stored_bytes) "
    "SELECT tenant_id, count(*), sum(raw_size), sum(length) FROM chunks GROUP BY tenant_id;";

// Adds `column` (with its SQL declaration) to `table` where the table exists
// without it: kSchema makes a missing table with every column already.
absl::Status AddColumnIfMissing(SqliteDb* db, absl::string_view table, absl::string_view column,
                                absl::string_view declaration) {
  ASSIGN_OR_RETURN(SqliteStatement has_table,
                   db->Prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"));
  has_table.BindText(1, table);
  ASSIGN_OR_RETURN(bool table_exists, has_table.Step());
  if (!table_exists) return absl::OkStatus();
  ASSIGN_OR_RETURN(SqliteStatement has_column,
                   db->Prepare("SELECT 1 FROM pragma_table_info(?) WHERE name=?"));
  has_column.BindText(1, table);
  has_column.BindText(2, column);
  ASSIGN_OR_RETURN(bool column_exists, has_column.Step());
  if (column_exists) return absl::OkStatus();
  return db->Exec(absl::StrCat("ALTER TABLE ", table, " ADD COLUMN ", column, " ", declaration));
}

// From version 6 (and earlier): a superseded copy keeps the base it decodes
// from, so a collection holds that base with it (NULL for copies kept aside
// before: no base recorded); a renewed certificate names the one it replaces,
// which is retired when the renewal is first used ('' for earlier ones).
absl::Status FromVersion6(SqliteDb* db) {
  RETURN_IF_ERROR(AddColumnIfMissing(db, "superseded_chunks", "base_id", "BLOB"));
  RETURN_IF_ERROR(AddColumnIfMissing(db, "certificates", "replaces", "TEXT NOT NULL DEFAULT ''"));
  return AddColumnIfMissing(db, "certificates", "replaced_by", "TEXT NOT NULL DEFAULT ''");
}

// The version a catalog was written at, or nullopt for a new (empty) one.
// Reads only: a catalog of another version must be left exactly as it was.
absl::StatusOr<std::optional<std::string>> StoredVersion(SqliteDb* db) {
  ASSIGN_OR_RETURN(SqliteStatement has_meta,
                   db->Prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"));
  ASSIGN_OR_RETURN(bool meta, has_meta.Step());
  if (!meta) return std::nullopt;
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db->Prepare("SELECT value FROM meta WHERE key='schema_version'"));
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return get.ColumnText(0);
}

}  // namespace

absl::Status MigrateCatalog(SqliteDb* db) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, StoredVersion(db));
  const std::string version = stored.value_or("");
  // Version 2 to 3 only adds tables (pack_copies), which kSchema creates.
  if (version == "1" || version == "2" || version == "3" || version == "4" || version == "5" ||
      version == "6") {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
    const bool before_5 = version != "5" && version != "6";
    if (version == "1") RETURN_IF_ERROR(db->Exec(kFromVersion1));
    if (before_5 && version != "4") RETURN_IF_ERROR(db->Exec(kFromVersion3));
    if (before_5) RETURN_IF_ERROR(db->Exec(kFromVersion4));
    RETURN_IF_ERROR(FromVersion6(db));
    RETURN_IF_ERROR(db->Exec(kSchema));
    if (version != "6") RETURN_IF_ERROR(db->Exec(kSeedChunkTotals));
    ASSIGN_OR_RETURN(SqliteStatement put,
                     db->Prepare("UPDATE meta SET value=? WHERE key='schema_version'"));
    put.BindText(1, std::to_string(kCatalogSchemaVersion));
    RETURN_IF_ERROR(put.Run());
    return tx.Commit();
  }
  if (stored.has_value()) {
    if (version != std::to_string(kCatalogSchemaVersion)) {
      return absl::FailedPreconditionError(
          absl::StrCat("catalog schema version ", version, " is not ", kCatalogSchemaVersion,
                       "; this cairn-server cannot open it (use the matching release)"));
    }
    // Same version: the script is idempotent and adds nothing.
    return db->Exec(kSchema);
  }
  RETURN_IF_ERROR(db->Exec(kSchema));
  ASSIGN_OR_RETURN(SqliteStatement put,
                   db->Prepare("INSERT INTO meta(key, value) VALUES('schema_version', ?)"));
  put.BindText(1, std::to_string(kCatalogSchemaVersion));
  return put.Run();
}

}  // namespace cairn

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
  name TEXT NOT NULL UNIQUE);
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
  PRIMARY KEY(tenant_id, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_pack ON chunks(pack_id);
CREATE TABLE IF NOT EXISTS trees(
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  id BLOB NOT NULL,
  data BLOB NOT NULL,
  created_ms INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
  PRIMARY KEY(tenant_id, id));
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
)sql";

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
  ASSIGN_OR_RETURN(std::optional<std::string> version, StoredVersion(db));
  if (version.has_value()) {
    if (*version != std::to_string(kCatalogSchemaVersion)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "catalog schema version ", *version, " is not ", kCatalogSchemaVersion,
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

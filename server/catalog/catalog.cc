#include "server/catalog/catalog.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr int kSchemaVersion = 1;

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

template <typename Message>
absl::StatusOr<Message> ParseRow(const std::string& blob, absl::string_view what) {
  Message message;
  if (!message.ParseFromString(blob)) {
    return absl::DataLossError(absl::StrCat("catalog: unparsable ", what, " record"));
  }
  return message;
}

// Every row of `stmt`, whose first column is a serialized `Message`.
template <typename Message>
absl::StatusOr<std::vector<Message>> ParseRows(SqliteStatement& stmt, absl::string_view what) {
  std::vector<Message> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(Message m, ParseRow<Message>(stmt.ColumnBlob(0), what));
    out.push_back(std::move(m));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  std::unique_ptr<Catalog> catalog(new Catalog(std::move(db)));
  RETURN_IF_ERROR(catalog->Migrate());
  return catalog;
}

absl::Status Catalog::Migrate() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(db_->Exec(kSchema));
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare("SELECT value FROM meta WHERE key='schema_version'"));
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (found) {
    std::string version = get.ColumnText(0);
    if (version != std::to_string(kSchemaVersion)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "catalog schema version ", version, " is not ", kSchemaVersion,
          "; this cairn-server cannot open it (use the matching release)"));
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(SqliteStatement put,
                   db_->Prepare("INSERT INTO meta(key, value) VALUES('schema_version', ?)"));
  put.BindText(1, std::to_string(kSchemaVersion));
  return put.Run();
}

absl::StatusOr<int64_t> Catalog::TenantId(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db_->Prepare("INSERT OR IGNORE INTO tenants(name) VALUES(?)"));
  insert.BindText(1, tenant);
  RETURN_IF_ERROR(insert.Run());
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT id FROM tenants WHERE name=?"));
  get.BindText(1, tenant);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return absl::InternalError("catalog: tenant vanished after insert");
  return get.ColumnInt(0);
}

absl::Status Catalog::UpsertAgent(const v1::AgentInfo& agent) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement tenant,
                   db_->Prepare("INSERT OR IGNORE INTO tenants(name) VALUES(?)"));
  tenant.BindText(1, agent.tenant());
  RETURN_IF_ERROR(tenant.Run());
  v1::AgentInfo stored = agent;
  stored.clear_online();
  ASSIGN_OR_RETURN(SqliteStatement upsert, db_->Prepare(R"sql(
      INSERT INTO agents(name, tenant_id, last_seen_ms, info)
      VALUES(?1, (SELECT id FROM tenants WHERE name=?2), ?3, ?4)
      ON CONFLICT(name) DO UPDATE SET last_seen_ms=?3, info=?4)sql"));
  upsert.BindText(1, agent.name());
  upsert.BindText(2, agent.tenant());
  upsert.Bind(3, agent.last_seen_unix_ms());
  upsert.BindBlob(4, stored.SerializeAsString());
  return upsert.Run();
}

absl::StatusOr<std::optional<v1::AgentInfo>> Catalog::GetAgent(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare("SELECT info, last_seen_ms FROM agents WHERE name=?"));
  get.BindText(1, name);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  ASSIGN_OR_RETURN(v1::AgentInfo info, ParseRow<v1::AgentInfo>(get.ColumnBlob(0), "agent"));
  info.set_last_seen_unix_ms(get.ColumnInt(1));
  return info;
}

absl::StatusOr<std::vector<v1::AgentInfo>> Catalog::ListAgents() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT info, last_seen_ms FROM agents ORDER BY name"));
  std::vector<v1::AgentInfo> agents;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(v1::AgentInfo info, ParseRow<v1::AgentInfo>(list.ColumnBlob(0), "agent"));
    info.set_last_seen_unix_ms(list.ColumnInt(1));
    agents.push_back(std::move(info));
  }
  return agents;
}

absl::Status Catalog::TouchAgent(absl::string_view name, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement touch,
                   db_->Prepare("UPDATE agents SET last_seen_ms=? WHERE name=?"));
  touch.Bind(1, now_ms);
  touch.BindText(2, name);
  return touch.Run();
}

absl::StatusOr<std::vector<uint32_t>> Catalog::FindMissing(absl::string_view sql, int64_t tenant,
                                                           absl::Span<const std::string> ids) {
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare(sql));
  std::vector<uint32_t> missing;
  for (uint32_t i = 0; i < ids.size(); ++i) {
    get.Reset();
    get.Bind(1, tenant);
    get.BindBlob(2, ids[i]);
    ASSIGN_OR_RETURN(bool found, get.Step());
    if (!found) missing.push_back(i);
  }
  return missing;
}

absl::StatusOr<std::vector<uint32_t>> Catalog::FindMissingChunks(
    int64_t tenant, absl::Span<const std::string> ids) {
  absl::MutexLock lock(&mu_);
  return FindMissing(
      "SELECT 1 FROM chunks c JOIN packs p ON p.id=c.pack_id "
      "WHERE c.tenant_id=? AND c.id=? AND p.quarantined=0",
      tenant, ids);
}

absl::StatusOr<uint64_t> Catalog::AddPack(int64_t tenant, absl::string_view tier,
                                          absl::string_view pack_name, uint64_t pack_size,
                                          absl::Span<const StoredChunk> chunks) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement pack, db_->Prepare(
      "INSERT INTO packs(tier, name, size, entries, created_ms) "
      "VALUES(?, ?, ?, ?, ?)"));
  pack.BindText(1, tier);
  pack.BindText(2, pack_name);
  pack.Bind(3, static_cast<int64_t>(pack_size));
  pack.Bind(4, static_cast<int64_t>(chunks.size()));
  pack.Bind(5, absl::ToUnixMillis(absl::Now()));
  RETURN_IF_ERROR(pack.Run());
  int64_t pack_id = db_->LastInsertRowId();
  // A quarantined copy of a chunk is replaced by the new, good one.
  ASSIGN_OR_RETURN(SqliteStatement chunk, db_->Prepare(R"sql(
      INSERT INTO chunks(tenant_id, id, pack_id, offset, length, raw_size)
      VALUES(?1, ?2, ?3, ?4, ?5, ?6)
      ON CONFLICT(tenant_id, id) DO UPDATE SET
        pack_id=?3, offset=?4, length=?5, raw_size=?6
      WHERE (SELECT quarantined FROM packs WHERE id=chunks.pack_id) != 0)sql"));
  uint64_t added = 0;
  for (const StoredChunk& c : chunks) {
    chunk.Reset();
    chunk.Bind(1, tenant);
    chunk.BindBlob(2, c.id);
    chunk.Bind(3, pack_id);
    chunk.Bind(4, static_cast<int64_t>(c.offset));
    chunk.Bind(5, c.length);
    chunk.Bind(6, c.raw_size);
    RETURN_IF_ERROR(chunk.Run());
    added += db_->Changes();
  }
  RETURN_IF_ERROR(txn.Commit());
  return added;
}

absl::StatusOr<std::optional<ChunkLocation>> Catalog::LocateChunk(int64_t tenant,
                                                                  absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare(
      "SELECT c.pack_id, p.tier, p.name, c.offset, c.length, c.raw_size "
      "FROM chunks c JOIN packs p ON p.id=c.pack_id WHERE c.tenant_id=? AND c.id=?"));
  get.Bind(1, tenant);
  get.BindBlob(2, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  ChunkLocation loc;
  loc.pack_id = get.ColumnInt(0);
  loc.tier = get.ColumnText(1);
  loc.pack_name = get.ColumnText(2);
  loc.offset = get.ColumnInt(3);
  loc.length = static_cast<uint32_t>(get.ColumnInt(4));
  loc.raw_size = static_cast<uint32_t>(get.ColumnInt(5));
  return loc;
}

absl::StatusOr<std::vector<PackRecord>> Catalog::ListPacks() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare(
      "SELECT id, tier, name, size, entries, quarantined FROM packs ORDER BY id"));
  std::vector<PackRecord> packs;
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
    packs.push_back(std::move(p));
  }
  return packs;
}

absl::StatusOr<std::vector<std::string>> Catalog::PackChunkIds(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT id FROM chunks WHERE pack_id=? ORDER BY offset"));
  list.Bind(1, pack_id);
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    ids.push_back(list.ColumnBlob(0));
  }
  return ids;
}

absl::Status Catalog::QuarantinePack(int64_t pack_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement q,
                   db_->Prepare("UPDATE packs SET quarantined=1 WHERE id=?"));
  q.Bind(1, pack_id);
  return q.Run();
}

absl::StatusOr<std::vector<uint32_t>> Catalog::FindMissingTrees(
    int64_t tenant, absl::Span<const std::string> ids) {
  absl::MutexLock lock(&mu_);
  return FindMissing("SELECT 1 FROM trees WHERE tenant_id=? AND id=?", tenant, ids);
}

absl::Status Catalog::PutTree(int64_t tenant, absl::string_view id, absl::string_view data) {
  std::pair<std::string, std::string> one{std::string(id), std::string(data)};
  return PutTrees(tenant, absl::MakeConstSpan(&one, 1));
}

absl::Status Catalog::PutTrees(int64_t tenant,
                               absl::Span<const std::pair<std::string, std::string>> trees) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement put, db_->Prepare(
      "INSERT OR IGNORE INTO trees(tenant_id, id, data) VALUES(?, ?, ?)"));
  for (const auto& [id, data] : trees) {
    put.Reset();
    put.Bind(1, tenant);
    put.BindBlob(2, id);
    put.BindBlob(3, data);
    RETURN_IF_ERROR(put.Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::optional<std::string>> Catalog::GetTree(int64_t tenant,
                                                           absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare("SELECT data FROM trees WHERE tenant_id=? AND id=?"));
  get.Bind(1, tenant);
  get.BindBlob(2, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return get.ColumnBlob(0);
}

absl::Status Catalog::InsertJob(const v1::Job& job, int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement put, db_->Prepare(
      "INSERT INTO jobs(id, agent, kind, state, created_ms, lease_expires_ms, data) "
      "VALUES(?, ?, ?, ?, ?, ?, ?)"));
  put.BindText(1, job.id());
  put.BindText(2, job.agent());
  put.Bind(3, job.kind());
  put.Bind(4, job.state());
  put.Bind(5, job.created_unix_ms());
  put.Bind(6, lease_expires_ms);
  put.BindBlob(7, job.SerializeAsString());
  return put.Run();
}

absl::Status Catalog::UpdateJob(const v1::Job& job) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement put,
                   db_->Prepare("UPDATE jobs SET state=?, data=? WHERE id=?"));
  put.Bind(1, job.state());
  put.BindBlob(2, job.SerializeAsString());
  put.BindText(3, job.id());
  RETURN_IF_ERROR(put.Run());
  if (db_->Changes() == 0) return absl::NotFoundError(absl::StrCat("no job ", job.id()));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Job>> Catalog::GetJob(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT data FROM jobs WHERE id=?"));
  get.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Job>(get.ColumnBlob(0), "job");
}

absl::StatusOr<std::vector<v1::Job>> Catalog::ListJobs(absl::string_view agent, uint32_t limit,
                                                       bool running_only) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare(
      "SELECT data, state FROM jobs WHERE (?1 = '' OR agent = ?1) "
      "AND (?2 = 0 OR state IN (1, 2)) ORDER BY created_ms DESC, id DESC LIMIT ?3"));
  list.BindText(1, agent);
  list.Bind(2, running_only ? 1 : 0);
  list.Bind(3, limit);
  return ParseRows<v1::Job>(list, "job");
}

absl::StatusOr<std::vector<v1::Job>> Catalog::QueuedJobs(absl::string_view agent) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare(
      "SELECT data FROM jobs WHERE agent=? AND state=? ORDER BY created_ms, id"));
  list.BindText(1, agent);
  list.Bind(2, v1::JOB_STATE_QUEUED);
  return ParseRows<v1::Job>(list, "job");
}

absl::StatusOr<v1::Snapshot> Catalog::CommitSnapshot(const v1::Snapshot& snapshot,
                                                     const v1::Job& job) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  ASSIGN_OR_RETURN(SqliteStatement existing,
                   db_->Prepare("SELECT data FROM snapshots WHERE job_id=?"));
  existing.BindText(1, snapshot.job_id());
  ASSIGN_OR_RETURN(bool found, existing.Step());
  if (found) return ParseRow<v1::Snapshot>(existing.ColumnBlob(0), "snapshot");

  ASSIGN_OR_RETURN(SqliteStatement put, db_->Prepare(
      "INSERT INTO snapshots(id, agent, tenant_id, root, level, created_ms, job_id, "
      "root_tree, logical_bytes, data) "
      "VALUES(?, ?, (SELECT id FROM tenants WHERE name=?), ?, ?, ?, ?, ?, ?, ?)"));
  put.BindText(1, snapshot.id());
  put.BindText(2, snapshot.agent());
  put.BindText(3, snapshot.tenant());
  put.BindBlob(4, snapshot.roots_size() > 0 ? snapshot.roots(0) : "");
  put.Bind(5, snapshot.level());
  put.Bind(6, snapshot.created_unix_ms());
  put.BindText(7, snapshot.job_id());
  put.BindBlob(8, snapshot.root_tree_id());
  put.Bind(9, static_cast<int64_t>(snapshot.stats().bytes_scanned()));
  put.BindBlob(10, snapshot.SerializeAsString());
  RETURN_IF_ERROR(put.Run());

  ASSIGN_OR_RETURN(SqliteStatement update,
                   db_->Prepare("UPDATE jobs SET state=?, data=? WHERE id=?"));
  update.Bind(1, job.state());
  update.BindBlob(2, job.SerializeAsString());
  update.BindText(3, job.id());
  RETURN_IF_ERROR(update.Run());
  if (db_->Changes() != 1) {
    return absl::FailedPreconditionError(absl::StrCat("commit: no job ", job.id()));
  }
  RETURN_IF_ERROR(txn.Commit());
  return snapshot;
}

absl::StatusOr<std::optional<v1::Snapshot>> Catalog::GetSnapshot(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT data FROM snapshots WHERE id=?"));
  get.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Snapshot>(get.ColumnBlob(0), "snapshot");
}

absl::StatusOr<std::vector<v1::Snapshot>> Catalog::ListSnapshots(absl::string_view agent,
                                                                 uint32_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare(
      "SELECT data FROM snapshots WHERE (?1 = '' OR agent = ?1) "
      "ORDER BY created_ms DESC, rowid DESC LIMIT ?2"));
  list.BindText(1, agent);
  list.Bind(2, limit);
  return ParseRows<v1::Snapshot>(list, "snapshot");
}

absl::StatusOr<std::optional<v1::Snapshot>> Catalog::LatestSnapshot(
    absl::string_view agent, absl::string_view root, std::optional<v1::BackupLevel> level) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare(
      "SELECT data FROM snapshots WHERE agent=?1 AND root=?2 AND (?3 = 0 OR level = ?3) "
      "ORDER BY created_ms DESC, rowid DESC LIMIT 1"));
  get.BindText(1, agent);
  get.BindBlob(2, root);
  get.Bind(3, level.has_value() ? static_cast<int64_t>(*level) : 0);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Snapshot>(get.ColumnBlob(0), "snapshot");
}

absl::StatusOr<std::vector<v1::Policy>> Catalog::ListPolicies() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare("SELECT data FROM policies ORDER BY name"));
  return ParseRows<v1::Policy>(list, "policy");
}

absl::StatusOr<std::optional<v1::Policy>> Catalog::GetPolicy(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT data FROM policies WHERE name=?"));
  get.BindText(1, name);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Policy>(get.ColumnBlob(0), "policy");
}

absl::Status Catalog::PutPolicy(const v1::Policy& policy) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement put, db_->Prepare(
      "INSERT INTO policies(name, updated_ms, data) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET updated_ms=?2, data=?3"));
  put.BindText(1, policy.name());
  put.Bind(2, absl::ToUnixMillis(absl::Now()));
  put.BindBlob(3, policy.SerializeAsString());
  return put.Run();
}

absl::Status Catalog::DeletePolicy(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM policies WHERE name=?"));
  del.BindText(1, name);
  RETURN_IF_ERROR(del.Run());
  if (db_->Changes() == 0) return absl::NotFoundError(absl::StrCat("no policy ", name));
  return absl::OkStatus();
}

absl::StatusOr<CatalogTotals> Catalog::Totals() {
  absl::MutexLock lock(&mu_);
  CatalogTotals totals;
  ASSIGN_OR_RETURN(SqliteStatement chunks, db_->Prepare(
      "SELECT count(*), coalesce(sum(raw_size),0), coalesce(sum(length),0) FROM chunks"));
  ASSIGN_OR_RETURN(bool row, chunks.Step());
  if (row) {
    totals.chunks = chunks.ColumnInt(0);
    totals.unique_bytes = chunks.ColumnInt(1);
    totals.stored_bytes = chunks.ColumnInt(2);
  }
  ASSIGN_OR_RETURN(SqliteStatement snaps, db_->Prepare(
      "SELECT count(*), coalesce(sum(logical_bytes),0) FROM snapshots"));
  ASSIGN_OR_RETURN(row, snaps.Step());
  if (row) {
    totals.snapshots = snaps.ColumnInt(0);
    totals.logical_bytes = snaps.ColumnInt(1);
  }
  ASSIGN_OR_RETURN(SqliteStatement packs, db_->Prepare("SELECT count(*) FROM packs"));
  ASSIGN_OR_RETURN(row, packs.Step());
  if (row) totals.packs = packs.ColumnInt(0);
  return totals;
}

absl::StatusOr<std::vector<std::string>> Catalog::IntegrityCheck() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> problems;
  ASSIGN_OR_RETURN(SqliteStatement check, db_->Prepare("PRAGMA integrity_check"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, check.Step());
    if (!row) break;
    std::string line = check.ColumnText(0);
    if (line != "ok") problems.push_back(line);
  }
  ASSIGN_OR_RETURN(SqliteStatement fk, db_->Prepare("PRAGMA foreign_key_check"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, fk.Step());
    if (!row) break;
    problems.push_back(absl::StrCat("foreign key violation in ", fk.ColumnText(0), " row ",
                                    fk.ColumnInt(1)));
  }
  return problems;
}

}  // namespace cairn

#include "server/catalog/agent_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/catalog/rows.h"

namespace cairn {
namespace {

// The one mapping of an agents row (info, last_seen_ms) to its record.
absl::StatusOr<v1::AgentInfo> AgentFromRow(const SqliteStatement& row) {
  ASSIGN_OR_RETURN(v1::AgentInfo info, ParseRow<v1::AgentInfo>(row.ColumnBlob(0), "agent"));
  info.set_last_seen_unix_ms(row.ColumnInt(1));
  return info;
}

}  // namespace

absl::StatusOr<int64_t> AgentStore::TenantIdLocked(absl::string_view tenant) {
  auto cached = tenant_ids_.find(tenant);
  if (cached != tenant_ids_.end()) return cached->second;
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT id FROM tenants WHERE name=?"));
  get.BindText(1, tenant);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) {
    ASSIGN_OR_RETURN(SqliteStatement insert,
                     db_->Prepare("INSERT OR IGNORE INTO tenants(name) VALUES(?)"));
    insert.BindText(1, tenant);
    RETURN_IF_ERROR(insert.Run());
    get.Reset();
    get.BindText(1, tenant);
    ASSIGN_OR_RETURN(found, get.Step());
    if (!found) return absl::InternalError("catalog: tenant vanished after insert");
  }
  int64_t id = get.ColumnInt(0);
  tenant_ids_.emplace(std::string(tenant), id);
  return id;
}

absl::StatusOr<int64_t> AgentStore::TenantId(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  return TenantIdLocked(tenant);
}

absl::Status AgentStore::Upsert(const v1::AgentInfo& agent) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(int64_t tenant, TenantIdLocked(agent.tenant()));
  v1::AgentInfo stored = agent;
  stored.clear_online();
  ASSIGN_OR_RETURN(SqliteStatement upsert, db_->Prepare(R"sql(
      INSERT INTO agents(name, tenant_id, last_seen_ms, info) VALUES(?1, ?2, ?3, ?4)
      ON CONFLICT(name) DO UPDATE SET last_seen_ms=?3, info=?4)sql"));
  upsert.BindText(1, agent.name());
  upsert.Bind(2, tenant);
  upsert.Bind(3, agent.last_seen_unix_ms());
  upsert.BindBlob(4, stored.SerializeAsString());
  return upsert.Run();
}

absl::StatusOr<std::optional<v1::AgentInfo>> AgentStore::Get(absl::string_view name) {
  return reader_.Run([&](SqliteDb* db) -> absl::StatusOr<std::optional<v1::AgentInfo>> {
    ASSIGN_OR_RETURN(SqliteStatement get,
                     db->Prepare("SELECT info, last_seen_ms FROM agents WHERE name=?"));
    get.BindText(1, name);
    ASSIGN_OR_RETURN(bool found, get.Step());
    if (!found) return std::nullopt;
    return AgentFromRow(get);
  });
}

absl::StatusOr<std::vector<v1::AgentInfo>> AgentStore::List() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT info, last_seen_ms FROM agents ORDER BY name"));
  std::vector<v1::AgentInfo> agents;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) return agents;
    ASSIGN_OR_RETURN(v1::AgentInfo info, AgentFromRow(list));
    agents.push_back(std::move(info));
  }
}

absl::Status AgentStore::Touch(absl::string_view name, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement touch,
                   db_->Prepare("UPDATE agents SET last_seen_ms=? WHERE name=?"));
  touch.Bind(1, now_ms);
  touch.BindText(2, name);
  return touch.Run();
}

absl::StatusOr<std::string> AgentStore::KeyCheck(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT key_check FROM tenants WHERE name=?"));
  get.BindText(1, tenant);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found || get.ColumnIsNull(0)) return std::string();
  return get.ColumnBlob(0);
}

absl::StatusOr<std::string> AgentStore::SetKeyCheckIfUnset(absl::string_view tenant,
                                                           absl::string_view check) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(int64_t id, TenantIdLocked(tenant));
  ASSIGN_OR_RETURN(SqliteStatement set,
                   db_->Prepare("UPDATE tenants SET key_check=? WHERE id=? AND key_check IS NULL"));
  set.BindBlob(1, check);
  set.Bind(2, id);
  RETURN_IF_ERROR(set.Run());
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT key_check FROM tenants WHERE id=?"));
  get.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found || get.ColumnIsNull(0)) return absl::InternalError("catalog: tenant key check lost");
  return get.ColumnBlob(0);
}

}  // namespace cairn

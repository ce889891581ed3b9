// Agents and tenants in the catalog. A tenant is created the first time an
// agent of it is recorded or its id is asked for; tenant ids never change,
// so they are cached.
//
//   ASSIGN_OR_RETURN(int64_t tenant, catalog->agents().TenantId("default"));
//   ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> a, catalog->agents().Get("gpu-1"));
#ifndef CAIRN_SERVER_CATALOG_AGENT_STORE_H_
#define CAIRN_SERVER_CATALOG_AGENT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/v1/admin.pb.h"
#include "server/catalog/read_connection.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class AgentStore final {
 public:
  // `reader` (read_connection.h) serves Get, asked by every call of a
  // running job, so it never waits behind heartbeats' writes.
  AgentStore(std::unique_ptr<SqliteDb> db, std::unique_ptr<SqliteDb> reader)
      : db_(std::move(db)), reader_(std::move(reader)) {}

  // The tenant's id, creating the tenant if it is new.
  absl::StatusOr<int64_t> TenantId(absl::string_view tenant);
  // Creates or replaces the agent's record (its `online` flag is not stored).
  absl::Status Upsert(const v1::AgentInfo& agent);
  absl::StatusOr<std::optional<v1::AgentInfo>> Get(absl::string_view name);
  absl::StatusOr<std::vector<v1::AgentInfo>> List();
  // Records that the agent was heard from at `now_ms`.
  absl::Status Touch(absl::string_view name, int64_t now_ms);
  // The check value of the tenant's key; empty while none is recorded.
  absl::StatusOr<std::string> KeyCheck(absl::string_view tenant);
  // Records `check` as the tenant's if it has none yet (atomically: of two
  // racing first agents exactly one wins) and returns the tenant's check
  // value after, which differs from `check` when another key was first.
  absl::StatusOr<std::string> SetKeyCheckIfUnset(absl::string_view tenant, absl::string_view check);

 private:
  absl::StatusOr<int64_t> TenantIdLocked(absl::string_view tenant)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  ReadConnection reader_;
  absl::flat_hash_map<std::string, int64_t> tenant_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_AGENT_STORE_H_

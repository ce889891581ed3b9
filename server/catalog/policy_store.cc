#include "server/catalog/policy_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "server/catalog/rows.h"

namespace cairn {

absl::StatusOr<std::vector<v1::Policy>> PolicyStore::List() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list, db_->Prepare("SELECT data FROM policies ORDER BY name"));
  return ParseRows<v1::Policy>(list, "policy");
}

absl::StatusOr<std::optional<v1::Policy>> PolicyStore::Get(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get, db_->Prepare("SELECT data FROM policies WHERE name=?"));
  get.BindText(1, name);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Policy>(get.ColumnBlob(0), "policy");
}

absl::Status PolicyStore::Put(const v1::Policy& policy) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement put,
                   db_->Prepare("INSERT INTO policies(name, updated_ms, data) VALUES(?1, ?2, ?3) "
                                "ON CONFLICT(name) DO UPDATE SET updated_ms=?2, data=?3"));
  put.BindText(1, policy.name());
  put.Bind(2, absl::ToUnixMillis(clock_()));
  put.BindBlob(3, policy.SerializeAsString());
  return put.Run();
}

absl::Status PolicyStore::Delete(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM policies WHERE name=?"));
  del.BindText(1, name);
  RETURN_IF_ERROR(del.Run());
  if (db_->Changes() == 0) return absl::NotFoundError(absl::StrCat("no policy ", name));
  return absl::OkStatus();
}

}  // namespace cairn

#include "server/catalog/job_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/catalog/rows.h"

namespace cairn {

absl::Status WriteJobRow(SqliteDb* db, const v1::Job& job) {
  ASSIGN_OR_RETURN(SqliteStatement put, db->Prepare("UPDATE jobs SET state=?, data=? WHERE id=?"));
  put.Bind(1, job.state());
  put.BindBlob(2, job.SerializeAsString());
  put.BindText(3, job.id());
  RETURN_IF_ERROR(put.Run());
  if (db->Changes() == 0) return absl::NotFoundError(absl::StrCat("no job ", job.id()));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Job>> ReadJobRow(SqliteDb* db, absl::string_view id) {
  ASSIGN_OR_RETURN(SqliteStatement get, db->Prepare("SELECT data FROM jobs WHERE id=?"));
  get.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return ParseRow<v1::Job>(get.ColumnBlob(0), "job");
}

absl::Status JobStore::Insert(const v1::Job& job, int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement put,
      db_->Prepare("INSERT INTO jobs(id, agent, kind, state, created_ms, lease_expires_ms, data) "
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

absl::Status JobStore::Update(const v1::Job& job) {
  absl::MutexLock lock(&mu_);
  return WriteJobRow(db_.get(), job);
}

absl::StatusOr<std::optional<v1::Job>> JobStore::Get(absl::string_view id) {
  return reader_.Run([&](SqliteDb* db) { return ReadJobRow(db, id); });
}

absl::StatusOr<std::vector<v1::Job>> JobStore::List(absl::string_view agent, uint32_t limit,
                                                    bool running_only) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(
          "SELECT data FROM jobs WHERE (?1 = '' OR agent = ?1) "
          "AND (?2 = 0 OR state IN (1, 2)) ORDER BY created_ms DESC, rowid DESC LIMIT ?3"));
  list.BindText(1, agent);
  list.Bind(2, running_only ? 1 : 0);
  list.Bind(3, limit);
  return ParseRows<v1::Job>(list, "job");
}

absl::StatusOr<std::vector<v1::Job>> JobStore::Queued(absl::string_view agent) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare("SELECT data FROM jobs WHERE agent=? AND state=? ORDER BY created_ms, rowid"));
  list.BindText(1, agent);
  list.Bind(2, v1::JOB_STATE_QUEUED);
  return ParseRows<v1::Job>(list, "job");
}

absl::StatusOr<bool> JobStore::ExtendLease(absl::string_view job_id, int64_t now_ms,
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

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> JobStore::LiveBackups(int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement list,
      db_->Prepare(
          "SELECT id, created_ms FROM jobs WHERE state = ? AND kind = ? AND lease_expires_ms > ?"));
  list.Bind(1, v1::JOB_STATE_RUNNING);
  list.Bind(2, v1::JOB_KIND_BACKUP);
  list.Bind(3, now_ms);
  return MapRows<std::pair<std::string, int64_t>>(list, [](const SqliteStatement& row) {
    return std::make_pair(row.ColumnText(0), row.ColumnInt(1));
  });
}

}  // namespace cairn

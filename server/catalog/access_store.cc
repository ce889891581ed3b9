#include "server/catalog/access_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/catalog/rows.h"

namespace cairn {
namespace {

constexpr char kCertificateColumns[] =
    "serial, kind, name, tenant, role, pending, issued_ms, expires_ms, revoked_ms, created_by, "
    "replaces, replaced_by";

// The one mapping of a certificates row (kCertificateColumns) to its record.
CertificateRecord CertificateFromRow(const SqliteStatement& row) {
  CertificateRecord r;
  r.serial = row.ColumnText(0);
  r.kind = static_cast<PrincipalKind>(row.ColumnInt(1));
  r.name = row.ColumnText(2);
  r.tenant = row.ColumnText(3);
  r.role = static_cast<v1::Role>(row.ColumnInt(4));
  r.pending = row.ColumnInt(5) != 0;
  r.issued_ms = row.ColumnInt(6);
  r.expires_ms = row.ColumnInt(7);
  r.revoked_ms = row.ColumnInt(8);
  r.created_by = row.ColumnText(9);
  r.replaces = row.ColumnText(10);
  r.replaced_by = row.ColumnText(11);
  return r;
}

constexpr int64_t kForgetTokensAfterMs = 24 * 3600 * 1000;

}  // namespace

absl::Status AccessStore::AddCertificate(const CertificateRecord& r) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db_->Prepare(absl::StrCat("INSERT INTO certificates(", kCertificateColumns,
                                             ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)")));
  insert.BindText(1, r.serial);
  insert.Bind(2, static_cast<int64_t>(r.kind));
  insert.BindText(3, r.name);
  insert.BindText(4, r.tenant);
  insert.Bind(5, static_cast<int64_t>(r.role));
  insert.Bind(6, r.pending ? 1 : 0);
  insert.Bind(7, r.issued_ms);
  insert.Bind(8, r.expires_ms);
  insert.Bind(9, r.revoked_ms);
  insert.BindText(10, r.created_by);
  insert.BindText(11, r.replaces);
  insert.BindText(12, r.replaced_by);
  return insert.Run();
}

absl::StatusOr<std::optional<CertificateRecord>> AccessStore::GetCertificate(
    absl::string_view serial) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare(absl::StrCat("SELECT ", kCertificateColumns,
                                             " FROM certificates WHERE serial=?")));
  get.BindText(1, serial);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  return CertificateFromRow(get);
}

absl::StatusOr<std::vector<CertificateRecord>> AccessStore::ListCertificates(
    PrincipalKind kind, absl::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare(absl::StrCat("SELECT ", kCertificateColumns,
                                             " FROM certificates WHERE kind=?1 AND "
                                             "(?2='' OR name=?2) ORDER BY issued_ms DESC")));
  list.Bind(1, static_cast<int64_t>(kind));
  list.BindText(2, name);
  std::vector<CertificateRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) return out;
    out.push_back(CertificateFromRow(list));
  }
}

absl::StatusOr<int> AccessStore::RevokeCertificates(PrincipalKind kind, absl::string_view name,
                                                    int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement revoke,
                   db_->Prepare("UPDATE certificates SET revoked_ms=?1 "
                                "WHERE kind=?2 AND name=?3 AND revoked_ms=0"));
  revoke.Bind(1, now_ms);
  revoke.Bind(2, static_cast<int64_t>(kind));
  revoke.BindText(3, name);
  RETURN_IF_ERROR(revoke.Run());
  return db_->Changes();
}

absl::StatusOr<int> AccessStore::RetireReplaced(absl::string_view renewal,
                                                absl::string_view replaced, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  // A read first: once retired, later calls (after a cache miss) write nothing.
  ASSIGN_OR_RETURN(SqliteStatement live,
                   db_->Prepare("SELECT 1 FROM certificates WHERE serial=? AND revoked_ms=0"));
  live.BindText(1, replaced);
  ASSIGN_OR_RETURN(bool is_live, live.Step());
  if (!is_live) return 0;
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::Begin(db_.get()));
  // The old certificate, and every other renewal of it: whoever holds a copy
  // of the old key could have had one made and kept it unused.
  ASSIGN_OR_RETURN(SqliteStatement retire,
                   db_->Prepare("UPDATE certificates SET revoked_ms=?1, replaced_by=?2 "
                                "WHERE (serial=?3 OR (replaces=?3 AND serial!=?2)) "
                                "AND revoked_ms=0"));
  retire.Bind(1, now_ms);
  retire.BindText(2, renewal);
  retire.BindText(3, replaced);
  RETURN_IF_ERROR(retire.Run());
  const int retired = db_->Changes();
  RETURN_IF_ERROR(txn.Commit());
  return retired;
}

absl::StatusOr<int> AccessStore::Approve(absl::string_view agent) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement approve,
                   db_->Prepare("UPDATE certificates SET pending=0 "
                                "WHERE kind=?1 AND name=?2 AND pending=1 AND revoked_ms=0"));
  approve.Bind(1, static_cast<int64_t>(PrincipalKind::kAgent));
  approve.BindText(2, agent);
  RETURN_IF_ERROR(approve.Run());
  return db_->Changes();
}

absl::StatusOr<bool> AccessStore::HasLiveCertificate(PrincipalKind kind, absl::string_view name,
                                                     int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare("SELECT 1 FROM certificates WHERE kind=?1 AND name=?2 "
                                "AND revoked_ms=0 AND expires_ms>?3 LIMIT 1"));
  get.Bind(1, static_cast<int64_t>(kind));
  get.BindText(2, name);
  get.Bind(3, now_ms);
  return get.Step();
}

absl::StatusOr<int64_t> AccessStore::CountAgents(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement count,
                   db_->Prepare("SELECT COUNT(DISTINCT name) FROM certificates "
                                "WHERE kind=?1 AND tenant=?2 AND revoked_ms=0"));
  count.Bind(1, static_cast<int64_t>(PrincipalKind::kAgent));
  count.BindText(2, tenant);
  ASSIGN_OR_RETURN(bool row, count.Step());
  return row ? count.ColumnInt(0) : 0;
}

absl::Status AccessStore::AddToken(const v1::JoinToken& token, absl::string_view secret_hash) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db_->Prepare("INSERT INTO join_tokens(id, secret_hash, uses_left, "
                                "expires_ms, data) VALUES(?,?,?,?,?)"));
  insert.BindText(1, token.id());
  insert.BindBlob(2, secret_hash);
  insert.Bind(3, token.uses_left());
  insert.Bind(4, token.expires_unix_ms());
  insert.BindBlob(5, token.SerializeAsString());
  return insert.Run();
}

absl::StatusOr<std::optional<StoredToken>> AccessStore::GetToken(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db_->Prepare("SELECT data, secret_hash, uses_left FROM join_tokens WHERE id=?"));
  get.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) return std::nullopt;
  ASSIGN_OR_RETURN(v1::JoinToken token, ParseRow<v1::JoinToken>(get.ColumnBlob(0), "join token"));
  token.set_uses_left(static_cast<uint32_t>(get.ColumnInt(2)));
  return StoredToken{std::move(token), get.ColumnBlob(1)};
}

absl::StatusOr<bool> AccessStore::SpendToken(absl::string_view id, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement spend,
                   db_->Prepare("UPDATE join_tokens SET uses_left=uses_left-1 "
                                "WHERE id=? AND uses_left>0 AND expires_ms>?"));
  spend.BindText(1, id);
  spend.Bind(2, now_ms);
  RETURN_IF_ERROR(spend.Run());
  return db_->Changes() == 1;
}

absl::StatusOr<std::vector<v1::JoinToken>> AccessStore::ListTokens(int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement forget,
                   db_->Prepare("DELETE FROM join_tokens WHERE expires_ms<?"));
  forget.Bind(1, now_ms - kForgetTokensAfterMs);
  RETURN_IF_ERROR(forget.Run());
  ASSIGN_OR_RETURN(SqliteStatement list,
                   db_->Prepare("SELECT data, uses_left FROM join_tokens WHERE uses_left>0 "
                                "AND expires_ms>? ORDER BY expires_ms"));
  list.Bind(1, now_ms);
  std::vector<v1::JoinToken> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(v1::JoinToken token,
                     ParseRow<v1::JoinToken>(list.ColumnBlob(0), "join token"));
    token.set_uses_left(static_cast<uint32_t>(list.ColumnInt(1)));
    out.push_back(std::move(token));
  }
}

absl::Status AccessStore::DeleteToken(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM join_tokens WHERE id=?"));
  del.BindText(1, id);
  RETURN_IF_ERROR(del.Run());
  if (db_->Changes() == 0) return absl::NotFoundError(absl::StrCat("no join token ", id));
  return absl::OkStatus();
}

}  // namespace cairn

// Who may call the server, as the catalog records it: every certificate the
// server's CA signed (agents' and admin credentials'), by serial, with what
// it names and whether it is revoked or waits for approval; and the join
// tokens agents enroll with (only a hash of each token's secret is kept).
//
//   ASSIGN_OR_RETURN(std::optional<CertificateRecord> c, store.GetCertificate(serial));
//   ASSIGN_OR_RETURN(bool spent, store.SpendToken(id, now_ms));
#ifndef CAIRN_SERVER_CATALOG_ACCESS_STORE_H_
#define CAIRN_SERVER_CATALOG_ACCESS_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/v1/security.pb.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

enum class PrincipalKind { kAgent = 1, kAdmin = 2 };

struct CertificateRecord {
  std::string serial;  // lower-case hex
  PrincipalKind kind = PrincipalKind::kAgent;
  std::string name;                      // agent name or credential name
  std::string tenant;                    // agents
  v1::Role role = v1::ROLE_UNSPECIFIED;  // admins
  bool pending = false;                  // agents waiting for approval
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  int64_t revoked_ms = 0;  // 0: not revoked
  std::string created_by;
  std::string replaces;     // a renewal: the serial it replaces
  std::string replaced_by;  // retired (revoked_ms) when this renewal was first used
};

struct StoredToken {
  v1::JoinToken token;  // uses_left and expires as stored now
  std::string secret_hash;
};

class AccessStore final {
 public:
  explicit AccessStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  absl::Status AddCertificate(const CertificateRecord& record);
  absl::StatusOr<std::optional<CertificateRecord>> GetCertificate(absl::string_view serial);
  // The certificates of one principal (newest first), or of every principal
  // of `kind` when `name` is empty.
  absl::StatusOr<std::vector<CertificateRecord>> ListCertificates(PrincipalKind kind,
                                                                  absl::string_view name = "");
  // Revokes every unrevoked certificate of the principal; how many.
  absl::StatusOr<int> RevokeCertificates(PrincipalKind kind, absl::string_view name,
                                         int64_t now_ms);
  // Retires certificate `replaced`, and every other renewal of it, unless
  // `replaced` is revoked already: revoked at `now_ms`, replaced_by
  // `renewal`, in one transaction. How many were retired (0: nothing to do,
  // and nothing was written).
  absl::StatusOr<int> RetireReplaced(absl::string_view renewal, absl::string_view replaced,
                                     int64_t now_ms);
  // Clears the pending mark of an agent's certificates; how many.
  absl::StatusOr<int> Approve(absl::string_view agent);
  // How many agents of `tenant` hold an unrevoked certificate.
  absl::StatusOr<int64_t> CountAgents(absl::string_view tenant);
  // Whether a credential of `name` is valid (unrevoked, unexpired) at `now_ms`.
  absl::StatusOr<bool> HasLiveCertificate(PrincipalKind kind, absl::string_view name,
                                          int64_t now_ms);

  absl::Status AddToken(const v1::JoinToken& token, absl::string_view secret_hash);
  absl::StatusOr<std::optional<StoredToken>> GetToken(absl::string_view id);
  // Takes one use of the token if it has one left and is unexpired at
  // `now_ms`, atomically; false when it had none.
  absl::StatusOr<bool> SpendToken(absl::string_view id, int64_t now_ms);
  // Tokens still usable at `now_ms`; forgets ones expired over a day ago.
  absl::StatusOr<std::vector<v1::JoinToken>> ListTokens(int64_t now_ms);
  // NotFound when there is no such token.
  absl::Status DeleteToken(absl::string_view id);

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_ACCESS_STORE_H_

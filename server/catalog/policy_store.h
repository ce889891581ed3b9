// Policies by name (cairn.v1.Policy records). The policy rules (validation,
// which agents a policy covers) are in server/schedule/policy_rules.h.
#ifndef CAIRN_SERVER_CATALOG_POLICY_STORE_H_
#define CAIRN_SERVER_CATALOG_POLICY_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/v1/types.pb.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class PolicyStore final {
 public:
  // `clock` stamps creation and update times.
  PolicyStore(std::unique_ptr<SqliteDb> db, std::function<absl::Time()> clock)
      : db_(std::move(db)), clock_(std::move(clock)) {}

  // In name order.
  absl::StatusOr<std::vector<v1::Policy>> List();
  absl::StatusOr<std::optional<v1::Policy>> Get(absl::string_view name);
  // Creates or replaces the policy of that name.
  absl::Status Put(const v1::Policy& policy);
  // NotFound if there is none.
  absl::Status Delete(absl::string_view name);

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  const std::function<absl::Time()> clock_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_POLICY_STORE_H_

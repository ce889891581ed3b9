#include "server/maintenance/deletion_rules.h"

#include "absl/strings/str_cat.h"

namespace cairn {

absl::Status MayDelete(const v1::Snapshot& snapshot, const DeletionRules& rules, absl::Time now) {
  if (snapshot.is_protected()) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot ", snapshot.id(),
                                                      " is protected (cairnctl snapshot unprotect ",
                                                      snapshot.id(), " first)"));
  }
  const absl::Time created = absl::FromUnixMillis(snapshot.created_unix_ms());
  if (rules.min_retention > absl::ZeroDuration() && now < created + rules.min_retention) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", snapshot.id(), " is held by the server's retention lock (min_retention_days ",
        absl::ToInt64Hours(rules.min_retention) / 24, ") until ",
        absl::FormatTime("%Y-%m-%d %H:%M UTC", created + rules.min_retention, absl::UTCTimeZone()),
        "; only the server's config file changes the lock"));
  }
  return absl::OkStatus();
}

}  // namespace cairn

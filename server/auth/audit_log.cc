#include "server/auth/audit_log.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/path_text.h"

namespace cairn {
namespace {

constexpr size_t kMaxFieldBytes = 512;

// Audit fields are proto strings: valid UTF-8, and bounded.
std::string Field(absl::string_view text) {
  return TruncateUtf8(IsUtf8(text) ? std::string(text) : PathToText(text), kMaxFieldBytes);
}

}  // namespace

bool AuditLog::Admit(bool refused) {
  uint64_t carried = 0;
  bool admit = true;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    if (now - window_start_ >= kWindow && (refused || suppressed_in_window_ > 0)) {
      carried = suppressed_in_window_;
      window_start_ = now;
      refusals_in_window_ = 0;
      suppressed_in_window_ = 0;
    }
    if (refused) {
      admit = refusals_in_window_ < kMaxRefusalsPerWindow;
      if (admit) {
        ++refusals_in_window_;
      } else {
        ++suppressed_in_window_;
        ++suppressed_total_;
      }
    }
  }
  if (carried > 0) {
    v1::AuditEntry summary;
    summary.set_time_unix_ms(absl::ToUnixMillis(clock_()));
    summary.set_who("server");
    summary.set_code("RESOURCE_EXHAUSTED");
    summary.set_message(absl::StrCat(carried,
                                     " more failed or refused calls in the window before were "
                                     "not recorded one by one (rate limit)"));
    absl::StatusOr<int64_t> written = store_->Append(summary);
    if (!written.ok()) log::Error("audit.write_failed", {{"error", written.status()}});
  }
  return admit;
}

void AuditLog::Record(const Caller& caller, absl::string_view peer, absl::string_view method,
                      absl::string_view resource, const absl::Status& outcome) {
  if (!Admit(!outcome.ok())) return;
  v1::AuditEntry entry;
  entry.set_time_unix_ms(absl::ToUnixMillis(clock_()));
  entry.set_who(caller.Principal());
  entry.set_peer(Field(peer));
  entry.set_method(Field(method));
  entry.set_resource(Field(resource));
  entry.set_code(absl::StatusCodeToString(outcome.code()));
  entry.set_message(Field(outcome.message()));
  absl::StatusOr<int64_t> written = store_->Append(entry);
  if (!written.ok()) {
    log::Error("audit.write_failed",
               {{"who", entry.who()}, {"method", method}, {"error", written.status()}});
  }
}

uint64_t AuditLog::suppressed_total() {
  absl::MutexLock lock(&mu_);
  return suppressed_total_;
}

}  // namespace cairn

#include "server/ingest/tenant_quota.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr absl::Duration kRecount = absl::Minutes(1);

std::string Mib(uint64_t bytes) { return absl::StrCat(bytes >> 20, " MiB"); }

}  // namespace

TenantQuota::TenantQuota(ChunkStore* chunks, const v1::ServerLimits& limits,
                         std::function<absl::Time()> clock)
    : chunks_(chunks), default_limit_(limits.tenant_quota_bytes()), clock_(std::move(clock)) {
  for (const v1::TenantQuota& q : limits.tenant_quota()) limits_[q.tenant()] = q.bytes();
}

uint64_t TenantQuota::LimitOf(const std::string& tenant) const {
  auto it = limits_.find(tenant);
  return it != limits_.end() ? it->second : default_limit_;
}

absl::Status TenantQuota::Charge(int64_t tenant_id, const std::string& tenant, uint64_t bytes) {
  const uint64_t limit = LimitOf(tenant);
  if (limit == 0) return absl::OkStatus();
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  Usage& usage = usage_[tenant_id];
  if (now - usage.counted > kRecount) {
    ASSIGN_OR_RETURN(usage.bytes, chunks_->TenantStoredBytes(tenant_id));
    usage.counted = now;
  }
  if (usage.bytes + bytes > limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "tenant ", tenant, " has stored ", Mib(usage.bytes), " of its quota of ", Mib(limit),
        " (limits.tenant_quota in the server's config); nothing more is stored until prune and "
        "gc free room or the quota is raised"));
  }
  usage.bytes += bytes;
  return absl::OkStatus();
}

}  // namespace cairn

#include "server/ingest/tenant_quota.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr absl::Duration kRecount = absl::Minutes(1);

// "512 bytes", "3.5 MiB": whole MiB would call a small quota "0 MiB".
std::string Size(uint64_t bytes) {
  if (bytes < (uint64_t{1} << 20)) return absl::StrCat(bytes, " bytes");
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

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
  bool recount;
  {
    absl::MutexLock lock(&mu_);
    recount = now - usage_[tenant_id].counted > kRecount;
  }
  // Counted without the lock (a scan of the tenant's chunks): other
  // tenants' uploads do not wait for it.
  std::optional<uint64_t> counted;
  if (recount) {
    ASSIGN_OR_RETURN(counted, chunks_->TenantStoredBytes(tenant_id));
  }
  absl::MutexLock lock(&mu_);
  Usage& usage = usage_[tenant_id];
  if (counted.has_value()) {
    usage.bytes = *counted;
    usage.counted = now;
  }
  // Written so that no sum can wrap: `bytes` comes from the network.
  if (usage.bytes > limit || bytes > limit - usage.bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "tenant ", tenant, " has stored ", Size(usage.bytes), " of its quota of ", Size(limit),
        " (limits.tenant_quota in the server's config); nothing more is stored until prune and "
        "gc free room or the quota is raised"));
  }
  usage.bytes += bytes;
  return absl::OkStatus();
}

}  // namespace cairn

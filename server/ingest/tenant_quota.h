// Per-tenant storage quotas (ServerConfig.limits): what a tenant's stored
// (sealed) chunks may add up to. An upload that would go past it fails with
// RESOURCE_EXHAUSTED naming the quota; what was stored before stays. The
// usage is counted from the catalog at most once a minute per tenant (so GC
// frees room within a minute) and charged as chunks arrive in between;
// concurrent uploads may overshoot by what is in flight.
//
//   TenantQuota quota(&catalog->chunks(), limits);
//   RETURN_IF_ERROR(quota.Charge(tenant_id, "t1", sealed.size()));
#ifndef CAIRN_SERVER_INGEST_TENANT_QUOTA_H_
#define CAIRN_SERVER_INGEST_TENANT_QUOTA_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/config.pb.h"
#include "server/catalog/chunk_store.h"

namespace cairn {

class TenantQuota final {
 public:
  TenantQuota(ChunkStore* chunks, const v1::ServerLimits& limits,
              std::function<absl::Time()> clock = absl::Now);

  // The quota of `tenant` in bytes; 0 = unlimited.
  uint64_t LimitOf(const std::string& tenant) const;
  // Counts `bytes` more for the tenant, or ResourceExhausted if they do not fit.
  absl::Status Charge(int64_t tenant_id, const std::string& tenant, uint64_t bytes);

 private:
  struct Usage {
    uint64_t bytes = 0;
    absl::Time counted = absl::InfinitePast();
  };

  ChunkStore* chunks_;
  uint64_t default_limit_;
  absl::flat_hash_map<std::string, uint64_t> limits_;
  std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Usage> usage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_TENANT_QUOTA_H_

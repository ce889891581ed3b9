// Watches a tier's answers to tell whether it is up. A call that fails the way
// a store that is down, full or refusing us fails (Unavailable,
// DeadlineExceeded, ResourceExhausted, PermissionDenied, Unauthenticated)
// marks the tier down; any call that succeeds marks it up again. A tier that
// is down is skipped for new packs (TierSet::ForNewPacks) until its retry
// time, when one new pack tries it again. NotFound, OutOfRange and the like
// are answers, not outages, and change nothing.
//
//   std::unique_ptr<HealthTrackingTier> t = TrackHealth(std::move(tier), absl::Seconds(30));
//   TierHealth h = t->health();  // up? since when down? the last error
#ifndef CAIRN_SERVER_TIERS_TIER_HEALTH_H_
#define CAIRN_SERVER_TIERS_TIER_HEALTH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/tiers/tier.h"

namespace cairn {

struct TierHealth {
  bool up = true;
  absl::Time down_since = absl::InfinitePast();  // when up: InfinitePast
  absl::Time retry_at = absl::InfinitePast();    // when a down tier is tried again
  std::string last_error;                        // the error that marked it down
  uint64_t failures = 0;                         // failed calls since start
};

// True for the errors that say the store is down, full or refusing us.
bool IsOutage(const absl::Status& status);

class HealthTrackingTier final : public Tier {
 public:
  HealthTrackingTier(std::unique_ptr<Tier> base, absl::Duration retry_after);

  TierHealth health() const;
  // Down, and not yet due for another try.
  bool Avoid(absl::Time now) const;
  // Records the outcome of a call: used by this tier's methods and writers.
  void Observe(const absl::Status& status);
  Tier* base() const { return base_.get(); }

  std::string name() const override { return base_->name(); }
  std::string kind() const override { return base_->kind(); }
  absl::StatusOr<std::unique_ptr<TierWriter>> Create(absl::string_view object) override;
  absl::Status Put(absl::string_view object, absl::string_view data) override;
  absl::Status Read(absl::string_view object, uint64_t offset, size_t length,
                    std::string* out) override;
  absl::StatusOr<uint64_t> Size(absl::string_view object) override;
  absl::Status Delete(absl::string_view object) override;
  absl::StatusOr<std::vector<std::string>> List() override;
  absl::StatusOr<std::vector<std::string>> ListWithPrefix(absl::string_view prefix) override;
  absl::StatusOr<TierSpace> Space() override;

 private:
  const std::unique_ptr<Tier> base_;
  const absl::Duration retry_after_;
  mutable absl::Mutex mu_;
  TierHealth health_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_TIER_HEALTH_H_

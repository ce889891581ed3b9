#include "server/tiers/tier_health.h"

#include <utility>

#include "absl/time/clock.h"

namespace cairn {
namespace {

class HealthTrackingWriter final : public TierWriter {
 public:
  HealthTrackingWriter(HealthTrackingTier* tier, std::unique_ptr<TierWriter> base)
      : tier_(tier), base_(std::move(base)) {}
  // A successful Append may only have filled a buffer, so only its failure
  // counts; a Commit counts either way.
  absl::Status Append(absl::string_view data) override {
    absl::Status s = base_->Append(data);
    if (!s.ok()) tier_->Observe(s);
    return s;
  }
  absl::Status Commit() override {
    absl::Status s = base_->Commit();
    tier_->Observe(s);
    return s;
  }
  uint64_t size() const override { return base_->size(); }

 private:
  HealthTrackingTier* const tier_;
  const std::unique_ptr<TierWriter> base_;
};

}  // namespace

bool IsOutage(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

HealthTrackingTier::HealthTrackingTier(std::unique_ptr<Tier> base, absl::Duration retry_after)
    : base_(std::move(base)), retry_after_(retry_after) {}

TierHealth HealthTrackingTier::health() const {
  absl::MutexLock lock(&mu_);
  return health_;
}

bool HealthTrackingTier::Avoid(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  return !health_.up && now < health_.retry_at;
}

void HealthTrackingTier::Observe(const absl::Status& status) {
  // Answers (NotFound, OutOfRange, ...) prove the store is reachable.
  const bool outage = IsOutage(status);
  absl::MutexLock lock(&mu_);
  if (!outage) {
    if (!health_.up) {
      health_.up = true;
      health_.down_since = absl::InfinitePast();
    }
    return;
  }
  const absl::Time now = absl::Now();
  ++health_.failures;
  if (health_.up) health_.down_since = now;
  health_.up = false;
  health_.retry_at = now + retry_after_;
  health_.last_error = std::string(status.message());
}

absl::StatusOr<std::unique_ptr<TierWriter>> HealthTrackingTier::Create(absl::string_view object) {
  absl::StatusOr<std::unique_ptr<TierWriter>> w = base_->Create(object);
  if (!w.ok()) {
    Observe(w.status());
    return w.status();
  }
  return std::unique_ptr<TierWriter>(new HealthTrackingWriter(this, *std::move(w)));
}

absl::Status HealthTrackingTier::Put(absl::string_view object, absl::string_view data) {
  absl::Status s = base_->Put(object, data);
  Observe(s);
  return s;
}

absl::Status HealthTrackingTier::Read(absl::string_view object, uint64_t offset, size_t length,
                                      std::string* out) {
  absl::Status s = base_->Read(object, offset, length, out);
  Observe(s);
  return s;
}

absl::StatusOr<uint64_t> HealthTrackingTier::Size(absl::string_view object) {
  absl::StatusOr<uint64_t> s = base_->Size(object);
  Observe(s.status());
  return s;
}

absl::Status HealthTrackingTier::Delete(absl::string_view object) {
  absl::Status s = base_->Delete(object);
  Observe(s);
  return s;
}

absl::StatusOr<std::vector<std::string>> HealthTrackingTier::List() {
  absl::StatusOr<std::vector<std::string>> s = base_->List();
  Observe(s.status());
  return s;
}

absl::StatusOr<std::vector<std::string>> HealthTrackingTier::ListWithPrefix(
    absl::string_view prefix) {
  absl::StatusOr<std::vector<std::string>> s = base_->ListWithPrefix(prefix);
  Observe(s.status());
  return s;
}

absl::StatusOr<TierSpace> HealthTrackingTier::Space() {
  absl::StatusOr<TierSpace> s = base_->Space();
  Observe(s.status());
  return s;
}

}  // namespace cairn

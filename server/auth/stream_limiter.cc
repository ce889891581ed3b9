#include "server/auth/stream_limiter.h"

#include "absl/strings/str_cat.h"

namespace cairn {

StreamLimiter::Slot::~Slot() {
  if (limiter_ != nullptr) limiter_->Release(key_);
}

absl::StatusOr<StreamLimiter::Slot> StreamLimiter::Acquire(const std::string& key) {
  absl::MutexLock lock(&mu_);
  uint32_t& n = open_[key];
  if (n >= max_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(key, " already has ", n,
                     " streams open, the most limits.max_streams_per_agent allows; "
                     "wait for one to end"));
  }
  ++n;
  return Slot(this, key);
}

uint32_t StreamLimiter::open(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(key);
  return it == open_.end() ? 0 : it->second;
}

void StreamLimiter::Release(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(key);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

}  // namespace cairn

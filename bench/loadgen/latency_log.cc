#include "bench/loadgen/latency_log.h"

#include <algorithm>
#include <cmath>

namespace cairn {

void LatencyLog::Add(absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  ms_.push_back(absl::ToDoubleMilliseconds(latency));
}

size_t LatencyLog::count() const {
  absl::MutexLock lock(&mu_);
  return ms_.size();
}

double LatencyLog::PercentileMs(double p) const {
  absl::MutexLock lock(&mu_);
  if (ms_.empty()) return 0;
  std::vector<double> sorted = ms_;
  std::sort(sorted.begin(), sorted.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace cairn

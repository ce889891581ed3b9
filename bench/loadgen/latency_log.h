// Latencies of one kind of call from many threads, and their percentiles.
//
//   LatencyLog log;
//   log.Add(absl::Milliseconds(3));       // any thread
//   double p99_ms = log.PercentileMs(99);
#ifndef CAIRN_BENCH_LOADGEN_LATENCY_LOG_H_
#define CAIRN_BENCH_LOADGEN_LATENCY_LOG_H_

#include <cstddef>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cairn {

class LatencyLog final {
 public:
  void Add(absl::Duration latency);
  size_t count() const;
  // The p-th percentile (0..100, nearest rank) in milliseconds; 0 when empty.
  double PercentileMs(double p) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<double> ms_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_BENCH_LOADGEN_LATENCY_LOG_H_

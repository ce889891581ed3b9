// What the status page plots over time: storage per tier and the catalog's
// totals (logical, unique, stored bytes: dedup and compression), sampled
// every `interval` by a thread of its own and kept in memory for a week at
// the default interval (2,016 samples; the oldest go first). A restart starts
// the history again: Prometheus (docs/operations.md) is the durable record.
//
//   UsageHistory history(&core->status(), absl::Minutes(5));
//   history.Start();
//   std::string json = history.Json();
#ifndef CAIRN_SERVER_WEB_USAGE_HISTORY_H_
#define CAIRN_SERVER_WEB_USAGE_HISTORY_H_

#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/browse/status_service.h"

namespace cairn {

class UsageHistory final {
 public:
  static constexpr size_t kMaxSamples = 2016;

  UsageHistory(StatusService* status, absl::Duration interval)
      : status_(status), interval_(interval) {}
  ~UsageHistory() { Stop(); }
  UsageHistory(const UsageHistory&) = delete;
  UsageHistory& operator=(const UsageHistory&) = delete;

  // Takes a sample now, then one every interval until Stop.
  void Start();
  void Stop();
  void SampleNow();
  // The stored samples and one taken now (not stored):
  // {"samples":[{"unix_ms":...,"logical_bytes":...,"unique_bytes":...,
  //  "stored_bytes":...,"tiers":{"hot":123,...}},...]} (64-bit numbers as
  // JSON numbers: browsers read them exactly up to 2^53 bytes, 8 PiB).
  std::string Json();

 private:
  struct Sample {
    int64_t unix_ms = 0;
    uint64_t logical_bytes = 0, unique_bytes = 0, stored_bytes = 0;
    std::vector<std::pair<std::string, uint64_t>> tiers;
  };

  Sample Take();

  StatusService* status_;
  const absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<Sample> samples_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_WEB_USAGE_HISTORY_H_

// Samples one process's resident memory, thread count and CPU time from
// /proc every `every` while a load run goes on, keeping the peaks.
//
//   ProcSampler server(server_pid);
//   ... the run ...
//   ProcSampler::Sample peak = server.Stop();  // peak RSS, threads; CPU since start
#ifndef CAIRN_BENCH_LOADGEN_PROC_SAMPLER_H_
#define CAIRN_BENCH_LOADGEN_PROC_SAMPLER_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace cairn {

class ProcSampler final {
 public:
  struct Sample {
    uint64_t rss_bytes = 0;
    uint64_t peak_rss_bytes = 0;  // VmHWM: the kernel's high-water mark
    uint32_t threads = 0;
    double cpu_seconds = 0;  // user + system
  };
  // One reading of `pid` now; nullopt when it cannot be read (gone).
  static std::optional<Sample> Read(pid_t pid);

  explicit ProcSampler(pid_t pid, absl::Duration every = absl::Milliseconds(250));
  ~ProcSampler();
  ProcSampler(const ProcSampler&) = delete;
  ProcSampler& operator=(const ProcSampler&) = delete;

  // Stops sampling: the peak RSS and thread count seen, and the CPU time
  // used since construction. Zeroes when the process could not be read.
  Sample Stop();

 private:
  void Take() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const pid_t pid_;
  absl::Mutex mu_;
  Sample peak_ ABSL_GUARDED_BY(mu_);
  std::optional<double> first_cpu_ ABSL_GUARDED_BY(mu_);
  double last_cpu_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_BENCH_LOADGEN_PROC_SAMPLER_H_

// A load run: N simulated agents (sim_agent.h) in this process against one
// real cairn-server, as a GPU cluster would load it. Every agent holds the
// same dataset shards (hard links to one seeded copy on disk, as every node
// holds the same shards) and a file of its own that changes before each of
// its backups. The run:
//   1. enrolls every agent with the join token and opens its control
//      stream (heartbeats every 5 s, as the daemon sends);
//   2. the storm: every agent takes a full backup, at most `concurrent` at
//      once, all starting together; halfway through, one agent restores its
//      snapshot and checks it byte for byte against the source;
//   3. until `duration` has passed since the start: incrementals of random
//      agents, at most `concurrent` at once.
// It reports what was sent against what was unique, FindMissingChunks
// latency as the agents saw it, every committed snapshot, and (given the
// server's pid) the server's peak memory, threads and CPU.
//
//   ASSIGN_OR_RETURN(v1::LoadReport report, RunLoad(options));
#ifndef CAIRN_BENCH_LOADGEN_LOAD_RUN_H_
#define CAIRN_BENCH_LOADGEN_LOAD_RUN_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cairn/v1/cli.pb.h"

namespace cairn {

struct LoadOptions {
  std::string server;  // host:port of a running cairn-server
  std::string token;   // join token for `tenant` that admits agents "load-*"
  std::string tenant = "load";
  std::string dir;  // generated data, agents' state and restores
  int agents = 100;
  int concurrent = 50;                          // backups at once
  absl::Duration duration = absl::Seconds(30);  // incrementals until then
  absl::Duration timeout = absl::Minutes(30);   // no new backup starts after it
  int shards = 4;
  uint64_t shard_bytes = 16u << 20;
  uint64_t own_bytes = 256u << 10;
  int workers = 1;       // seal workers per backup
  pid_t server_pid = 0;  // 0: no server figures
  uint64_t seed = 1;
  bool restore = true;
  std::function<void(absl::string_view line)> log;  // progress, about every 5 s
};

absl::StatusOr<v1::LoadReport> RunLoad(const LoadOptions& options);

// Only the probe, as agent "load-probe-own" of a load run started by another
// process (whose tenant key, <dir>/tenant.key, it shares): FindMissingChunks
// of 256 unknown ids every 100 ms until `stop` is notified or
// `options.duration` has passed. Fills the probe_* fields of the report.
absl::StatusOr<v1::LoadReport> RunProbe(const LoadOptions& options, absl::Notification* stop);

}  // namespace cairn

#endif  // CAIRN_BENCH_LOADGEN_LOAD_RUN_H_

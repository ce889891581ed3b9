// Every metric family cairn-server keeps up to date as it works, registered
// in one place so that names, help and labels are reviewed together
// (docs/operations.md lists them). What is cheaper to read at scrape time
// (agents, tiers, catalog totals) is added by a collector
// (server/core/status_metrics.h). Label values come from bounded sets:
// method names, job kinds and results, never paths or ids.
//
//   metrics->JobFinished(job);
//   std::string text = metrics->registry().Render();
#ifndef CAIRN_SERVER_METRICS_SERVER_METRICS_H_
#define CAIRN_SERVER_METRICS_SERVER_METRICS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cairn/v1/types.pb.h"
#include "common/metrics/metrics.h"

namespace cairn {

class ServerMetrics final {
 public:
  ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  MetricsRegistry& registry() { return registry_; }

  // A call that ended with gRPC status `code` ("OK", "NOT_FOUND", ...).
  void RpcDone(absl::string_view method, absl::string_view code, double seconds);
  // A job that reached a final state (succeeded, partial, failed, cancelled).
  void JobFinished(const v1::Job& job);
  // One UploadChunks stream that finished: what it sent and what was new.
  void UploadDone(uint64_t received_bytes, uint64_t chunks_stored, uint64_t chunks_present,
                  uint64_t bytes_stored, uint64_t packs);
  // Restore and verify reads: sealed bytes sent to agents.
  void ChunksRead(uint64_t chunks, uint64_t bytes);
  // A garbage collection or prune that ran, and what it removed.
  void MaintenanceRun(absl::string_view what, bool ok);
  void GcRemoved(uint64_t packs, uint64_t bytes);
  // Chunks an agent's verify reported damaged.
  void DamageReported(uint64_t chunks);

 private:
  MetricsRegistry registry_;
  CounterFamily* rpc_calls_;
  HistogramFamily* rpc_seconds_;
  CounterFamily* jobs_;
  HistogramFamily* job_seconds_;
  Counter* received_bytes_;
  CounterFamily* chunks_;
  Counter* stored_bytes_;
  Counter* packs_;
  Counter* read_chunks_;
  Counter* read_bytes_;
  CounterFamily* maintenance_;
  Counter* gc_packs_;
  Counter* gc_bytes_;
  Counter* damaged_;
};

// "backup", "restore", ... ; "succeeded", "partial", "failed", "cancelled".
std::string JobKindLabel(v1::JobKind kind);
std::string JobResultLabel(v1::JobState state);

}  // namespace cairn

#endif  // CAIRN_SERVER_METRICS_SERVER_METRICS_H_

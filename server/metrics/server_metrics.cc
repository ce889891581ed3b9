#include "server/metrics/server_metrics.h"

#include <algorithm>

namespace cairn {
namespace {

// Job durations: one second to two days.
std::vector<double> JobBuckets() {
  return {1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 172800};
}

}  // namespace

std::string JobKindLabel(v1::JobKind kind) {
  switch (kind) {
    case v1::JOB_KIND_BACKUP:
      return "backup";
    case v1::JOB_KIND_RESTORE:
      return "restore";
    case v1::JOB_KIND_VERIFY:
      return "verify";
    case v1::JOB_KIND_PRUNE:
      return "prune";
    case v1::JOB_KIND_GC:
      return "gc";
    default:
      return "other";
  }
}

std::string JobResultLabel(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_SUCCEEDED:
      return "succeeded";
    case v1::JOB_STATE_PARTIAL:
      return "partial";
    case v1::JOB_STATE_FAILED:
      return "failed";
    case v1::JOB_STATE_CANCELLED:
      return "cancelled";
    case v1::JOB_STATE_QUEUED:
      return "queued";
    case v1::JOB_STATE_RUNNING:
      return "running";
    default:
      return "other";
  }
}

ServerMetrics::ServerMetrics() {
  rpc_calls_ = registry_.AddCounter("cairn_rpc_calls_total",
                                    "gRPC calls handled, by full method name and status code.",
                                    {"method", "code"});
  rpc_seconds_ = registry_.AddHistogram(
      "cairn_rpc_duration_seconds",
      "Time from a call's arrival to its status, by method (streams: the whole stream).",
      {"method"}, LatencyBuckets());
  jobs_ = registry_.AddCounter("cairn_jobs_finished_total",
                               "Jobs that reached a final state, by kind and result.",
                               {"kind", "result"});
  job_seconds_ = registry_.AddHistogram("cairn_job_duration_seconds",
                                        "Time from a job's start to its end, by kind.", {"kind"},
                                        JobBuckets());
  received_bytes_ =
      registry_
          .AddCounter("cairn_ingest_received_bytes_total",
                      "Sealed chunk bytes received from agents (UploadChunks), new or not.")
          ->With({});
  chunks_ = registry_.AddCounter(
      "cairn_ingest_chunks_total",
      "Chunks received, by result: stored (new) or present (another upload stored it first).",
      {"result"});
  stored_bytes_ = registry_
                      .AddCounter("cairn_ingest_stored_bytes_total",
                                  "Sealed chunk bytes written into new packs.")
                      ->With({});
  packs_ =
      registry_.AddCounter("cairn_packs_written_total", "Packs written and catalogued.")->With({});
  read_chunks_ =
      registry_
          .AddCounter("cairn_read_chunks_total", "Chunks sent to agents for restores and verifies.")
          ->With({});
  read_bytes_ = registry_
                    .AddCounter("cairn_read_bytes_total",
                                "Sealed chunk bytes sent to agents for restores and verifies.")
                    ->With({});
  maintenance_ = registry_.AddCounter("cairn_maintenance_runs_total",
                                      "Garbage collections and prunes run, by result.",
                                      {"operation", "result"});
  gc_packs_ = registry_
                  .AddCounter("cairn_gc_removed_packs_total",
                              "Packs garbage collection deleted or rewrote.")
                  ->With({});
  gc_bytes_ = registry_
                  .AddCounter("cairn_gc_reclaimed_bytes_total",
                              "Bytes garbage collection gave back to the tiers.")
                  ->With({});
  damaged_ = registry_
                 .AddCounter("cairn_verify_damaged_chunks_total",
                             "Chunks agents' verifies found damaged (forgotten, stored again "
                             "by the next backup).")
                 ->With({});
}

void ServerMetrics::RpcDone(absl::string_view method, absl::string_view code, double seconds) {
  rpc_calls_->With({std::string(method), std::string(code)})->Add();
  rpc_seconds_->With({std::string(method)})->Observe(std::max(0.0, seconds));
}

void ServerMetrics::JobFinished(const v1::Job& job) {
  const std::string kind = JobKindLabel(job.kind());
  jobs_->With({kind, JobResultLabel(job.state())})->Add();
  if (job.started_unix_ms() > 0 && job.finished_unix_ms() >= job.started_unix_ms()) {
    job_seconds_->With({kind})->Observe((job.finished_unix_ms() - job.started_unix_ms()) / 1e3);
  }
}

void ServerMetrics::UploadDone(uint64_t received_bytes, uint64_t chunks_stored,
                               uint64_t chunks_present, uint64_t bytes_stored, uint64_t packs) {
  received_bytes_->Add(received_bytes);
  chunks_->With({"stored"})->Add(chunks_stored);
  chunks_->With({"present"})->Add(chunks_present);
  stored_bytes_->Add(bytes_stored);
  packs_->Add(packs);
}

void ServerMetrics::ChunksRead(uint64_t chunks, uint64_t bytes) {
  read_chunks_->Add(chunks);
  read_bytes_->Add(bytes);
}

void ServerMetrics::MaintenanceRun(absl::string_view what, bool ok) {
  maintenance_->With({std::string(what), ok ? "ok" : "error"})->Add();
}

void ServerMetrics::GcRemoved(uint64_t packs, uint64_t bytes) {
  gc_packs_->Add(packs);
  gc_bytes_->Add(bytes);
}

void ServerMetrics::DamageReported(uint64_t chunks) { damaged_->Add(chunks); }

}  // namespace cairn

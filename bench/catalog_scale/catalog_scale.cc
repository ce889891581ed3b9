#include "bench/catalog_scale/catalog_scale.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/catalog_scale/synthetic_catalog.h"
#include "bench/loadgen/latency_log.h"
#include "bench/loadgen/proc_sampler.h"
#include "common/status_macros.h"
#include "server/catalog/catalog.h"
#include "server/catalog/sqlite_db.h"
#include "server/ingest/gc_guard.h"
#include "server/maintenance/garbage_collector.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/tier_set.h"

namespace cairn {
namespace {

// The database file after a checkpoint (the WAL emptied into it), and the
// bytes of the chunks table with its indexes (dbstat).
absl::Status MeasureBytes(const std::string& path, v1::CatalogScaleStep* step) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  RETURN_IF_ERROR(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  std::error_code error;
  uint64_t bytes = std::filesystem::file_size(path, error);
  if (error) return absl::InternalError(absl::StrCat(path, ": ", error.message()));
  step->set_catalog_bytes(bytes);
  step->set_bytes_per_chunk(static_cast<double>(bytes) / static_cast<double>(step->chunks()));
  ASSIGN_OR_RETURN(SqliteStatement index,
                   db->Prepare("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat "
                               "WHERE name IN ('chunks', 'chunks_by_pack')"));
  ASSIGN_OR_RETURN(bool found, index.Step());
  if (!found) return absl::InternalError("dbstat returned no row");
  step->set_index_bytes_per_chunk(static_cast<double>(index.ColumnInt(0)) /
                                  static_cast<double>(step->chunks()));
  return absl::OkStatus();
}

// `probes` FindMissing calls of `batch` ids, the first half held (from the
// sample), the rest new; each answer must name exactly the new ones.
absl::Status ProbeFindMissing(Catalog* catalog, int64_t tenant, SyntheticCatalog* synthetic,
                              const CatalogScaleOptions& o, v1::CatalogScaleStep* step) {
  const std::vector<std::string>& held = synthetic->sample();
  if (held.empty()) return absl::FailedPreconditionError("no chunk held yet");
  const uint32_t half = o.batch / 2;
  LatencyLog latency;
  absl::Duration total;
  uint64_t next = 0;
  for (uint32_t call = 0; call < o.probes; ++call) {
    std::vector<std::string> ids;
    ids.reserve(o.batch);
    for (uint32_t i = 0; i < half; ++i) {
      // A stride through the sample: the ids of one call are spread over the key space.
      next = (next + 7919) % held.size();
      ids.push_back(held[next]);
    }
    for (uint32_t i = half; i < o.batch; ++i) ids.push_back(synthetic->NewId());
    absl::Time began = absl::Now();
    ASSIGN_OR_RETURN(std::vector<uint32_t> missing, catalog->chunks().FindMissing(tenant, ids));
    absl::Duration took = absl::Now() - began;
    latency.Add(took);
    total += took;
    bool right = missing.size() == o.batch - half;
    for (size_t i = 0; right && i < missing.size(); ++i) right = missing[i] == half + i;
    if (!right) {
      return absl::InternalError(absl::StrCat("FindMissing at ", step->chunks(), " chunks named ",
                                              missing.size(), " missing of ", o.batch - half,
                                              " new ids: the catalog answers wrongly"));
    }
  }
  step->set_find_missing_calls(o.probes);
  step->set_find_missing_batch(o.batch);
  step->set_find_missing_p50_ms(latency.PercentileMs(50));
  step->set_find_missing_p99_ms(latency.PercentileMs(99));
  step->set_find_missing_max_ms(latency.PercentileMs(100));
  step->set_find_missing_us_per_id(absl::ToDoubleMicroseconds(total) /
                                   (static_cast<double>(o.probes) * o.batch));
  return absl::OkStatus();
}

// A dry-run collection over everything; it must find nothing to delete.
absl::Status DryRunGc(Catalog* catalog, const TierSet* tiers, uint64_t mark_memory_bytes,
                      const std::function<void(absl::string_view)>& log,
                      v1::CatalogScaleStep* step) {
  GcGuard guard(absl::Now);
  GarbageCollector gc(catalog, tiers, &guard, absl::Now);
  GcOptions options;
  options.dry_run = true;
  options.compact_below = 0;  // no pack object exists to rewrite
  options.grace = absl::ZeroDuration();
  options.mark_memory_bytes = mark_memory_bytes;
  std::optional<ProcSampler::Sample> before = ProcSampler::Read(getpid());
  ProcSampler sampler(getpid(), absl::Milliseconds(50));
  absl::Time began = absl::Now();
  ASSIGN_OR_RETURN(GcReport report, gc.Run(options));
  absl::Duration took = absl::Now() - began;
  ProcSampler::Sample peak = sampler.Stop();
  if (report.chunks_deleted != 0 || report.trees_deleted != 0 || report.packs_deleted != 0 ||
      !report.problems.empty()) {
    return absl::InternalError(absl::StrCat(
        "a dry-run collection of the synthetic catalog would delete ", report.chunks_deleted,
        " chunks, ", report.trees_deleted, " trees, ", report.packs_deleted,
        " packs (every one is referenced)",
        report.problems.empty() ? "" : absl::StrCat("; problems: ", report.problems.front())));
  }
  step->set_gc_seconds(absl::ToDoubleSeconds(took));
  if (log) log(absl::StrCat("dry-run gc: ", report.mark_passes, " mark pass(es)"));
  uint64_t base = before.has_value() ? before->rss_bytes : 0;
  step->set_gc_memory_bytes(peak.rss_bytes > base ? peak.rss_bytes - base : 0);
  step->set_gc_ns_per_chunk(absl::ToDoubleNanoseconds(took) / static_cast<double>(step->chunks()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::CatalogScaleReport> RunCatalogScale(const CatalogScaleOptions& o) {
  if (o.dir.empty()) return absl::InvalidArgumentError("--dir is required");
  if (o.steps.empty()) return absl::InvalidArgumentError("no steps: give --steps");
  if (!std::is_sorted(o.steps.begin(), o.steps.end()) || o.steps.front() == 0) {
    return absl::InvalidArgumentError("--steps must be positive and ascending");
  }
  if (o.batch < 2 || o.probes == 0 || o.chunks_per_pack == 0) {
    return absl::InvalidArgumentError("--batch must be at least 2, --probes and packs positive");
  }
  std::error_code error;
  std::filesystem::create_directories(o.dir + "/packs", error);
  if (error) return absl::InternalError(absl::StrCat(o.dir, ": ", error.message()));
  const std::string path = o.dir + "/catalog.db";
  if (std::filesystem::exists(path)) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists: give an empty --dir"));
  }
  auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<Catalog> catalog, Catalog::Open(path));
  ASSIGN_OR_RETURN(std::unique_ptr<Tier> hot, OpenLocalTier("hot", o.dir + "/packs"));
  std::vector<std::unique_ptr<Tier>> opened;
  opened.push_back(std::move(hot));
  TierSet tiers(std::move(opened));

  SyntheticOptions s;
  s.chunks_per_pack = o.chunks_per_pack;
  s.chunks_per_file = o.chunks_per_file;
  s.seed = o.seed;
  SyntheticCatalog synthetic(catalog.get(), s);
  v1::CatalogScaleReport report;
  report.set_chunks_per_pack(o.chunks_per_pack);
  report.set_chunks_per_file(o.chunks_per_file);
  report.set_files_per_directory((o.chunks_per_pack + o.chunks_per_file - 1) / o.chunks_per_file);
  // The tenant exists before a bulk load writes its rows.
  RETURN_IF_ERROR(catalog->agents().TenantId(s.tenant).status());
  for (uint64_t target : o.steps) {
    absl::Duration bulk = absl::ZeroDuration();
    if (o.timed_rows > 0 && target > synthetic.chunks() + o.timed_rows) {
      log(absl::StrFormat("bulk-loading to %d chunk rows", target - o.timed_rows));
      absl::Time began = absl::Now();
      synthetic.set_catalog(nullptr);
      catalog.reset();  // the bulk load has the file to itself
      RETURN_IF_ERROR(synthetic.BulkGrowTo(target - o.timed_rows, path));
      // Its page cache goes back to the system, so the collection's memory
      // below is measured from a baseline without it.
      malloc_trim(0);
      ASSIGN_OR_RETURN(catalog, Catalog::Open(path));
      synthetic.set_catalog(catalog.get());
      bulk = absl::Now() - began;
    }
    const uint64_t before = synthetic.chunks();
    log(absl::StrFormat("growing to %d chunk rows", target));
    absl::Time began = absl::Now();
    RETURN_IF_ERROR(synthetic.GrowTo(target));
    absl::Duration grew = absl::Now() - began;
    v1::CatalogScaleStep* step = report.add_steps();
    step->set_timed_chunks(synthetic.chunks() - before);
    step->set_bulk_seconds(absl::ToDoubleSeconds(bulk));
    step->set_chunks(synthetic.chunks());
    step->set_packs(synthetic.packs());
    step->set_trees(synthetic.trees());
    step->set_snapshots(synthetic.snapshots());
    step->set_grow_seconds(absl::ToDoubleSeconds(grew));
    step->set_chunks_per_second(static_cast<double>(synthetic.chunks() - before) /
                                std::max(1e-9, absl::ToDoubleSeconds(grew)));
    ASSIGN_OR_RETURN(int64_t tenant, catalog->agents().TenantId(s.tenant));
    RETURN_IF_ERROR(ProbeFindMissing(catalog.get(), tenant, &synthetic, o, step));
    if (o.gc) RETURN_IF_ERROR(DryRunGc(catalog.get(), &tiers, o.gc_mark_memory_bytes, o.log, step));
    RETURN_IF_ERROR(MeasureBytes(path, step));
    log(absl::StrFormat(
        "%d chunks: %.0f rows/s, FindMissing p50 %.2f ms p99 %.2f ms, gc %.1fs (+%d MiB), "
        "%.0f B/chunk (%d rows timed; bulk load %.0fs)",
        step->chunks(), step->chunks_per_second(), step->find_missing_p50_ms(),
        step->find_missing_p99_ms(), step->gc_seconds(), step->gc_memory_bytes() >> 20,
        step->bytes_per_chunk(), step->timed_chunks(), step->bulk_seconds()));
  }
  std::optional<ProcSampler::Sample> self = ProcSampler::Read(getpid());
  if (self.has_value()) report.set_peak_rss_bytes(self->peak_rss_bytes);
  report.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  return report;
}

}  // namespace cairn

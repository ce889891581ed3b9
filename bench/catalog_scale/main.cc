// cairn-catalog-scale: grows a synthetic catalog step by step and measures,
// at each size, chunk-row ingest, FindMissing latency, a dry-run garbage
// collection and catalog bytes per chunk (catalog_scale.h; docs/scale.md).
//
//   cairn-catalog-scale --dir /tmp/scale --steps 1000000,10000000
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/catalog_scale/catalog_scale.h"
#include "common/flag_names.h"
#include "common/heap_settings.h"
#include "common/json_output.h"

ABSL_FLAG(std::string, dir, "", "work directory (empty or new): the catalog and an empty tier");
ABSL_FLAG(std::string, steps, "1000000,3000000,10000000",
          "chunk rows to grow the catalog to, ascending, comma-separated");
ABSL_FLAG(uint32_t, chunks_per_pack, 1024, "chunks per pack (of 64 KiB each)");
ABSL_FLAG(uint32_t, chunks_per_file, 64, "chunks per file of the trees that reference them");
ABSL_FLAG(uint32_t, probes, 400, "FindMissing calls per step");
ABSL_FLAG(uint32_t, batch, 256, "ids per FindMissing call (half held, half not)");
ABSL_FLAG(bool, gc, true, "a dry-run garbage collection at each step");
ABSL_FLAG(uint64_t, gc_mark_memory, 1024,
          "MiB the collection's chunk mark may use (more chunks than fit: marked in passes)");
ABSL_FLAG(uint64_t, seed, 1, "seed of the generated ids");
ABSL_FLAG(uint64_t, timed_rows, 0,
          "0: record every chunk row the server's way, timed; N: bulk-load each step to N rows "
          "short of its size (no journal, no fsync: a crash leaves the catalog corrupt) and "
          "record and time the last N the server's way");
ABSL_FLAG(bool, json, false, "print the report as JSON (cairn.v1.CatalogScaleReport)");

namespace {

constexpr char kUsage[] =
    "cairn-catalog-scale: a catalog of millions of chunks, measured as it grows.\n\n"
    "  cairn-catalog-scale --dir DIR [--steps N,N,...] [--json]\n\n"
    "Records packs, chunks, trees referencing every chunk and a snapshot per step through the "
    "catalog's own stores (no data is uploaded), and at each size reports chunk rows recorded per "
    "second, FindMissing latency for batches of half-held ids (answers checked), a dry-run "
    "garbage collection (it must find nothing to delete) and its memory, and catalog bytes per "
    "chunk. Disk: about 200 bytes per chunk row. With --timed-rows N, each step is bulk-loaded "
    "to N rows short of its size and only the last N rows are recorded the server's way and "
    "timed (how to reach 100M rows in under an hour). Exit status 1 when a check fails.";

double Mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

void PrintReport(const cairn::v1::CatalogScaleReport& r) {
  std::cout << absl::StrFormat("%12s %10s %9s %9s %9s %10s %9s %9s %9s %9s\n", "chunks", "rows/s",
                               "FM p50", "FM p99", "us/id", "gc s", "gc MiB", "gc ns/ch", "B/chunk",
                               "index B");
  for (const cairn::v1::CatalogScaleStep& s : r.steps()) {
    std::cout << absl::StrFormat(
        "%12d %10.0f %7.2fms %7.2fms %9.2f %10.1f %9.0f %9.0f %9.0f %9.0f\n", s.chunks(),
        s.chunks_per_second(), s.find_missing_p50_ms(), s.find_missing_p99_ms(),
        s.find_missing_us_per_id(), s.gc_seconds(), Mib(s.gc_memory_bytes()), s.gc_ns_per_chunk(),
        s.bytes_per_chunk(), s.index_bytes_per_chunk());
  }
  std::cout << absl::StrFormat("peak RSS %.0f MiB, %.1fs in all\n", Mib(r.peak_rss_bytes()),
                               r.seconds());
}

}  // namespace

int main(int argc, char** argv) {
  cairn::KeepLargeBuffersInHeap();  // as cairn-server runs
  std::vector<std::string> flag_storage = cairn::NormalizeFlagNames(argc, argv);
  if (cairn::PrintHelpIfAsked(argc, argv, kUsage, "catalog_scale/main.cc", false)) return 0;
  absl::SetProgramUsageMessage(kUsage);
  absl::ParseCommandLine(argc, argv);
  cairn::CatalogScaleOptions o;
  o.dir = absl::GetFlag(FLAGS_dir);
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_steps), ',', absl::SkipWhitespace())) {
    uint64_t step = 0;
    if (!absl::SimpleAtoi(part, &step)) {
      std::cerr << "cairn-catalog-scale: --steps: \"" << part << "\" is not a count\n";
      return 2;
    }
    o.steps.push_back(step);
  }
  o.chunks_per_pack = absl::GetFlag(FLAGS_chunks_per_pack);
  o.chunks_per_file = absl::GetFlag(FLAGS_chunks_per_file);
  o.probes = absl::GetFlag(FLAGS_probes);
  o.batch = absl::GetFlag(FLAGS_batch);
  o.gc = absl::GetFlag(FLAGS_gc);
  o.gc_mark_memory_bytes = absl::GetFlag(FLAGS_gc_mark_memory) << 20;
  o.seed = absl::GetFlag(FLAGS_seed);
  o.timed_rows = absl::GetFlag(FLAGS_timed_rows);
  o.log = [](absl::string_view line) { std::cerr << "cairn-catalog-scale: " << line << std::endl; };
  if (o.dir.empty()) {
    std::cerr << "cairn-catalog-scale: --dir is required (--help)\n";
    return 2;
  }
  absl::StatusOr<cairn::v1::CatalogScaleReport> report = cairn::RunCatalogScale(o);
  if (!report.ok()) {
    std::cerr << "cairn-catalog-scale: " << report.status().message() << "\n";
    return report.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (absl::GetFlag(FLAGS_json)) {
    absl::Status printed = cairn::PrintJson(*report, std::cout);
    if (!printed.ok()) {
      std::cerr << "cairn-catalog-scale: " << printed.message() << "\n";
      return 1;
    }
  } else {
    PrintReport(*report);
  }
  return 0;
}

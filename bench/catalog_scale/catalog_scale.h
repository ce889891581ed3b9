// The catalog-scale run: a synthetic catalog (synthetic_catalog.h) grown step
// by step to millions of chunk rows, and at each size what a server lives
// on: how fast chunk rows are recorded, FindMissing latency for a batch of
// ids (half held, half not: the answer is checked), a dry-run garbage
// collection (the real GarbageCollector: every tree parsed, every chunk row
// paged; it must find nothing to delete) with its memory, and catalog bytes
// per chunk. docs/scale.md reads the figures.
//
//   ASSIGN_OR_RETURN(v1::CatalogScaleReport report,
//                    RunCatalogScale({.dir = "/tmp/scale", .steps = {1'000'000, 10'000'000}}));
#ifndef CAIRN_BENCH_CATALOG_SCALE_CATALOG_SCALE_H_
#define CAIRN_BENCH_CATALOG_SCALE_CATALOG_SCALE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/bench.pb.h"

namespace cairn {

struct CatalogScaleOptions {
  std::string dir;              // the catalog and an empty tier; must not exist or be empty
  std::vector<uint64_t> steps;  // chunk rows to grow to, ascending
  uint32_t chunks_per_pack = 1024;
  uint32_t chunks_per_file = 64;
  uint32_t probes = 400;  // FindMissing calls per step
  uint32_t batch = 256;   // ids per call
  bool gc = true;
  uint64_t gc_mark_memory_bytes = uint64_t{1} << 30;  // GcOptions::mark_memory_bytes
  uint64_t seed = 1;
  // 0: every chunk row is recorded the server's way (one durable transaction
  // per pack) and timed. N: each step is bulk-loaded to N rows short of its
  // size (SyntheticCatalog::BulkGrowTo, many times faster), and the last N
  // rows are recorded the server's way and timed: how to reach 100M rows.
  uint64_t timed_rows = 0;
  std::function<void(absl::string_view line)> log;  // progress
};

absl::StatusOr<v1::CatalogScaleReport> RunCatalogScale(const CatalogScaleOptions& options);

}  // namespace cairn

#endif  // CAIRN_BENCH_CATALOG_SCALE_CATALOG_SCALE_H_

// Chunker speed (the boundary scan alone and the whole Chunker over a
// ByteSource) and, for each candidate ChunkerParams, how much must be stored
// again after typical edits of large AI files. Figures: docs/performance.md.
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/data_gen.h"
#include "benchmark/benchmark.h"
#include "common/byte_source.h"
#include "common/chunker.h"

namespace cairn::bench {
namespace {

constexpr size_t kMiB = 1 << 20;

// The candidates for ChunkerParams::Default(), all min = avg / 4, max = 4 * avg
// (the last one caps at kMaxChunkSize).
constexpr std::array<ChunkerParams, 5> kCandidates = {{
    {.min_size = 32 << 10, .avg_size = 128 << 10, .max_size = 512 << 10},
    {.min_size = 128 << 10, .avg_size = 512 << 10, .max_size = 2 << 20},
    {.min_size = 256 << 10, .avg_size = 1 << 20, .max_size = 4 << 20},
    {.min_size = 512 << 10, .avg_size = 2 << 20, .max_size = 8 << 20},
    {.min_size = 1 << 20, .avg_size = 4 << 20, .max_size = 16 << 20},
}};

std::string ParamsLabel(const ChunkerParams& p) {
  auto kib = [](uint32_t v) {
    return v >= kMiB ? absl::StrCat(v / kMiB, "M") : absl::StrCat(v >> 10, "K");
  };
  return absl::StrCat(kib(p.min_size), "/", kib(p.avg_size), "/", kib(p.max_size));
}

const std::string& Random64MiB() {
  static const std::string* data = new std::string(RandomBytes(64 * kMiB, 1));
  return *data;
}

void BM_FindChunkBoundary(benchmark::State& state) {
  const ChunkerParams params = kCandidates[state.range(0)];
  const std::string& data = Random64MiB();
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(data.data());
  size_t chunks = 0;
  for (auto _ : state) {
    size_t offset = 0;
    while (offset < data.size()) {
      offset += FindChunkBoundary(params, bytes + offset, data.size() - offset);
      ++chunks;
    }
    benchmark::DoNotOptimize(offset);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["mean_KiB"] =
      static_cast<double>(state.iterations() * data.size()) / chunks / 1024.0;
  state.SetLabel(ParamsLabel(params));
}
BENCHMARK(BM_FindChunkBoundary)
    ->DenseRange(0, kCandidates.size() - 1)
    ->Unit(benchmark::kMillisecond);

void BM_ChunkerStringSource(benchmark::State& state) {
  const ChunkerParams params = kCandidates[state.range(0)];
  const std::string& data = Random64MiB();
  for (auto _ : state) {
    StringSource source(data);
    Chunker chunker(params, &source);
    Chunk chunk;
    size_t total = 0;
    while (*chunker.Next(&chunk)) total += chunk.data.size();
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(ParamsLabel(params));
}
BENCHMARK(BM_ChunkerStringSource)
    ->DenseRange(0, kCandidates.size() - 1)
    ->Unit(benchmark::kMillisecond);

// The same with one Chunker reused through Reset, as for a stream of files:
// no buffer allocation (and page faults) per file.
void BM_ChunkerReused(benchmark::State& state) {
  const ChunkerParams params = kCandidates[state.range(0)];
  const std::string& data = Random64MiB();
  Chunker chunker(params, nullptr);
  for (auto _ : state) {
    StringSource source(data);
    chunker.Reset(&source);
    Chunk chunk;
    size_t total = 0;
    while (*chunker.Next(&chunk)) total += chunk.data.size();
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(ParamsLabel(params));
}
BENCHMARK(BM_ChunkerReused)->DenseRange(0, kCandidates.size() - 1)->Unit(benchmark::kMillisecond);

// Through FdRangeSource from a file in the page cache: adds pread's copy.
void BM_ChunkerFdRangeSource(benchmark::State& state) {
  const ChunkerParams params = kCandidates[state.range(0)];
  const std::string& data = Random64MiB();
  char path[] = "/tmp/cairn_chunker_bench_XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    state.SkipWithError("cannot write a temp file");
    return;
  }
  ::unlink(path);
  Chunker chunker(params, nullptr);
  for (auto _ : state) {
    FdRangeSource source(fd, 0, data.size(), path);
    chunker.Reset(&source);
    Chunk chunk;
    size_t total = 0;
    while (*chunker.Next(&chunk)) total += chunk.data.size();
    benchmark::DoNotOptimize(total);
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(ParamsLabel(params));
}
BENCHMARK(BM_ChunkerFdRangeSource)
    ->DenseRange(0, kCandidates.size() - 1)
    ->Unit(benchmark::kMillisecond);

// Dedup after an edit. The "checkpoint" is 256 MiB of BF16 weights; each
// scenario edits a copy, and we count the bytes of chunks the edited copy has
// that the original lacked: what an incremental backup uploads and stores.
struct Edit {
  const char* name;
  std::function<std::string(const std::string&)> apply;
  size_t changed_bytes;  // bytes the edit really changed or added
};

std::string Overwrite(std::string data, size_t offset, size_t length, uint64_t seed) {
  std::string fresh = Bf16Weights(length, seed);
  std::memcpy(data.data() + offset, fresh.data(), length);
  return data;
}

const std::vector<Edit>& Edits() {
  static const std::vector<Edit>* edits = new std::vector<Edit>{
      // A safetensors header grows by a few bytes: everything after shifts.
      {"insert_100B_at_start", [](const std::string& d) { return std::string(100, '{') + d; }, 100},
      {"insert_100B_middle",
       [](const std::string& d) {
         std::string out = d;
         out.insert(d.size() / 2 + 777, std::string(100, 'x'));
         return out;
       },
       100},
      // Fine-tuning updated one 24 MiB tensor (a large projection matrix).
      {"rewrite_24MiB_tensor",
       [](const std::string& d) { return Overwrite(d, 100 * kMiB + 4321, 24 * kMiB, 7); },
       24 * kMiB},
      // 32 small tensors (norms, biases) of 64 KiB each changed, spread out.
      {"rewrite_32x64KiB",
       [](const std::string& d) {
         std::string out = d;
         for (size_t i = 0; i < 32; ++i) {
           out = Overwrite(std::move(out), i * (d.size() / 32) + 999, 64 << 10, 100 + i);
         }
         return out;
       },
       32 * (64 << 10)},
      // A dataset shard grew by 1 MiB.
      {"append_1MiB", [](const std::string& d) { return d + Bf16Weights(kMiB, 9); }, kMiB},
  };
  return *edits;
}

void BM_ChunkerDedupAfterEdit(benchmark::State& state) {
  const ChunkerParams params = kCandidates[state.range(0)];
  const Edit& edit = Edits()[state.range(1)];
  static const std::string* original = new std::string(Bf16Weights(256 * kMiB, 3));
  const std::string edited = edit.apply(*original);

  auto chunk_ids = [&](const std::string& data, std::vector<std::pair<size_t, size_t>>* out) {
    StringSource source(data);
    Chunker chunker(params, &source);
    Chunk chunk;
    while (*chunker.Next(&chunk)) {
      out->push_back(
          {std::hash<std::string_view>()(std::string_view(chunk.data.data(), chunk.data.size())),
           chunk.data.size()});
    }
  };
  size_t new_bytes = 0, chunks = 0;
  for (auto _ : state) {
    std::vector<std::pair<size_t, size_t>> before, after;
    chunk_ids(*original, &before);
    chunk_ids(edited, &after);
    std::unordered_set<size_t> known;
    for (const auto& [id, size] : before) known.insert(id);
    new_bytes = 0;
    for (const auto& [id, size] : after) {
      if (!known.count(id)) new_bytes += size;
    }
    chunks = after.size();
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * (original->size() + edited.size())));
  state.counters["new_MiB"] = static_cast<double>(new_bytes) / kMiB;
  state.counters["amplification"] = static_cast<double>(new_bytes) / edit.changed_bytes;
  state.counters["chunks_per_GiB"] = static_cast<double>(chunks) * 1024 * kMiB / edited.size();
  state.SetLabel(absl::StrCat(ParamsLabel(params), " ", edit.name));
}
BENCHMARK(BM_ChunkerDedupAfterEdit)
    ->ArgsProduct({benchmark::CreateDenseRange(0, kCandidates.size() - 1, 1),
                   benchmark::CreateDenseRange(0, 4, 1)})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cairn::bench

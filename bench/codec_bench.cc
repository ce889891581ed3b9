// Codec speed and ratio per kind of data, chunk by chunk as the pipeline does:
// the numbers behind the automatic codec rule. Figures: docs/performance.md.
#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/data_gen.h"
#include "benchmark/benchmark.h"
#include "common/codec.h"

namespace cairn::bench {
namespace {

constexpr size_t kDataSize = 32 << 20;

struct DataKind {
  const char* name;
  std::string (*generate)(size_t, uint64_t);
};

constexpr std::array<DataKind, 5> kKinds = {{
    {"bf16", Bf16Weights},
    {"tokens_u16", TokenIdsU16},
    {"tokens_u32", TokenIdsU32},
    {"log_text", TrainingLog},
    {"random", RandomBytes},
}};

struct NamedChoice {
  const char* spec;
};
constexpr std::array<NamedChoice, 6> kChoices = {
    {{"none"}, {"lz4"}, {"zstd:1"}, {"zstd:3"}, {"zstd:9"}, {"auto"}}};

const std::string& Data(size_t kind) {
  static std::array<const std::string*, kKinds.size()> cache{};
  if (cache[kind] == nullptr) cache[kind] = new std::string(kKinds[kind].generate(kDataSize, 11));
  return *cache[kind];
}

// Cuts the data into pieces of chunk_size and frames each into *frames,
// reusing the strings' memory as a pipeline reuses its buffers.
void FrameAll(const CodecChoice& choice, const std::string& data, size_t chunk_size,
              std::vector<std::string>* frames) {
  frames->resize((data.size() + chunk_size - 1) / chunk_size);
  for (size_t i = 0; i < frames->size(); ++i) {
    (*frames)[i].clear();
    Compress(choice, absl::string_view(data).substr(i * chunk_size, chunk_size), &(*frames)[i]);
  }
}

void SetRatio(benchmark::State& state, const std::vector<std::string>& frames, size_t raw) {
  size_t framed = 0;
  for (const std::string& f : frames) framed += f.size();
  state.counters["ratio"] = static_cast<double>(raw) / framed;
  state.counters["saved_pct"] = 100.0 * (1.0 - static_cast<double>(framed) / raw);
}

void BM_Compress(benchmark::State& state) {
  const size_t kind = state.range(0);
  const CodecChoice choice = *ParseCodec(kChoices[state.range(1)].spec);
  const size_t chunk_size = state.range(2);
  const std::string& data = Data(kind);
  std::vector<std::string> frames;
  for (auto _ : state) {
    FrameAll(choice, data, chunk_size, &frames);
    benchmark::DoNotOptimize(frames.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  SetRatio(state, frames, data.size());
  state.SetLabel(
      absl::StrCat(kKinds[kind].name, " ", CodecName(choice), " chunk=", chunk_size >> 10, "K"));
}

void BM_Decompress(benchmark::State& state) {
  const size_t kind = state.range(0);
  const CodecChoice choice = *ParseCodec(kChoices[state.range(1)].spec);
  const size_t chunk_size = state.range(2);
  const std::string& data = Data(kind);
  std::vector<std::string> frames;
  FrameAll(choice, data, chunk_size, &frames);
  std::string raw;
  for (auto _ : state) {
    for (const std::string& frame : frames) {
      if (!Decompress(frame, chunk_size, &raw).ok()) state.SkipWithError("decompress failed");
      benchmark::DoNotOptimize(raw.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  SetRatio(state, frames, data.size());
  state.SetLabel(
      absl::StrCat(kKinds[kind].name, " ", CodecName(choice), " chunk=", chunk_size >> 10, "K"));
}

void CodecArgs(benchmark::internal::Benchmark* b) {
  for (int64_t kind = 0; kind < static_cast<int64_t>(kKinds.size()); ++kind) {
    for (int64_t choice = 0; choice < static_cast<int64_t>(kChoices.size()); ++choice) {
      b->Args({kind, choice, 4 << 20});
    }
  }
  // Smaller chunks: does the per-chunk cost (contexts, sampling) show?
  for (int64_t choice = 0; choice < static_cast<int64_t>(kChoices.size()); ++choice) {
    b->Args({0, choice, 256 << 10});
  }
}

BENCHMARK(BM_Compress)->Apply(CodecArgs)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_Decompress)->Apply(CodecArgs)->Unit(benchmark::kMillisecond)->MinTime(0.5);

}  // namespace
}  // namespace cairn::bench

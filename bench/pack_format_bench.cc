// Pack format costs on the server's ingest and verify paths: the per-blob
// checksum (PackBuilder::Add, VerifyBlob; XXH3-128 as written today, BLAKE2b-128
// as older packs carry) and decoding an index.
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "common/pack_format.h"

namespace cairn {
namespace {

std::string RandomBlob(size_t n) {
  std::mt19937_64 rng(n);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

PackChecksumKind KindOf(const benchmark::State& state) {
  return state.range(1) == 0 ? PackChecksumKind::kXxh3_128 : PackChecksumKind::kBlake2b_128;
}

// Args: blob bytes, checksum (0 = XXH3-128, 1 = BLAKE2b-128).
void BM_PackBuilderAdd(benchmark::State& state) {
  const std::string blob = RandomBlob(static_cast<size_t>(state.range(0)));
  ChunkId id{};
  for (auto _ : state) {
    PackBuilder builder(KindOf(state));
    for (int i = 0; i < 16; ++i)
      benchmark::DoNotOptimize(builder.Add(id, static_cast<uint32_t>(blob.size()), blob));
    benchmark::DoNotOptimize(builder.Finish());
  }
  state.SetBytesProcessed(state.iterations() * 16 * static_cast<int64_t>(blob.size()));
}
BENCHMARK(BM_PackBuilderAdd)->ArgsProduct({{64 << 10, 1 << 20, 8 << 20}, {0, 1}});

void BM_VerifyBlob(benchmark::State& state) {
  const std::string blob = RandomBlob(static_cast<size_t>(state.range(0)));
  PackBuilder builder(KindOf(state));
  const PackEntry entry = *builder.Add(ChunkId{}, static_cast<uint32_t>(blob.size()), blob);
  for (auto _ : state) benchmark::DoNotOptimize(VerifyBlob(entry, blob));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(blob.size()));
}
BENCHMARK(BM_VerifyBlob)->ArgsProduct({{64 << 10, 1 << 20, 8 << 20}, {0, 1}});

// A 64 MiB pack of 1 MiB chunks has 64 entries; of 64 KiB chunks, 1024.
void BM_DecodePackIndex(benchmark::State& state) {
  const int entries = static_cast<int>(state.range(0));
  PackBuilder builder;
  std::string pack = PackBuilder::Header();
  const std::string blob = RandomBlob(64);
  for (int i = 0; i < entries; ++i) {
    ChunkId id{};
    id[0] = static_cast<uint8_t>(i);
    benchmark::DoNotOptimize(builder.Add(id, static_cast<uint32_t>(blob.size()), blob));
    pack += blob;
  }
  pack += builder.Finish();
  const std::string footer_bytes = pack.substr(pack.size() - kPackFooterSize);
  const PackFooter footer = *DecodePackFooter(footer_bytes, pack.size());
  const std::string index =
      pack.substr(footer.index_offset, pack.size() - kPackFooterSize - footer.index_offset);
  for (auto _ : state) benchmark::DoNotOptimize(DecodePackIndex(index, footer, footer_bytes));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(index.size()));
  state.SetItemsProcessed(state.iterations() * entries);
}
BENCHMARK(BM_DecodePackIndex)->Arg(64)->Arg(1024)->Arg(65536);

}  // namespace
}  // namespace cairn

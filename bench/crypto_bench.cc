// Chunk-id and sealing throughput on 1 MiB and 4 MiB buffers (the chunker's
// range), plus the candidates we measured and did not pick; figures and the
// decisions they drove are in docs/security.md.
#include <sodium.h>

#include <string>

#include "benchmark/benchmark.h"
#include "common/chunk_id.h"
#include "common/seal.h"
#include "common/secret_key.h"
#include "common/sodium_init.h"

namespace cairn {
namespace {

std::string RandomBuffer(size_t n) {
  EnsureSodiumInitialized();
  std::string s(n, '\0');
  randombytes_buf(s.data(), n);
  return s;
}

void SizeArgs(benchmark::internal::Benchmark* b) { b->Arg(64 << 10)->Arg(1 << 20)->Arg(4 << 20); }

// Chosen chunk id: HMAC-SHA-256 through OpenSSL (SHA-NI), pads precomputed.
void BM_ChunkIdHmacSha256OpenSsl(benchmark::State& state) {
  std::string data = RandomBuffer(state.range(0));
  ChunkHasher hasher(SecretKey::Random());
  for (auto _ : state) benchmark::DoNotOptimize(hasher.Hash(data));
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_ChunkIdHmacSha256OpenSsl)->Apply(SizeArgs);

// Candidate: keyed BLAKE2b-256 (libsodium), keyed state precomputed and copied.
void BM_ChunkIdBlake2bKeyed(benchmark::State& state) {
  std::string data = RandomBuffer(state.range(0));
  SecretKey key = SecretKey::Random();
  crypto_generichash_state keyed;
  crypto_generichash_init(&keyed, key.data(), SecretKey::kSize, 32);
  for (auto _ : state) {
    crypto_generichash_state st = keyed;
    uint8_t out[32];
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    crypto_generichash_final(&st, out, sizeof(out));
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_ChunkIdBlake2bKeyed)->Apply(SizeArgs);

// Reference: libsodium's portable SHA-256 (no SHA-NI).
void BM_Sha256Libsodium(benchmark::State& state) {
  std::string data = RandomBuffer(state.range(0));
  for (auto _ : state) {
    uint8_t out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(out, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_Sha256Libsodium)->Arg(1 << 20);

void SealBench(benchmark::State& state, SealAlgorithm alg) {
  std::string data = RandomBuffer(state.range(0));
  Sealer sealer(SecretKey::Random(), alg);
  ChunkId id{};
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(sealer.Seal(id, data, &out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * data.size());
}

void OpenBench(benchmark::State& state, SealAlgorithm alg) {
  std::string data = RandomBuffer(state.range(0));
  Sealer sealer(SecretKey::Random(), alg);
  ChunkId id{};
  std::string sealed;
  if (!sealer.Seal(id, data, &sealed).ok()) state.SkipWithError("seal failed");
  std::string out;
  for (auto _ : state) {
    if (!sealer.Open(id, sealed, &out).ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * data.size());
}

// Chosen: AES-256-GCM through OpenSSL (stitched AES-NI + PCLMULQDQ assembly),
// per-chunk derived key.
void BM_SealAes256GcmOpenSsl(benchmark::State& s) { SealBench(s, SealAlgorithm::kAes256Gcm); }
void BM_OpenAes256GcmOpenSsl(benchmark::State& s) { OpenBench(s, SealAlgorithm::kAes256Gcm); }
// Fallback without AES-NI: XChaCha20-Poly1305 (libsodium).
void BM_SealXChaCha20Poly1305(benchmark::State& s) {
  SealBench(s, SealAlgorithm::kXChaCha20Poly1305);
}
void BM_OpenXChaCha20Poly1305(benchmark::State& s) {
  OpenBench(s, SealAlgorithm::kXChaCha20Poly1305);
}
BENCHMARK(BM_SealAes256GcmOpenSsl)->Apply(SizeArgs);
BENCHMARK(BM_OpenAes256GcmOpenSsl)->Apply(SizeArgs);
BENCHMARK(BM_SealXChaCha20Poly1305)->Apply(SizeArgs);
BENCHMARK(BM_OpenXChaCha20Poly1305)->Apply(SizeArgs);

// Candidate not taken: libsodium's AES-256-GCM (AES-NI, no VAES), precomputed
// key schedule (beforenm/afternm), i.e. its best case.
void BM_SealAes256GcmLibsodiumRaw(benchmark::State& state) {
  std::string data = RandomBuffer(state.range(0));
  if (!crypto_aead_aes256gcm_is_available()) {
    state.SkipWithError("no AES-NI");
    return;
  }
  SecretKey key = SecretKey::Random();
  alignas(16) crypto_aead_aes256gcm_state ctx;
  crypto_aead_aes256gcm_beforenm(&ctx, key.data());
  uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES] = {};
  std::string out(data.size() + crypto_aead_aes256gcm_ABYTES, '\0');
  for (auto _ : state) {
    unsigned long long len = 0;
    crypto_aead_aes256gcm_encrypt_afternm(reinterpret_cast<uint8_t*>(out.data()), &len,
                                          reinterpret_cast<const uint8_t*>(data.data()),
                                          data.size(), nullptr, 0, nullptr, nonce, &ctx);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_SealAes256GcmLibsodiumRaw)->Arg(1 << 20)->Arg(4 << 20);

}  // namespace
}  // namespace cairn

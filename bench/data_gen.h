// Seeded generators of benchmark data that looks like what cairn backs up:
// BF16 tensor weights, token-id dataset shards, training-log text, and random
// (already compressed) bytes. The same seed gives the same bytes on every machine.
//
//   std::string weights = bench::Bf16Weights(64 << 20, /*seed=*/1);
#ifndef CAIRN_BENCH_DATA_GEN_H_
#define CAIRN_BENCH_DATA_GEN_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace cairn::bench {

// Uniform random bytes: stands in for compressed or encrypted files.
std::string RandomBytes(size_t size, uint64_t seed);

// Little-endian bfloat16 values of weights drawn from N(0, 0.02), rounded to
// nearest even: the sign/exponent byte compresses, the mantissa byte does not.
std::string Bf16Weights(size_t size, uint64_t seed);

// The same drawn from N(mean, stddev): trained tensors differ in scale (norm
// weights near 1, output projections near 0.003), which spreads the exponents
// across a checkpoint. Bf16Weights(size, seed) == Bf16Normal(size, seed, 0, 0.02).
std::string Bf16Normal(size_t size, uint64_t seed, double mean, double stddev);

// Little-endian float32 values from N(mean, stddev) (Adam's first moment) or
// exp(N(log_mean, log_stddev)) (its second moment, positive, spanning decades).
std::string Fp32Normal(size_t size, uint64_t seed, double mean, double stddev);
std::string Fp32LogNormal(size_t size, uint64_t seed, double log_mean, double log_stddev);

// One training step's worth of change: every value v becomes v * (1 + e) with
// e from N(0, relative_stddev), rounded back to the type. With 0.01 on bfloat16
// most mantissa bytes change and most sign/exponent bytes do not. A trailing
// partial value is left alone.
void PerturbBf16(std::string* data, uint64_t seed, double relative_stddev);
void PerturbFp32(std::string* data, uint64_t seed, double relative_stddev);

// Little-endian token ids, Zipf-distributed (s = 1.1) with id = frequency rank,
// as a BPE vocabulary roughly orders them. 2-byte ids from a 50,257-token
// vocabulary (GPT-2) or 4-byte ids from a 128,256-token one (Llama 3).
std::string TokenIdsU16(size_t size, uint64_t seed);
std::string TokenIdsU32(size_t size, uint64_t seed);

// Lines of a training log (step, loss, learning rate, throughput, timestamps):
// the highly compressible text case.
std::string TrainingLog(size_t size, uint64_t seed);

}  // namespace cairn::bench

#endif  // CAIRN_BENCH_DATA_GEN_H_

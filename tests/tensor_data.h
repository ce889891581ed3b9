// Seeded tensor-like test data: little-endian BF16 values of N(0, stddev),
// rounded to nearest even, as trained weights look (exponent bytes skewed,
// mantissa bytes near random).
#ifndef CAIRN_TESTS_TENSOR_DATA_H_
#define CAIRN_TESTS_TENSOR_DATA_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace cairn {

std::string Bf16Normal(size_t count, uint32_t seed, float stddev = 0.02f);

// A safetensors file of BF16 tensors (1-D), names sorted and data back to
// back in that order, as real files are; `metadata`, when not empty, is the
// "__metadata__" object's one string value (a step number, say).
std::string Bf16Safetensors(const std::map<std::string, std::string>& tensors,
                            const std::string& metadata = "");

// One training step of BF16 weights: every value v becomes v * (1 + e), e from
// N(0, relative), rounded back to BF16 (most low mantissa bits change, few
// signs or exponents do).
std::string Bf16Step(const std::string& weights, uint32_t seed, float relative = 0.01f);

}  // namespace cairn

#endif  // CAIRN_TESTS_TENSOR_DATA_H_

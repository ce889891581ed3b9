// Seeded tensor-like test data: little-endian BF16 values of N(0, stddev),
// rounded to nearest even, as trained weights look (exponent bytes skewed,
// mantissa bytes near random).
#ifndef CAIRN_TESTS_TENSOR_DATA_H_
#define CAIRN_TESTS_TENSOR_DATA_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace cairn {

std::string Bf16Normal(size_t count, uint32_t seed, float stddev = 0.02f);

}  // namespace cairn

#endif  // CAIRN_TESTS_TENSOR_DATA_H_

#include "tests/tensor_data.h"

#include <cstring>
#include <random>

namespace cairn {

std::string Bf16Normal(size_t count, uint32_t seed, float stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::string out(2 * count, '\0');
  for (size_t i = 0; i < count; ++i) {
    const float f = normal(rng);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits += 0x7fff + ((bits >> 16) & 1);
    out[2 * i] = static_cast<char>(bits >> 16);
    out[2 * i + 1] = static_cast<char>(bits >> 24);
  }
  return out;
}

}  // namespace cairn

#include "bench/data_gen.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace cairn::bench {
namespace {

// Our own generator (not std::mt19937 + std distributions) so the bytes do not
// depend on the standard library's implementation of the distributions.
class SplitMix final {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1].
  double Unit() { return (static_cast<double>(Next() >> 11) + 1.0) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Two independent N(0, 1) deviates (Box-Muller).
std::pair<double, double> NormalPair(SplitMix& rng) {
  double radius = std::sqrt(-2.0 * std::log(rng.Unit()));
  double angle = 2.0 * M_PI * rng.Unit();
  return {radius * std::cos(angle), radius * std::sin(angle)};
}

float FromBf16(uint16_t bits16) {
  uint32_t bits = static_cast<uint32_t>(bits16) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint16_t ToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  bits += 0x7fff + ((bits >> 16) & 1);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

// Inverse-CDF sampler of a Zipf distribution over ranks [0, vocab).
class ZipfSampler final {
 public:
  ZipfSampler(size_t vocab, double s) : cdf_(vocab) {
    double total = 0;
    for (size_t k = 0; k < vocab; ++k) {
      total += 1.0 / std::pow(static_cast<double>(k + 1), s);
      cdf_[k] = total;
    }
    for (double& c : cdf_) c /= total;
  }
  uint32_t Sample(SplitMix& rng) const {
    double u = rng.Unit();
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    if (it == cdf_.end()) --it;
    return static_cast<uint32_t>(it - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

template <typename Id>
std::string TokenIds(size_t size, uint64_t seed, size_t vocab) {
  SplitMix rng(seed);
  ZipfSampler zipf(vocab, 1.1);
  std::string out(size, '\0');
  size_t i = 0;
  for (; i + sizeof(Id) <= size; i += sizeof(Id)) {
    Id id = static_cast<Id>(zipf.Sample(rng));
    std::memcpy(&out[i], &id, sizeof(id));  // little-endian hosts only, like the data
  }
  return out;
}

}  // namespace

std::string RandomBytes(size_t size, uint64_t seed) {
  SplitMix rng(seed);
  std::string out(size, '\0');
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word = rng.Next();
    std::memcpy(&out[i], &word, 8);
  }
  for (uint64_t word = rng.Next(); i < size; ++i, word >>= 8) out[i] = static_cast<char>(word);
  return out;
}

std::string Bf16Weights(size_t size, uint64_t seed) { return Bf16Normal(size, seed, 0.0, 0.02); }

std::string Bf16Normal(size_t size, uint64_t seed, double mean, double stddev) {
  SplitMix rng(seed);
  std::string out(size, '\0');
  size_t i = 0;
  while (i + 4 <= size) {
    // Kept in the exact arithmetic of the first version of Bf16Weights, so
    // its bytes (and the micro benchmark figures) do not move.
    double radius = stddev * std::sqrt(-2.0 * std::log(rng.Unit()));
    double angle = 2.0 * M_PI * rng.Unit();
    uint16_t a = ToBf16(static_cast<float>(mean + radius * std::cos(angle)));
    uint16_t b = ToBf16(static_cast<float>(mean + radius * std::sin(angle)));
    std::memcpy(&out[i], &a, 2);
    std::memcpy(&out[i + 2], &b, 2);
    i += 4;
  }
  return out;
}

std::string Fp32Normal(size_t size, uint64_t seed, double mean, double stddev) {
  SplitMix rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    auto [x, y] = NormalPair(rng);
    float a = static_cast<float>(mean + stddev * x);
    float b = static_cast<float>(mean + stddev * y);
    std::memcpy(&out[i], &a, 4);
    std::memcpy(&out[i + 4], &b, 4);
  }
  return out;
}

std::string Fp32LogNormal(size_t size, uint64_t seed, double log_mean, double log_stddev) {
  SplitMix rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    auto [x, y] = NormalPair(rng);
    float a = static_cast<float>(std::exp(log_mean + log_stddev * x));
    float b = static_cast<float>(std::exp(log_mean + log_stddev * y));
    std::memcpy(&out[i], &a, 4);
    std::memcpy(&out[i + 4], &b, 4);
  }
  return out;
}

void PerturbBf16(std::string* data, uint64_t seed, double relative_stddev) {
  SplitMix rng(seed);
  for (size_t i = 0; i + 4 <= data->size(); i += 4) {
    auto [x, y] = NormalPair(rng);
    uint16_t a, b;
    std::memcpy(&a, data->data() + i, 2);
    std::memcpy(&b, data->data() + i + 2, 2);
    a = ToBf16(FromBf16(a) * static_cast<float>(1.0 + relative_stddev * x));
    b = ToBf16(FromBf16(b) * static_cast<float>(1.0 + relative_stddev * y));
    std::memcpy(data->data() + i, &a, 2);
    std::memcpy(data->data() + i + 2, &b, 2);
  }
}

void PerturbFp32(std::string* data, uint64_t seed, double relative_stddev) {
  SplitMix rng(seed);
  for (size_t i = 0; i + 8 <= data->size(); i += 8) {
    auto [x, y] = NormalPair(rng);
    float a, b;
    std::memcpy(&a, data->data() + i, 4);
    std::memcpy(&b, data->data() + i + 4, 4);
    a *= static_cast<float>(1.0 + relative_stddev * x);
    b *= static_cast<float>(1.0 + relative_stddev * y);
    std::memcpy(data->data() + i, &a, 4);
    std::memcpy(data->data() + i + 4, &b, 4);
  }
}

std::string TokenIdsU16(size_t size, uint64_t seed) {
  return TokenIds<uint16_t>(size, seed, 50257);
}

std::string TokenIdsU32(size_t size, uint64_t seed) {
  return TokenIds<uint32_t>(size, seed, 128256);
}

std::string TrainingLog(size_t size, uint64_t seed) {
  SplitMix rng(seed);
  std::string out;
  out.reserve(size + 256);
  double loss = 11.0;
  for (uint64_t step = 1; out.size() < size; ++step) {
    loss = std::max(1.5, loss * 0.9995 + (rng.Unit() - 0.5) * 0.05);
    double lr = 3e-4 * std::min(1.0, static_cast<double>(step) / 2000.0);
    double tokens_per_s = 410000 + (rng.Unit() - 0.5) * 20000;
    uint64_t ms = 1700000000000 + step * 1234 + rng.Next() % 100;
    absl::StrAppendFormat(&out,
                          "[%d.%03d] rank=%d step=%d loss=%.4f lr=%.3e grad_norm=%.3f "
                          "tokens/s=%.0f mem=%.2fGiB\n",
                          ms / 1000, ms % 1000, static_cast<int>(rng.Next() % 8), step, loss, lr,
                          0.5 + rng.Unit(), tokens_per_s, 61.0 + rng.Unit());
  }
  out.resize(size);
  return out;
}

}  // namespace cairn::bench

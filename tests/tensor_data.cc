#include "tests/tensor_data.h"

#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

std::string Bf16Safetensors(const std::map<std::string, std::string>& tensors,
                            const std::string& metadata) {
  std::string header = "{";
  if (!metadata.empty()) absl::StrAppend(&header, "\"__metadata__\":{\"step\":\"", metadata, "\"}");
  uint64_t at = 0;
  for (const auto& [name, data] : tensors) {
    if (header.size() > 1) header += ",";
    absl::StrAppendFormat(&header,
                          "\"%s\":{\"dtype\":\"BF16\",\"shape\":[%d],\"data_offsets\":[%d,%d]}",
                          name, data.size() / 2, at, at + data.size());
    at += data.size();
  }
  header += "}";
  while ((8 + header.size()) % 8 != 0) header += " ";
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(uint64_t{header.size()} >> (8 * i));
  file += header;
  for (const auto& [name, data] : tensors) file += data;
  return file;
}

std::string Bf16Step(const std::string& weights, uint32_t seed, float relative) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, relative);
  std::string out = weights;
  for (size_t i = 0; i + 1 < out.size(); i += 2) {
    uint32_t bits = (uint32_t{static_cast<uint8_t>(out[i + 1])} << 24) |
                    (uint32_t{static_cast<uint8_t>(out[i])} << 16);
    float f;
    std::memcpy(&f, &bits, 4);
    f *= 1.0f + normal(rng);
    std::memcpy(&bits, &f, 4);
    bits += 0x7fff + ((bits >> 16) & 1);
    out[i] = static_cast<char>(bits >> 16);
    out[i + 1] = static_cast<char>(bits >> 24);
  }
  return out;
}

}  // namespace cairn

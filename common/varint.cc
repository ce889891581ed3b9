#include "common/varint.h"

#include "absl/strings/str_cat.h"

namespace cairn {
namespace {
constexpr size_t kMaxVarintBytes = 10;  // ceil(64 / 7)
}  // namespace

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

absl::Status ReadVarint(absl::string_view in, size_t* pos, uint64_t* value,
                        absl::string_view what) {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (*pos >= in.size()) return absl::DataLossError(absl::StrCat(what, " is truncated"));
    const uint8_t byte = static_cast<uint8_t>(in[(*pos)++]);
    if (i == kMaxVarintBytes - 1 && byte > 1) {
      return absl::DataLossError(
          absl::StrCat(what, " is longer than 10 bytes or overflows 64 bits"));
    }
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0) {
        return absl::DataLossError(absl::StrCat(what, " has a redundant zero byte"));
      }
      *value = result;
      return absl::OkStatus();
    }
  }
  // Unreachable: the tenth byte is at most 1, so it has no continuation bit.
  return absl::DataLossError(absl::StrCat(what, " is longer than 10 bytes"));
}

}  // namespace cairn

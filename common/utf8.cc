#include "common/utf8.h"

#include <cstdint>

namespace cairn {

int Utf8Sequence(absl::string_view s) {
  if (s.empty()) return 0;
  const uint8_t b0 = static_cast<uint8_t>(s[0]);
  int length;
  uint8_t low = 0x80, high = 0xbf;  // range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 == 0xe0) low = 0xa0;   // overlong
    if (b0 == 0xed) high = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 == 0xf0) low = 0x90;   // overlong
    if (b0 == 0xf4) high = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  for (size_t i = 1; i < static_cast<size_t>(length); ++i) {
    if (i >= s.size()) return -1;
    const uint8_t b = static_cast<uint8_t>(s[i]);
    if (i == 1 ? (b < low || b > high) : (b & 0xc0) != 0x80) return 0;
  }
  return length;
}

}  // namespace cairn

// Little-endian integers in byte strings, the one encoding every cairn file
// format uses (pack indexes and footers, key files, the change journal).
//
//   AppendLe32(length, &out);  AppendLe64(offset, &out);
//   uint64_t offset = LoadLe64(bytes.data() + 8);
#ifndef CAIRN_COMMON_LE_CODING_H_
#define CAIRN_COMMON_LE_CODING_H_

#include <cstdint>
#include <string>

namespace cairn {

inline void StoreLe32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
inline void StoreLe64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
inline void AppendLe32(uint32_t v, std::string* out) {
  char bytes[4];
  StoreLe32(v, bytes);
  out->append(bytes, 4);
}
inline void AppendLe64(uint64_t v, std::string* out) {
  char bytes[8];
  StoreLe64(v, bytes);
  out->append(bytes, 8);
}
inline uint32_t LoadLe32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}
inline uint64_t LoadLe64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}

}  // namespace cairn

#endif  // CAIRN_COMMON_LE_CODING_H_

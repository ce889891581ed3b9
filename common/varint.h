// LEB128 varints, as the codec frames store lengths: canonical only (no
// redundant zero bytes), at most 10 bytes, no overflow past 64 bits.
//
//   AppendVarint(raw.size(), &frame);
//   RETURN_IF_ERROR(ReadVarint(frame, &pos, &length));
#ifndef CAIRN_COMMON_VARINT_H_
#define CAIRN_COMMON_VARINT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cairn {

void AppendVarint(uint64_t value, std::string* out);

// Parses the varint at in[*pos] and advances *pos past it. DataLoss (naming
// `what`) when it is truncated, overlong, non-canonical or overflows.
absl::Status ReadVarint(absl::string_view in, size_t* pos, uint64_t* value,
                        absl::string_view what = "codec frame: raw length varint");

}  // namespace cairn

#endif  // CAIRN_COMMON_VARINT_H_

// Byte-plane coding of arrays of fixed-width numbers (BF16/FP16/FP32 tensors,
// u16/u32 token ids): byte k of every element goes to plane k, and each plane
// is entropy-coded on its own with the coder its statistics pick. A float's
// sign+exponent byte is highly skewed (a trained tensor's values span a few
// binades) while its mantissa bytes are close to random; mixed in one stream
// they defeat a general-purpose compressor, split they do not.
//
// Payload (after the codec frame's codec byte and raw length):
//   width u8 (2 or 4) | flags u8 | head u8 (< width) |
//   width x [coder u8 | coded size varint | coded bytes], the most
//     significant byte's plane first |
//   head bytes | tail bytes
// The first `head` bytes of the input belong to an element that began in the
// previous chunk; the tail is what remains after the last whole element. Both
// are stored as they are, so a chunk cut anywhere inside a tensor still
// decodes on its own. Flag 1 (floats) rotates each element left by one bit
// before the split, so the sign leaves the top byte and the exponent fills it
// whole: the exponent is the part of a float that compresses.
//
//   std::string payload;
//   if (EncodePlanes(chunk, {.width = 2, .floats = true}, &payload)) ...
//   RETURN_IF_ERROR(DecodePlanes(payload, chunk_length, &raw));
#ifndef CAIRN_COMMON_PLANE_CODEC_H_
#define CAIRN_COMMON_PLANE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cairn {

// How one plane is stored; values are part of the stored format.
enum class PlaneCoder : uint8_t {
  kRaw = 0,   // as it is: near-random mantissa bytes
  kRans = 1,  // htscodecs rANS 4x16, order 0, 4- or 32-way (its first byte says)
  kZstd = 2,  // one zstd frame: runs (zero high bytes) and high-entropy planes
};

struct PlaneLayout {
  int width = 2;        // bytes per element: 2 or 4
  int head = 0;         // bytes before the first whole element, < width
  bool floats = false;  // rotate the sign bit out of the exponent byte
};

// Appends the payload for raw to *out and returns true, or appends nothing
// and returns false when planes would not be smaller than raw (the caller
// then stores the chunk another way) or the layout is out of range.
bool EncodePlanes(absl::string_view raw, const PlaneLayout& layout, std::string* out);

// Bits per byte that planes of this layout would need, from order-0 entropy
// of each plane of a sample (no coding): cheap enough to pick a width or to
// tell whether planes beat a general compressor. 8.0 means incompressible.
double EstimatePlaneBits(absl::string_view sample, const PlaneLayout& layout);

// Decodes a whole payload into *raw (replaced), which must come to exactly
// `length` bytes. DataLoss for any field that is out of range, truncated or
// inconsistent, a coded plane that does not decode to its size, and trailing
// bytes. Allocates at most 2 x `length` bytes (output and planes).
absl::Status DecodePlanes(absl::string_view payload, uint64_t length, std::string* raw);

}  // namespace cairn

#endif  // CAIRN_COMMON_PLANE_CODEC_H_

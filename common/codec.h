// Chunk compression with a self-describing frame:
//   [codec byte][raw length as LEB128 varint][payload]
// Compress picks the codec (or measures the chunk, in automatic mode) and falls
// back to storing it raw; Decompress checks every field of hostile input.
//
//   std::string framed;  Compress(choice, chunk, &framed);
//   RETURN_IF_ERROR(Decompress(framed, kMaxChunkSize, &raw));
#ifndef CAIRN_COMMON_CODEC_H_
#define CAIRN_COMMON_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// The codec byte of a frame; values are part of the stored format.
// kDelta frames (common/delta_codec.h) need their base chunk to decode;
// Decompress refuses them.
enum class Codec : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2, kPlanes = 3, kDelta = 4 };

struct CodecChoice {
  // Per chunk: store incompressible data raw, else compress it with zstd-1,
  // or as byte planes when a DataHint says tensor data or token ids (see
  // docs/performance.md and docs/data-path.md for the measurements).
  bool automatic = true;
  Codec codec = Codec::kLz4;  // when !automatic
  int level = 0;              // zstd level 1..19; 0 = zstd's default (3)
};

// What the backup knows of a chunk's bytes, from its file's format or the
// classifier, so automatic mode spends CPU where it pays. Ignored by the
// fixed choices ("lz4", "zstd:9", ...).
struct DataHint {
  enum class Class : uint8_t {
    kUnknown,      // measure a sample, as without a hint
    kFloats,       // BF16/FP16/FP32 tensor data: byte planes (kPlanes)
    kMaybeFloats,  // model containers (PyTorch, ONNX, TFLite, GGUF): planes or
                   // zstd, whichever a sample favours
    kIntegers,     // u16/u32 token ids: planes or zstd, whichever a sample favours
    kText,         // zstd-1 without sampling
    kCompressed,   // stored raw without spending CPU on it
  };
  Class kind = Class::kUnknown;
  int width = 0;  // bytes per element when the format says (2 or 4); 0 = guess from a sample
  // The chunk's offset from the start of its array, whose elements start at
  // 0: it tells where the chunk's first whole element begins.
  uint64_t offset = 0;
  // kText: the zstd level (0: the automatic level, 1). Bundles of small
  // files ask for more: they are few bytes of a backup's CPU.
  int level = 0;
};

// Accepts "auto", "none", "lz4", "zstd" and "zstd:N" with N in 1..19.
absl::StatusOr<CodecChoice> ParseCodec(absl::string_view spec);

// The spec ParseCodec accepts for c ("auto", "lz4", "zstd:9", ...).
std::string CodecName(const CodecChoice& c);

// Appends the framed form of raw to *framed. Stores kNone when the codec
// would not make the data smaller. Thread-safe (contexts are per thread).
void Compress(const CodecChoice& choice, absl::string_view raw, std::string* framed,
              const DataHint& hint = {});

// Replaces *raw with the bytes of one whole frame. InvalidArgument for an
// empty frame, an unknown codec byte or a raw length over max_raw; DataLoss for
// a bad varint, a payload that is truncated, corrupt, decodes to another length
// than declared, or is followed by trailing bytes. Never allocates more than
// max_raw (plus the codec's fixed-size context; 2 x max_raw for kPlanes).
// On error *raw is empty.
// Which frames a caller takes: chunk data may be byte planes; the server's
// own metadata (tree packs, catalog bundles) never is, so its readers need not
// reach the rANS decoder at all.
enum class Frames { kAny, kNoPlanes };
absl::Status Decompress(absl::string_view framed, size_t max_raw, std::string* raw,
                        Frames allowed = Frames::kAny);

}  // namespace cairn

#endif  // CAIRN_COMMON_CODEC_H_

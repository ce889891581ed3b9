// Where the tensors of a model file are, from its header alone, so the backup
// can cut chunks at tensor boundaries (a changed tensor then does not shift the
// chunks of the others) and pick a codec by element type. Headers come from
// untrusted files: every field is checked, and an error means "chunk the file
// as plain bytes", not a failed backup.
//
//   ASSIGN_OR_RETURN(uint64_t n, SafetensorsHeaderLength(head, file_size));
//   ... read the n bytes after the 8-byte prefix into json ...
//   ASSIGN_OR_RETURN(std::vector<TensorRegion> regions,
//                    ParseSafetensorsLayout(json, file_size));
#ifndef CAIRN_COMMON_TENSOR_LAYOUT_H_
#define CAIRN_COMMON_TENSOR_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// Values may be stored: never renumber; append only.
enum class ElementType : uint8_t {
  kNone = 0,  // not tensor data, or a type we do not know
  kBf16,
  kF16,
  kF32,
  kF64,
  kF8,  // either FP8 layout (E4M3, E5M2)
  kI8,
  kU8,
  kI16,
  kU16,
  kI32,
  kU32,
  kI64,
  kU64,
  kBool,
};

// Bytes per element; 0 for kNone.
int ElementWidth(ElementType t);

struct TensorRegion {
  uint64_t offset;
  uint64_t length;
  ElementType type;

  bool operator==(const TensorRegion&) const = default;
};

// Bigger headers are treated as not safetensors (real ones are well under
// 1 MiB even for models with tens of thousands of tensors).
inline constexpr uint64_t kMaxSafetensorsHeader = 16u << 20;
inline constexpr size_t kMaxSafetensorsTensors = 1'000'000;
// Bytes of a .npy file a caller should pass to ParseNpyLayout.
inline constexpr size_t kNpyHeadBytes = 64 << 10;

// The JSON header length N from the 8-byte little-endian prefix of a
// safetensors file (first8 may be longer; only 8 bytes are read).
// InvalidArgument if first8 is shorter than 8 bytes, N < 2 (no room for "{}"),
// N > kMaxSafetensorsHeader or 8 + N > file_size.
absl::StatusOr<uint64_t> SafetensorsHeaderLength(absl::string_view first8, uint64_t file_size);

// Parses the JSON header (exactly the N bytes after the prefix, spaces padding
// included) into regions that tile [0, file_size) exactly, sorted by offset:
// the prefix and header as one kNone region, each tensor's data (file offset
// 8 + N + begin), and every gap, trailing bytes included, as kNone. Tensors of
// zero length are dropped; tensors of an unknown dtype become kNone regions,
// still cut at their boundaries. "__metadata__" must be an object of strings
// and is otherwise ignored, as are a tensor's "shape" and unknown fields.
// InvalidArgument, saying what is wrong, for malformed JSON, nesting deeper
// than kMaxJsonDepth, more than kMaxSafetensorsTensors tensors, a duplicate
// name, a missing or non-string dtype, data_offsets that are not two
// non-negative integers with begin <= end, a tensor past the end of the file,
// overlapping tensors, or a length that is not a multiple of the element width.
absl::StatusOr<std::vector<TensorRegion>> ParseSafetensorsLayout(absl::string_view header_json,
                                                                 uint64_t file_size);

// A NumPy .npy file (format versions 1, 2 and 3): [header kNone, data typed by
// 'descr'] plus a trailing kNone region if the file is longer than its shape
// says; the data region is dropped if empty. head holds at least the magic and
// the whole header (up to kNpyHeadBytes). Little-endian ('<', or '|' for
// one-byte types) bool, int, uint and float descrs get a type; anything else
// (big-endian, structured, void such as ml_dtypes' bfloat16 '<V2', object)
// gives one kNone data region up to the end of the file. InvalidArgument for a
// bad magic or version, a header longer than head or the file, a header dict
// that is malformed or lacks 'descr', 'fortran_order' or 'shape', or a file
// shorter than its shape needs.
absl::StatusOr<std::vector<TensorRegion>> ParseNpyLayout(absl::string_view head,
                                                         uint64_t file_size);

}  // namespace cairn

#endif  // CAIRN_COMMON_TENSOR_LAYOUT_H_

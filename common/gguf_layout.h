// Where the tensors of a GGUF file (llama.cpp's model format, versions 2 and
// 3) are, from its header: the metadata key/value pairs are walked and
// skipped, the tensor infos read, and each tensor's extent taken from its
// offset to the next tensor's (so quantized types of any block size need no
// table of sizes; alignment padding goes with the tensor before it). Like the
// other layouts (common/tensor_layout.h) the header is untrusted: every count,
// length and offset is checked, and an error means "chunk it as plain bytes".
//
//   std::string head = ...first min(size, kMaxGgufHeader) bytes...;
//   ASSIGN_OR_RETURN(std::vector<TensorRegion> regions, ParseGgufLayout(head, size));
#ifndef CAIRN_COMMON_GGUF_LAYOUT_H_
#define CAIRN_COMMON_GGUF_LAYOUT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tensor_layout.h"

namespace cairn {

// Headers larger than this (a vocabulary of millions of tokens) are not read:
// the file is chunked as plain bytes.
inline constexpr uint64_t kMaxGgufHeader = 16u << 20;
inline constexpr uint64_t kMaxGgufTensors = 1'000'000;

// `head` is the first min(file_size, kMaxGgufHeader) bytes. Regions tile
// [0, file_size) in offset order: the header (with the padding to the data)
// as kNone, then each tensor. F32, F16, BF16, I16 and I32 tensors carry their
// type; quantized and other types are kNone. InvalidArgument, saying what is
// wrong, for anything malformed or past the head or the file.
absl::StatusOr<std::vector<TensorRegion>> ParseGgufLayout(absl::string_view head,
                                                          uint64_t file_size);

}  // namespace cairn

#endif  // CAIRN_COMMON_GGUF_LAYOUT_H_

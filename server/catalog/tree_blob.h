// How a tree's serialized bytes are kept in the catalog's `trees.data`:
// zstd-compressed (with the frame checksum) behind a 0x00 byte when that is
// smaller, else as they are.
// A serialized cairn.v1.Tree never starts with 0x00 (no protobuf field has
// tag 0; an empty tree is empty), so rows written before compression read
// back unchanged. Tree ids stay the SHA-256 of the serialized bytes, which
// is what every reader gets back.
//
//   std::string blob = PackTreeBlob(serialized);
//   ASSIGN_OR_RETURN(std::string serialized, UnpackTreeBlob(blob));
#ifndef CAIRN_SERVER_CATALOG_TREE_BLOB_H_
#define CAIRN_SERVER_CATALOG_TREE_BLOB_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// What a compressed row may decode to at most: PutTrees takes trees of up
// to kMaxTreeBytes; the bound only keeps a damaged frame header from asking
// for gigabytes.
inline constexpr size_t kMaxTreeBlobBytes = 64u << 20;

std::string PackTreeBlob(absl::string_view serialized);

// The serialized tree; DataLoss for a compressed blob that does not decode,
// fails its checksum or would pass kMaxTreeBlobBytes.
absl::StatusOr<std::string> UnpackTreeBlob(absl::string_view blob);

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_TREE_BLOB_H_

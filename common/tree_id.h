// The id of a directory tree: SHA-256 of its serialized bytes. The agent
// names the trees it sends with it and the server recomputes it on PutTrees,
// so both must use this one definition.
#ifndef CAIRN_COMMON_TREE_ID_H_
#define CAIRN_COMMON_TREE_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cairn {

// 32 raw bytes.
std::string TreeId(absl::string_view serialized_tree);

}  // namespace cairn

#endif  // CAIRN_COMMON_TREE_ID_H_

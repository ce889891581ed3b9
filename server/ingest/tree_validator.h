// Checks a directory tree an agent wants stored: it parses, is within the
// size bound, its names are plain single components in strictly increasing
// order, file chunk lists are well formed (ids of 32 bytes, sizes within the
// chunk bound, in offset order, inside the file), directories name a subtree
// and links a target; an index node of a paged directory
// (common/tree_pages.h) has the shape of one. Returns what the tree references, which the caller
// must find stored before it stores the tree.
//
//   ASSIGN_OR_RETURN(TreeReferences refs, CheckTree(bytes));
#ifndef CAIRN_SERVER_INGEST_TREE_VALIDATOR_H_
#define CAIRN_SERVER_INGEST_TREE_VALIDATOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

struct TreeReferences {
  std::vector<std::string> chunk_ids;    // in entry order; repeats possible
  std::vector<std::string> subtree_ids;  // subdirectories and pages: the trees it names
};

// InvalidArgument (or ResourceExhausted for an over-size tree) naming the
// offending entry.
absl::StatusOr<TreeReferences> CheckTree(absl::string_view data);

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_TREE_VALIDATOR_H_

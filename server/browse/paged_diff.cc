#include "server/browse/paged_diff.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// A node named by its index and not read yet has no tree: what both sides
// name is left out before anything is read.
struct Node {
  std::string id;  // empty for a side's top, which the caller found different
  uint32_t level = 0;
  std::optional<v1::Tree> tree;
};
using Side = std::vector<Node>;

absl::Status Checked(const v1::Tree& node) {
  if (absl::Status shape = CheckNodeShape(node); !shape.ok()) {
    return absl::DataLossError(absl::StrCat("directory tree: ", shape.message()));
  }
  return absl::OkStatus();
}

// Drops the nodes both sides hold (one for one).
void DropShared(Side* a, Side* b) {
  absl::flat_hash_map<std::string, int> in_b;
  for (const Node& n : *b) {
    if (!n.id.empty()) ++in_b[n.id];
  }
  absl::flat_hash_map<std::string, int> shared;
  Side kept;
  for (Node& n : *a) {
    auto it = n.id.empty() ? in_b.end() : in_b.find(n.id);
    if (it != in_b.end() && it->second > 0) {
      --it->second;
      ++shared[n.id];
      continue;
    }
    kept.push_back(std::move(n));
  }
  *a = std::move(kept);
  kept.clear();
  for (Node& n : *b) {
    auto it = shared.find(n.id);
    if (it != shared.end() && it->second > 0) {
      --it->second;
      continue;
    }
    kept.push_back(std::move(n));
  }
  *b = std::move(kept);
}

// Reads the nodes not read yet, each checked against the level its index
// gives.
absl::Status Load(Side* side, const TreeIterator::Load& load) {
  for (Node& n : *side) {
    if (n.tree.has_value()) continue;
    ASSIGN_OR_RETURN(v1::Tree tree, load(n.id));
    RETURN_IF_ERROR(Checked(tree));
    if (tree.level() != n.level) {
      return absl::DataLossError(absl::StrCat("directory tree: a page of level ", tree.level(),
                                              " under an index of level ", n.level + 1));
    }
    n.tree = std::move(tree);
  }
  return absl::OkStatus();
}

// Replaces every node of level `top` by the pages it names (not read yet),
// in place and in order. False when the sides would hold more than
// `max_nodes`.
bool Expand(Side* side, uint32_t top, size_t* total, size_t max_nodes) {
  Side next;
  for (Node& n : *side) {
    if (n.level != top) {
      next.push_back(std::move(n));
      continue;
    }
    --*total;
    for (const v1::TreePage& page : n.tree->pages()) {
      if (++*total > max_nodes) return false;
      next.push_back(Node{page.tree_id(), top - 1, std::nullopt});
    }
  }
  *side = std::move(next);
  return true;
}

absl::StatusOr<std::vector<v1::TreeEntry>> EntriesOf(Side* side) {
  std::vector<v1::TreeEntry> entries;
  for (Node& n : *side) {
    for (v1::TreeEntry& e : *n.tree->mutable_entries()) {
      if (!entries.empty() && !(entries.back().name() < e.name())) {
        return absl::DataLossError(absl::StrCat("directory tree: entry \"",
                                                absl::CHexEscape(e.name()), "\" is out of order"));
      }
      entries.push_back(std::move(e));
    }
  }
  return entries;
}

}  // namespace

absl::StatusOr<std::optional<DifferingLeaves>> DifferingLeaves::Of(v1::Tree a, v1::Tree b,
                                                                   const TreeIterator::Load& load,
                                                                   size_t max_leaves) {
  RETURN_IF_ERROR(Checked(a));
  RETURN_IF_ERROR(Checked(b));
  Side sa, sb;
  sa.push_back(Node{"", a.level(), std::move(a)});
  sb.push_back(Node{"", b.level(), std::move(b)});
  while (true) {
    DropShared(&sa, &sb);
    RETURN_IF_ERROR(Load(&sa, load));
    RETURN_IF_ERROR(Load(&sb, load));
    uint32_t top = 0;
    for (const Side* side : {&sa, &sb}) {
      for (const Node& n : *side) top = std::max(top, n.level);
    }
    if (top == 0) break;
    size_t total = sa.size() + sb.size();
    for (Side* side : {&sa, &sb}) {
      if (!Expand(side, top, &total, 2 * max_leaves)) return std::nullopt;
    }
  }
  DifferingLeaves out;
  ASSIGN_OR_RETURN(out.a, EntriesOf(&sa));
  ASSIGN_OR_RETURN(out.b, EntriesOf(&sb));
  return out;
}

}  // namespace cairn

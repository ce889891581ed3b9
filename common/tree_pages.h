// Directory trees split into pages at content-defined boundaries, so one
// changed file in a directory of a million entries rewrites one leaf page and
// the few index nodes above it, never the whole directory, and a directory
// has no size limit.
//
// A directory is a tree of nodes (`v1::Tree`): leaves (level 0) hold entries
// in name order, index nodes (level n > 0) hold pages, each naming a node of
// level n - 1 and the first name below it. A directory that fits one leaf is
// a single leaf, as before pages existed. A node ends after an item (entry
// or page) once it holds kMinNodeBytes (and two items) when the item's name
// hashes below a threshold proportional to the item's size, so nodes average
// kTargetNodeBytes whatever the entries weigh and rarely pass twice that;
// or when it reaches kMaxNodeBytes. The cut depends only on the items since
// the node began, so an insertion or a change moves at most the boundaries
// next to it.
//
//   TreeBuilder builder([&](const v1::Tree& node) { return spool.Add(node); });
//   for (...) RETURN_IF_ERROR(builder.Add(std::move(entry)));    // name order
//   ASSIGN_OR_RETURN(std::string directory_id, builder.Finish());
//
//   TreeIterator it(std::move(root), [&](const std::string& id) { return Load(id); });
//   while (true) {
//     ASSIGN_OR_RETURN(const v1::TreeEntry* e, it.Next());
//     if (e == nullptr) break;
//   }
#ifndef CAIRN_COMMON_TREE_PAGES_H_
#define CAIRN_COMMON_TREE_PAGES_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

// Part of the stored format: changing any of these changes where existing
// directories are cut, so an unchanged directory would be stored anew once.
// A node of a directory of small files holds ~30 entries; the one a change
// falls in averages ~1.25 × kTargetNodeBytes (a floor of half the target
// keeps the size-biased mean low: without it, it would be twice the mean).
// 3 KiB (2 KiB until 2026-12-03): larger nodes are fewer catalog rows and
// compress better, but the node a change falls in grows with them; the
// catalog-growth test measured 0.92% at 3 KiB and 0.996% at 4 KiB of the
// 1% it allows (docs/catalog.md).
inline constexpr size_t kTargetNodeBytes = 3072;
inline constexpr size_t kMinNodeBytes = kTargetNodeBytes / 2;
inline constexpr size_t kMaxNodeBytes = 64u << 10;
inline constexpr int kMinNodeItems = 2;
// Far above what the builder makes (a level per ~40× more entries); readers
// and the server refuse deeper trees.
inline constexpr uint32_t kMaxTreeLevel = 16;

// Whether a node at `level` that holds kMinNodeBytes already ends after an
// item named `name` weighing `item_bytes` serialized: true with probability
// item_bytes / (kTargetNodeBytes - kMinNodeBytes).
bool IsNodeBoundary(uint32_t level, absl::string_view name, size_t item_bytes);

// The trees `tree` names directly: its pages (an index node) or the subtrees
// of its directory entries (a leaf), in order.
std::vector<std::string> ChildTreeIds(const v1::Tree& tree);

// Checks one node on its own: level within bounds, entries or pages by
// level (never both), page names strictly increasing and page ids 32 bytes.
// Entry names are the caller's to check. InvalidArgument naming the fault.
absl::Status CheckNodeShape(const v1::Tree& node);

// Builds one directory from its entries in strictly increasing name order.
// `store` is called with each finished node, children before the index nodes
// that name them, and returns its id (common/tree_id.h). Memory: one node
// per level.
class TreeBuilder final {
 public:
  using Store = std::function<absl::StatusOr<std::string>(const v1::Tree& node)>;
  explicit TreeBuilder(Store store) : store_(std::move(store)) {}

  // InvalidArgument if `entry` does not sort after the previous one.
  absl::Status Add(v1::TreeEntry entry);
  // Stores what is left and returns the directory's id: its only leaf, or
  // its top index node. An empty directory is an empty leaf.
  absl::StatusOr<std::string> Finish();
  size_t entries() const { return entries_; }

 private:
  struct Level {
    v1::Tree node;
    size_t bytes = 0;
    int items = 0;
    uint64_t stored = 0;  // nodes of this level stored so far
  };
  // Stores the node being filled at `level` and names it one level up.
  absl::Status Close(size_t level);
  absl::Status AddPage(size_t level, std::string first_name, std::string id);

  Store store_;
  std::vector<Level> levels_;
  std::string last_name_;
  size_t entries_ = 0;
};

// Walks the entries of one directory in name order, loading pages as it goes
// (memory: one node per level). Every node is checked as it is loaded: its
// level is one below its parent's, its first name is the one its parent
// names, and its names sort between its neighbours' (a leaf's, all of them
// before the first is returned), so the entries come out strictly increasing
// or the walk fails with DataLoss.
class TreeIterator final {
 public:
  using Load = std::function<absl::StatusOr<v1::Tree>(const std::string& id)>;
  // `root` is the directory's tree as its parent entry (or snapshot) names it.
  TreeIterator(v1::Tree root, Load load);

  // The next entry, or nullptr at the end. The pointer is valid until the
  // next call.
  absl::StatusOr<const v1::TreeEntry*> Next();
  // The entry named `name`, or nullptr if the directory has none. Forward
  // only: names asked for must increase, and Next() after Find() continues
  // after `name`. Pages wholly before `name` are skipped without loading.
  absl::StatusOr<const v1::TreeEntry*> Find(absl::string_view name);

 private:
  struct Frame {
    v1::Tree node;
    int pos = 0;
    bool bounded = false;  // whether `upper` holds
    std::string upper;     // every name here sorts before it
  };
  // Sets current_ to the first entry not yet passed whose name is >= `at`
  // (all of them when `at` is null), or to nullptr at the end.
  absl::Status Advance(const std::string* at);
  absl::Status Push(v1::Tree node, const std::string& first_name, uint32_t parent_level,
                    bool bounded, std::string upper);

  Load load_;
  std::vector<Frame> stack_;
  const v1::TreeEntry* current_ = nullptr;  // peeked, not yet returned
  bool pending_ = false;                    // current_ was found by Advance and not returned yet
  bool started_ = false;
};

// The entry `name` of the directory `root`, loading only the nodes on the
// way to it.
absl::StatusOr<std::optional<v1::TreeEntry>> FindEntry(v1::Tree root, absl::string_view name,
                                                       const TreeIterator::Load& load);

}  // namespace cairn

#endif  // CAIRN_COMMON_TREE_PAGES_H_

#include "common/tree_pages.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// FNV-1a over the name, the level mixed in, then the splitmix64 finalizer:
// fixed forever (it decides where stored directories are cut).
uint64_t NameHash(uint32_t level, absl::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= (static_cast<uint64_t>(level) + 1) * 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

// What an item adds to its node serialized: its bytes, its tag and length.
size_t ItemBytes(size_t payload) {
  return payload + 1 + (payload < 128 ? 1 : payload < 16384 ? 2 : 3);
}

absl::Status Damaged(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("directory tree: ", why));
}

}  // namespace

bool IsNodeBoundary(uint32_t level, absl::string_view name, size_t item_bytes) {
  constexpr size_t kTail = kTargetNodeBytes - kMinNodeBytes;
  if (item_bytes >= kTail) return true;
  const uint64_t threshold = (static_cast<uint64_t>(item_bytes) << 32) / kTail;
  return (NameHash(level, name) >> 32) < threshold;
}

std::vector<std::string> ChildTreeIds(const v1::Tree& tree) {
  std::vector<std::string> ids;
  for (const v1::TreePage& page : tree.pages()) ids.push_back(page.tree_id());
  for (const v1::TreeEntry& e : tree.entries()) {
    if (e.type() == v1::ENTRY_TYPE_DIRECTORY) ids.push_back(e.subtree_id());
  }
  return ids;
}

absl::Status CheckNodeShape(const v1::Tree& node) {
  if (node.level() > kMaxTreeLevel) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree level ", node.level(), " is over the bound of ", kMaxTreeLevel));
  }
  if (node.level() == 0) {
    if (node.pages_size() != 0) {
      return absl::InvalidArgumentError("a tree of level 0 holds pages; only index nodes may");
    }
    return absl::OkStatus();
  }
  if (node.entries_size() != 0 || node.pages_size() == 0) {
    return absl::InvalidArgumentError(
        "an index tree (level above 0) must hold pages and no entries");
  }
  const std::string* previous = nullptr;
  for (const v1::TreePage& page : node.pages()) {
    if (absl::Status s = ValidateName(page.first_name()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("tree page: ", s.message()));
    }
    if (page.tree_id().size() != kChunkIdBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tree page \"", absl::CHexEscape(page.first_name()), "\" has no valid tree id"));
    }
    if (previous != nullptr && !(*previous < page.first_name())) {
      return absl::InvalidArgumentError(absl::StrCat("tree pages must be sorted and unique; \"",
                                                     absl::CHexEscape(page.first_name()),
                                                     "\" is out of place"));
    }
    previous = &page.first_name();
  }
  return absl::OkStatus();
}

absl::Status TreeBuilder::Add(v1::TreeEntry entry) {
  if (entries_ > 0 && !(last_name_ < entry.name())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "directory entries must come in name order; \"", absl::CHexEscape(entry.name()),
        "\" came after \"", absl::CHexEscape(last_name_), "\""));
  }
  last_name_ = entry.name();
  ++entries_;
  if (levels_.empty()) levels_.emplace_back();
  Level& leaf = levels_[0];
  const size_t bytes = ItemBytes(entry.ByteSizeLong());
  const bool boundary = leaf.items + 1 >= kMinNodeItems && leaf.bytes + bytes >= kMinNodeBytes &&
                        IsNodeBoundary(0, entry.name(), bytes);
  *leaf.node.add_entries() = std::move(entry);
  leaf.bytes += bytes;
  ++leaf.items;
  if (boundary || leaf.bytes >= kMaxNodeBytes) return Close(0);
  return absl::OkStatus();
}

absl::Status TreeBuilder::AddPage(size_t level, std::string first_name, std::string id) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  Level& index = levels_[level];
  const size_t bytes = ItemBytes(ItemBytes(first_name.size()) + ItemBytes(id.size()));
  const bool boundary = index.items + 1 >= kMinNodeItems && index.bytes + bytes >= kMinNodeBytes &&
                        IsNodeBoundary(static_cast<uint32_t>(level), first_name, bytes);
  v1::TreePage* page = index.node.add_pages();
  page->set_first_name(std::move(first_name));
  page->set_tree_id(std::move(id));
  index.bytes += bytes;
  ++index.items;
  if (boundary || index.bytes >= kMaxNodeBytes) return Close(level);
  return absl::OkStatus();
}

absl::Status TreeBuilder::Close(size_t level) {
  Level& l = levels_[level];
  if (l.items == 0) return absl::OkStatus();
  v1::Tree node = std::move(l.node);
  l.node.Clear();
  l.bytes = 0;
  l.items = 0;
  ++l.stored;
  node.set_level(static_cast<uint32_t>(level));
  if (level >= kMaxTreeLevel) {
    return absl::ResourceExhaustedError("directory too large: its index would exceed its depth");
  }
  std::string first = level == 0 ? node.entries(0).name() : node.pages(0).first_name();
  ASSIGN_OR_RETURN(std::string id, store_(node));
  return AddPage(level + 1, std::move(first), std::move(id));
}

absl::StatusOr<std::string> TreeBuilder::Finish() {
  if (levels_.empty()) levels_.emplace_back();
  for (size_t level = 0;; ++level) {
    Level& l = levels_[level];
    if (level + 1 == levels_.size() && l.stored == 0) {
      // Everything left is in this node: the directory's top.
      if (level > 0 && l.items == 1) return l.node.pages(0).tree_id();
      l.node.set_level(static_cast<uint32_t>(level));
      return store_(l.node);
    }
    RETURN_IF_ERROR(Close(level));
  }
}

TreeIterator::TreeIterator(v1::Tree root, Load load) : load_(std::move(load)) {
  stack_.push_back(Frame{std::move(root)});
}

namespace {

// A leaf's names strictly increase and sort before `upper` (when bounded).
absl::Status CheckLeafOrder(const v1::Tree& leaf, bool bounded, const std::string& upper) {
  for (int i = 0; i < leaf.entries_size(); ++i) {
    const std::string& name = leaf.entries(i).name();
    if ((i > 0 && !(leaf.entries(i - 1).name() < name)) || (bounded && !(name < upper))) {
      return Damaged(absl::StrCat("entry \"", absl::CHexEscape(name), "\" is out of order"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status TreeIterator::Push(v1::Tree node, const std::string& first_name, uint32_t parent_level,
                                bool bounded, std::string upper) {
  if (absl::Status shape = CheckNodeShape(node); !shape.ok()) return Damaged(shape.message());
  if (node.level() + 1 != parent_level) {
    return Damaged(
        absl::StrCat("a page of level ", node.level(), " under an index of level ", parent_level));
  }
  const std::string* first = nullptr;
  if (node.level() == 0 && node.entries_size() > 0) first = &node.entries(0).name();
  if (node.level() > 0) first = &node.pages(0).first_name();
  if (first == nullptr || *first != first_name) {
    return Damaged(absl::StrCat("page \"", absl::CHexEscape(first_name),
                                "\" does not begin with the name its index gives"));
  }
  if (node.level() == 0) RETURN_IF_ERROR(CheckLeafOrder(node, bounded, upper));
  stack_.push_back(Frame{std::move(node), 0, bounded, std::move(upper)});
  return absl::OkStatus();
}

absl::Status TreeIterator::Advance(const std::string* at) {
  current_ = nullptr;
  if (!started_) {
    started_ = true;
    if (absl::Status shape = CheckNodeShape(stack_[0].node); !shape.ok()) {
      return Damaged(shape.message());
    }
    if (stack_[0].node.level() == 0) RETURN_IF_ERROR(CheckLeafOrder(stack_[0].node, false, ""));
  }
  while (!stack_.empty()) {
    Frame& f = stack_.back();
    if (at != nullptr && f.bounded && f.upper <= *at) {
      stack_.pop_back();  // everything here sorts before `at`: not even loaded
      continue;
    }
    if (f.node.level() == 0) {
      while (f.pos < f.node.entries_size()) {
        const v1::TreeEntry& e = f.node.entries(f.pos);  // in order: checked when loaded
        ++f.pos;
        if (at != nullptr && e.name() < *at) continue;
        current_ = &e;
        return absl::OkStatus();
      }
      stack_.pop_back();
      continue;
    }
    if (f.pos >= f.node.pages_size()) {
      stack_.pop_back();
      continue;
    }
    int i = f.pos;
    if (at != nullptr) {
      while (i + 1 < f.node.pages_size() && f.node.pages(i + 1).first_name() <= *at) ++i;
    }
    f.pos = i + 1;
    const v1::TreePage& page = f.node.pages(i);
    // Copied before the stack grows (which may move `f`).
    const std::string first_name = page.first_name();
    const uint32_t level = f.node.level();
    const bool bounded = i + 1 < f.node.pages_size() || f.bounded;
    std::string upper = i + 1 < f.node.pages_size() ? f.node.pages(i + 1).first_name() : f.upper;
    ASSIGN_OR_RETURN(v1::Tree child, load_(page.tree_id()));
    RETURN_IF_ERROR(Push(std::move(child), first_name, level, bounded, std::move(upper)));
  }
  return absl::OkStatus();
}

absl::StatusOr<const v1::TreeEntry*> TreeIterator::Next() {
  if (!pending_) RETURN_IF_ERROR(Advance(nullptr));
  pending_ = false;
  return current_;
}

absl::StatusOr<const v1::TreeEntry*> TreeIterator::Find(absl::string_view name) {
  const bool ahead = pending_ && (current_ == nullptr || current_->name() >= name);
  if (!ahead) {
    const std::string at(name);
    RETURN_IF_ERROR(Advance(&at));
    pending_ = true;
  }
  if (current_ != nullptr && current_->name() == name) {
    pending_ = false;
    return current_;
  }
  return nullptr;
}

absl::StatusOr<std::optional<v1::TreeEntry>> FindEntry(v1::Tree root, absl::string_view name,
                                                       const TreeIterator::Load& load) {
  TreeIterator it(std::move(root), load);
  ASSIGN_OR_RETURN(const v1::TreeEntry* found, it.Find(name));
  if (found == nullptr) return std::nullopt;
  return *found;
}

}  // namespace cairn

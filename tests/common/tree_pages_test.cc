// Tree pages: large directories are cut into pages at content-defined
// boundaries. A small directory stays one plain tree; a large one reads back
// entry for entry; one change rewrites one leaf and the index nodes above it;
// lookups load only the nodes on their way; a damaged or reordered index is
// refused, never read as a different directory.
#include "common/tree_pages.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "common/tree_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// Nodes by id, as the catalog would hold them; counts loads.
class NodeStore {
 public:
  TreeBuilder::Store Store() {
    return [this](const v1::Tree& node) -> absl::StatusOr<std::string> {
      std::string bytes = node.SerializeAsString();
      std::string id = TreeId(bytes);
      nodes_[id] = std::move(bytes);
      return id;
    };
  }
  TreeIterator::Load Load() {
    return [this](const std::string& id) -> absl::StatusOr<v1::Tree> {
      ++loads_;
      auto it = nodes_.find(id);
      if (it == nodes_.end()) return absl::NotFoundError("no such node");
      v1::Tree tree;
      if (!tree.ParseFromString(it->second)) return absl::DataLossError("does not parse");
      return tree;
    };
  }
  v1::Tree Get(const std::string& id) {
    v1::Tree tree;
    EXPECT_TRUE(tree.ParseFromString(nodes_.at(id)));
    return tree;
  }
  void Put(const std::string& id, const v1::Tree& tree) { nodes_[id] = tree.SerializeAsString(); }
  std::set<std::string> Ids() const {
    std::set<std::string> ids;
    for (const auto& [id, bytes] : nodes_) ids.insert(id);
    return ids;
  }
  const std::map<std::string, std::string>& nodes() const { return nodes_; }
  int loads() const { return loads_; }

 private:
  std::map<std::string, std::string> nodes_;
  int loads_ = 0;
};

v1::TreeEntry FileEntry(const std::string& name, int64_t mtime = 1) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_FILE);
  e.set_mode(0644);
  e.set_mtime_ns(mtime);
  e.set_size(4096);
  v1::ChunkRef* c = e.add_chunks();
  c->set_id(TreeId(name));
  c->set_size(4096);
  return e;
}

std::vector<std::string> Names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(absl::StrFormat("file-%07d.bin", i));
  return names;
}

absl::StatusOr<std::string> Build(NodeStore* store, const std::vector<v1::TreeEntry>& entries) {
  TreeBuilder builder(store->Store());
  for (const v1::TreeEntry& e : entries) RETURN_IF_ERROR(builder.Add(e));
  return builder.Finish();
}

std::vector<v1::TreeEntry> Entries(const std::vector<std::string>& names) {
  std::vector<v1::TreeEntry> entries;
  for (const std::string& n : names) entries.push_back(FileEntry(n));
  return entries;
}

absl::StatusOr<std::vector<std::string>> ReadBack(NodeStore* store, const std::string& root) {
  TreeIterator it(store->Get(root), store->Load());
  std::vector<std::string> names;
  while (true) {
    ASSIGN_OR_RETURN(const v1::TreeEntry* e, it.Next());
    if (e == nullptr) break;
    names.push_back(e->name());
  }
  return names;
}

TEST(TreePagesTest, ASmallDirectoryIsOnePlainTree) {
  NodeStore store;
  std::vector<v1::TreeEntry> entries = Entries(Names(3));
  ASSERT_OK_AND_ASSIGN(std::string id, Build(&store, entries));
  v1::Tree plain;
  for (const v1::TreeEntry& e : entries) *plain.add_entries() = e;
  // The very bytes (and id) a directory had before pages existed.
  EXPECT_EQ(id, TreeId(plain.SerializeAsString()));
  EXPECT_EQ(store.nodes().size(), 1u);

  NodeStore empty;
  ASSERT_OK_AND_ASSIGN(std::string empty_id, Build(&empty, {}));
  EXPECT_EQ(empty_id, TreeId(""));
}

TEST(TreePagesTest, ALargeDirectoryReadsBackInOrderFromSmallPages) {
  NodeStore store;
  const std::vector<std::string> names = Names(100000);
  ASSERT_OK_AND_ASSIGN(std::string root, Build(&store, Entries(names)));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> back, ReadBack(&store, root));
  EXPECT_EQ(back, names);

  EXPECT_GE(store.Get(root).level(), 2u);
  size_t leaves = 0, leaf_bytes = 0, max_bytes = 0;
  for (const auto& [id, bytes] : store.nodes()) {
    v1::Tree node;
    ASSERT_TRUE(node.ParseFromString(bytes));
    ASSERT_OK(CheckNodeShape(node));
    max_bytes = std::max(max_bytes, bytes.size());
    if (node.level() == 0) {
      ++leaves;
      leaf_bytes += bytes.size();
    }
  }
  // Pages average about kTargetNodeBytes; none comes near the tree bound.
  const size_t mean = leaf_bytes / leaves;
  EXPECT_GT(mean, kMinNodeBytes) << leaves << " leaves";
  EXPECT_LT(mean, 2 * kTargetNodeBytes) << leaves << " leaves";
  EXPECT_LE(max_bytes, kMaxNodeBytes + 512);

  // The same entries give the same directory.
  NodeStore again;
  ASSERT_OK_AND_ASSIGN(std::string root2, Build(&again, Entries(names)));
  EXPECT_EQ(root2, root);
}

// The point of pages: what one change rewrites is one leaf and the index
// nodes above it (an insertion or deletion at most one more leaf per level).
TEST(TreePagesTest, OneChangeRewritesOnePathOfNodes) {
  const std::vector<std::string> names = Names(100000);
  NodeStore store;
  ASSERT_OK_AND_ASSIGN(std::string root, Build(&store, Entries(names)));
  const std::set<std::string> before = store.Ids();
  const size_t levels = store.Get(root).level() + 1;

  auto new_nodes = [&](const std::vector<v1::TreeEntry>& entries) -> size_t {
    NodeStore next;
    absl::StatusOr<std::string> id = Build(&next, entries);
    EXPECT_OK(id.status());
    size_t fresh = 0;
    for (const std::string& n : next.Ids()) fresh += before.contains(n) ? 0 : 1;
    return fresh;
  };

  std::vector<v1::TreeEntry> changed = Entries(names);
  changed[54321] = FileEntry(names[54321], /*mtime=*/2);
  EXPECT_LE(new_nodes(changed), levels);

  std::vector<v1::TreeEntry> inserted = Entries(names);
  inserted.insert(inserted.begin() + 777, FileEntry("file-0000776.bin.new"));
  EXPECT_LE(new_nodes(inserted), 2 * levels);

  std::vector<v1::TreeEntry> removed = Entries(names);
  removed.erase(removed.begin() + 99000);
  EXPECT_LE(new_nodes(removed), 2 * levels);
}

TEST(TreePagesTest, FindLoadsOnlyTheNodesOnItsWay) {
  NodeStore store;
  const std::vector<std::string> names = Names(100000);
  ASSERT_OK_AND_ASSIGN(std::string root, Build(&store, Entries(names)));
  const uint32_t depth = store.Get(root).level();

  const int loads = store.loads();
  ASSERT_OK_AND_ASSIGN(std::optional<v1::TreeEntry> found,
                       FindEntry(store.Get(root), names[65432], store.Load()));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name(), names[65432]);
  EXPECT_EQ(store.loads() - loads, static_cast<int>(depth));

  ASSERT_OK_AND_ASSIGN(std::optional<v1::TreeEntry> missing,
                       FindEntry(store.Get(root), "file-0065432.bim", store.Load()));
  EXPECT_FALSE(missing.has_value());
  ASSERT_OK_AND_ASSIGN(missing, FindEntry(store.Get(root), "zzz", store.Load()));
  EXPECT_FALSE(missing.has_value());
  ASSERT_OK_AND_ASSIGN(missing, FindEntry(store.Get(root), "a", store.Load()));
  EXPECT_FALSE(missing.has_value());
}

// Forward lookups in increasing order, as a backup asks its parent snapshot,
// interleaved with Next(): every present name is found, absent ones are not,
// and Next() continues after the last name found.
TEST(TreePagesTest, ForwardFindsAndNextAgree) {
  NodeStore store;
  const std::vector<std::string> names = Names(20000);
  ASSERT_OK_AND_ASSIGN(std::string root, Build(&store, Entries(names)));
  TreeIterator it(store.Get(root), store.Load());
  for (int i = 0; i < 20000; i += 997) {
    // "file-0000997.bim": between the previous name and this one.
    const std::string before = names[i].substr(0, names[i].size() - 1) + "m";
    ASSERT_OK_AND_ASSIGN(const v1::TreeEntry* absent, it.Find(before));
    EXPECT_EQ(absent, nullptr);
    ASSERT_OK_AND_ASSIGN(const v1::TreeEntry* e, it.Find(names[i]));
    ASSERT_NE(e, nullptr) << names[i];
    EXPECT_EQ(e->name(), names[i]);
    ASSERT_OK_AND_ASSIGN(const v1::TreeEntry* next, it.Next());
    ASSERT_NE(next, nullptr);
    EXPECT_EQ(next->name(), names[i + 1]);
  }
  ASSERT_OK_AND_ASSIGN(const v1::TreeEntry* past, it.Find("zzz"));
  EXPECT_EQ(past, nullptr);
  ASSERT_OK_AND_ASSIGN(const v1::TreeEntry* end, it.Next());
  EXPECT_EQ(end, nullptr);
}

TEST(TreePagesTest, EntriesOutOfOrderAreRefusedByTheBuilder) {
  NodeStore store;
  TreeBuilder builder(store.Store());
  ASSERT_OK(builder.Add(FileEntry("b")));
  EXPECT_THAT(std::string(builder.Add(FileEntry("a")).message()), HasSubstr("name order"));
  EXPECT_FALSE(builder.Add(FileEntry("b")).ok());
}

// A hostile or damaged index: each is refused with DataLoss while reading,
// never read as some other directory.
TEST(TreePagesTest, ADamagedIndexIsRefused) {
  NodeStore store;
  const std::vector<std::string> names = Names(3000);
  ASSERT_OK(Build(&store, Entries(names)).status());
  // An index node over leaves, with three pages at least: a directory's top
  // in its own right.
  v1::Tree root;
  for (const auto& [id, bytes] : store.nodes()) {
    v1::Tree node = store.Get(id);
    if (node.level() == 1 && node.pages_size() >= 3) root = node;
  }
  ASSERT_EQ(root.level(), 1u);
  auto read = [&](const v1::Tree& top) -> absl::Status {
    TreeIterator it(top, store.Load());
    while (true) {
      absl::StatusOr<const v1::TreeEntry*> e = it.Next();
      if (!e.ok()) return e.status();
      if (*e == nullptr) return absl::OkStatus();
    }
  };
  ASSERT_OK(read(root));

  v1::Tree swapped = root;  // two pages' ids exchanged: names no longer match
  swapped.mutable_pages(0)->set_tree_id(root.pages(1).tree_id());
  swapped.mutable_pages(1)->set_tree_id(root.pages(0).tree_id());
  EXPECT_TRUE(absl::IsDataLoss(read(swapped))) << read(swapped);

  v1::Tree reordered = root;  // page names out of order
  reordered.mutable_pages()->SwapElements(0, 1);
  EXPECT_TRUE(absl::IsDataLoss(read(reordered)));

  v1::Tree wrong_level = root;
  wrong_level.set_level(root.level() + 1);
  EXPECT_TRUE(absl::IsDataLoss(read(wrong_level)));

  v1::Tree too_deep = root;
  too_deep.set_level(kMaxTreeLevel + 1);
  EXPECT_TRUE(absl::IsDataLoss(read(too_deep)));

  v1::Tree mixed = root;  // an index node that also holds an entry
  *mixed.add_entries() = FileEntry("zzz");
  EXPECT_TRUE(absl::IsDataLoss(read(mixed)));

  // A leaf whose last entry reaches into the next page's range.
  v1::Tree overlapping = store.Get(root.pages(0).tree_id());
  *overlapping.add_entries() = FileEntry("file-9999999.bin");
  const std::string overlapping_id = TreeId(overlapping.SerializeAsString());
  store.Put(overlapping_id, overlapping);
  v1::Tree bad_index = root;
  bad_index.mutable_pages(0)->set_tree_id(overlapping_id);
  EXPECT_TRUE(absl::IsDataLoss(read(bad_index))) << read(bad_index);

  v1::Tree empty_page;  // an empty leaf named by an index
  const std::string empty_id = TreeId("");
  store.Put(empty_id, empty_page);
  v1::Tree with_empty = root;
  with_empty.mutable_pages(0)->set_tree_id(empty_id);
  EXPECT_TRUE(absl::IsDataLoss(read(with_empty)));
}

TEST(TreePagesTest, NodeShapes) {
  v1::Tree leaf;
  *leaf.add_entries() = FileEntry("a");
  EXPECT_OK(CheckNodeShape(leaf));
  v1::Tree leaf_with_pages = leaf;
  leaf_with_pages.add_pages()->set_first_name("a");
  EXPECT_FALSE(CheckNodeShape(leaf_with_pages).ok());

  v1::Tree index;
  index.set_level(1);
  EXPECT_FALSE(CheckNodeShape(index).ok());  // no pages
  v1::TreePage* p = index.add_pages();
  p->set_first_name("a");
  p->set_tree_id(std::string(kChunkIdBytes, 'x'));
  EXPECT_OK(CheckNodeShape(index));
  EXPECT_THAT(ChildTreeIds(index), ::testing::ElementsAre(std::string(kChunkIdBytes, 'x')));
  v1::Tree bad = index;
  bad.mutable_pages(0)->set_tree_id("short");
  EXPECT_FALSE(CheckNodeShape(bad).ok());
  bad = index;
  bad.mutable_pages(0)->set_first_name("../x");
  EXPECT_FALSE(CheckNodeShape(bad).ok());
  bad = index;
  *bad.add_pages() = index.pages(0);  // the same first name twice
  EXPECT_FALSE(CheckNodeShape(bad).ok());
}

}  // namespace
}  // namespace cairn

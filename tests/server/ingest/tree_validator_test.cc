// CheckTree on its own: every rejection path (over-size, unparsable, bad or
// unsorted or repeated names, malformed chunk lists including offset and
// size overflow, a directory without a subtree id, a link without a target,
// an unknown type), the legal boundaries, and the references it returns.
#include "server/ingest/tree_validator.h"

#include <cstdint>
#include <string>
#include <vector>

#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string One(const v1::TreeEntry& e) { return TreeBytes({e}); }

v1::TreeEntry File(const std::string& name, uint32_t chunk_size = 100) {
  return FileEntry(name, {TestChunkId(1), TestChunkId(2)}, chunk_size);
}

v1::TreeEntry Link(const std::string& name, v1::EntryType type, const std::string& target) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(type);
  e.set_link_target(target);
  return e;
}

v1::TreeEntry Special(const std::string& name, v1::EntryType type) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(type);
  e.set_rdev(0x0801);
  return e;
}

struct Bad {
  std::string label;
  std::string bytes;
  std::string message;  // a part of the error
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
};

std::vector<Bad> BadTrees() {
  std::vector<Bad> bad;
  bad.push_back({"over the size bound", std::string(kMaxTreeBytes + 1, '\x0a'), "at most",
                 absl::StatusCode::kResourceExhausted});
  bad.push_back({"not a tree", std::string("\xff\xff\xff\xff\x0f", 5), "does not parse"});
  bad.push_back({"truncated", One(File("f")).substr(0, 20), "does not parse"});
  for (const std::string& name :
       {std::string(""), std::string("."), std::string(".."), std::string("a/b"), std::string("/"),
        std::string("a\0b", 3), std::string(256, 'n')}) {
    bad.push_back({"name \"" + name + "\"", One(File(name)), ""});
  }
  bad.push_back({"unsorted", TreeBytes({File("b"), File("a")}), "\"a\" is out of place"});
  bad.push_back({"repeated", TreeBytes({File("a"), File("b"), File("b")}), "sorted and unique"});
  bad.push_back({"a file and a directory of one name",
                 TreeBytes({File("x"), DirEntry("x", TestChunkId(7))}), "sorted and unique"});
  bad.push_back({"unsigned byte order", TreeBytes({File("\xc3\xa9"), File("z")}), "out of place"});
  {
    v1::TreeEntry e = File("f");
    e.mutable_chunks(1)->mutable_id()->append("x");
    bad.push_back({"chunk id of 33 bytes", One(e), "\"f\" has a malformed chunk list"});
    e = File("f");
    e.mutable_chunks(0)->clear_id();
    bad.push_back({"chunk without id", One(e), "malformed chunk list"});
    e = File("f");
    e.mutable_chunks(1)->set_size(0);
    bad.push_back({"empty chunk", One(e), "malformed chunk list"});
    e = File("f", kMaxChunkBytes + 1);
    bad.push_back({"chunk over 16 MiB", One(e), "malformed chunk list"});
    e = File("f");
    e.mutable_chunks(1)->set_offset(99);
    bad.push_back({"overlapping chunks", One(e), "malformed chunk list"});
    e = File("f");
    e.mutable_chunks(0)->set_offset(100);
    e.mutable_chunks(1)->set_offset(0);
    bad.push_back({"chunks out of offset order", One(e), "malformed chunk list"});
    e = File("f");
    e.set_size(199);
    bad.push_back({"last chunk past the size", One(e), "\"f\" has chunks past its size"});
    e = File("f");
    e.mutable_chunks(1)->set_offset(UINT64_MAX);
    e.set_size(UINT64_MAX);
    bad.push_back({"offset + size wraps", One(e), "past its size"});
    e = File("f");
    e.mutable_chunks(1)->set_offset(UINT64_MAX - 50);
    e.set_size(1000);
    bad.push_back({"offset beyond the size", One(e), "past its size"});
    e = File("f");
    e.clear_size();
    bad.push_back({"chunks in a file of size 0", One(e), "past its size"});
    // Bundle slices (agent/file_bundles.h) must lie inside their bundle.
    e = File("f");
    e.mutable_chunks(0)->set_bundle_size(150);
    e.mutable_chunks(0)->set_bundle_offset(51);
    bad.push_back(
        {"slice past its bundle's end", One(e), "\"f\" names a slice outside its bundle"});
    e = File("f");
    e.mutable_chunks(0)->set_bundle_size(99);
    bad.push_back({"slice larger than its bundle", One(e), "slice outside its bundle"});
    e = File("f");
    e.mutable_chunks(0)->set_bundle_size(100);
    e.mutable_chunks(0)->set_bundle_offset(UINT32_MAX);
    bad.push_back({"slice offset wraps", One(e), "slice outside its bundle"});
    e = File("f");
    e.mutable_chunks(0)->set_bundle_offset(10);
    bad.push_back({"slice offset without a bundle", One(e), "slice outside its bundle"});
    e = File("f");
    e.mutable_chunks(0)->set_bundle_size(kMaxChunkBytes + 1);
    bad.push_back({"bundle over 16 MiB", One(e), "slice outside its bundle"});
    e = File(std::string("bad\x01name", 8));
    e.set_size(1);
    bad.push_back({"the message escapes the name", One(e), "bad\\x01name"});
  }
  bad.push_back({"directory without subtree", One(DirEntry("d", "")), "no valid subtree id"});
  bad.push_back({"directory with a short subtree id",
                 One(DirEntry("d", TestChunkId(1).substr(0, 31))), "\"d\" has no valid subtree"});
  bad.push_back({"symlink without target", One(Link("l", v1::ENTRY_TYPE_SYMLINK, "")),
                 "\"l\" has an empty or over-long target"});
  bad.push_back({"hardlink without target", One(Link("h", v1::ENTRY_TYPE_HARDLINK, "")),
                 "empty or over-long target"});
  bad.push_back({"symlink target over 4096 bytes",
                 One(Link("l", v1::ENTRY_TYPE_SYMLINK, std::string(kMaxPathTotalBytes + 1, 't'))),
                 "over-long target"});
  bad.push_back({"type unspecified", One(Special("u", v1::ENTRY_TYPE_UNSPECIFIED)),
                 "\"u\" has an unknown type"});
  bad.push_back({"type 42", One(Special("u", static_cast<v1::EntryType>(42))), "unknown type"});
  {
    // Index nodes of a paged directory (common/tree_pages.h).
    v1::Tree index;
    index.set_level(1);
    v1::TreePage* page = index.add_pages();
    page->set_first_name("a");
    page->set_tree_id(TestChunkId(20));
    v1::Tree bad_index = index;
    *bad_index.add_entries() = File("z");
    bad.push_back({"an index that also holds entries", bad_index.SerializeAsString(),
                   "must hold pages and no entries"});
    bad_index = index;
    bad_index.clear_pages();
    bad.push_back({"an index without pages", bad_index.SerializeAsString(), "must hold pages"});
    bad_index = index;
    bad_index.set_level(0);
    bad.push_back({"a leaf that holds pages", bad_index.SerializeAsString(), "holds pages"});
    bad_index = index;
    bad_index.set_level(1000);
    bad.push_back({"an index too deep", bad_index.SerializeAsString(), "over the bound"});
    bad_index = index;
    bad_index.mutable_pages(0)->set_tree_id("short");
    bad.push_back({"a page with a short id", bad_index.SerializeAsString(), "no valid tree id"});
    bad_index = index;
    bad_index.mutable_pages(0)->set_first_name("..");
    bad.push_back({"a page named ..", bad_index.SerializeAsString(), "tree page"});
    bad_index = index;
    *bad_index.add_pages() = index.pages(0);
    bad.push_back({"two pages of one name", bad_index.SerializeAsString(), "sorted and unique"});
  }
  // The first bad entry is reported even after good ones.
  bad.push_back(
      {"a bad entry after good ones",
       TreeBytes({File("a"), DirEntry("b", TestChunkId(5)), Link("c", v1::ENTRY_TYPE_SYMLINK, "")}),
       "\"c\""});
  return bad;
}

TEST(TreeValidatorTest, RefusesEveryMalformedTree) {
  for (const Bad& b : BadTrees()) {
    SCOPED_TRACE(b.label);
    absl::StatusOr<TreeReferences> refs = CheckTree(b.bytes);
    EXPECT_EQ(refs.status().code(), b.code) << refs.status();
    EXPECT_THAT(refs.status().message(), HasSubstr(b.message));
  }
}

TEST(TreeValidatorTest, AcceptsTheLegalBoundaries) {
  v1::TreeEntry holes = FileEntry("holes", {TestChunkId(1), TestChunkId(2)}, 100);
  holes.mutable_chunks(1)->set_offset(5000);  // a hole between the chunks
  holes.set_size(1 << 20);                    // and one at the end
  v1::TreeEntry biggest = FileEntry("max", {TestChunkId(3)}, kMaxChunkBytes);
  v1::TreeEntry at_the_end = FileEntry("end", {TestChunkId(4)}, 1);
  at_the_end.mutable_chunks(0)->set_offset(UINT64_MAX - 1);
  at_the_end.set_size(UINT64_MAX);
  v1::TreeEntry empty_file = FileEntry("empty", {}, 0);
  // Slices of one bundle: at its start, and ending at its end.
  v1::TreeEntry slice_a = FileEntry("slice-a", {TestChunkId(5)}, 100);
  slice_a.mutable_chunks(0)->set_bundle_size(kMaxChunkBytes);
  v1::TreeEntry slice_b = FileEntry("slice-b", {TestChunkId(5)}, 100);
  slice_b.mutable_chunks(0)->set_bundle_size(kMaxChunkBytes);
  slice_b.mutable_chunks(0)->set_bundle_offset(kMaxChunkBytes - 100);
  std::vector<v1::TreeEntry> entries = {
      File("A"),  // uppercase sorts first
      Special("block", v1::ENTRY_TYPE_BLOCK_DEVICE),
      Special("char", v1::ENTRY_TYPE_CHAR_DEVICE),
      empty_file,
      at_the_end,
      Special("fifo", v1::ENTRY_TYPE_FIFO),
      holes,
      Link("link", v1::ENTRY_TYPE_SYMLINK, std::string(kMaxPathTotalBytes, '/')),
      biggest,
      slice_a,
      slice_b,
      Special("sock", v1::ENTRY_TYPE_SOCKET),
      File(std::string(255, 'x')),
      File("\xc3\xa9\xff\n"),  // any bytes but '/' and NUL
  };
  absl::StatusOr<TreeReferences> refs = CheckTree(TreeBytes(entries));
  ASSERT_OK(refs.status());
  EXPECT_EQ(refs->chunk_ids.size(), 12u);
  EXPECT_THAT(refs->subtree_ids, IsEmpty());

  ASSERT_OK_AND_ASSIGN(TreeReferences none, CheckTree(""));  // the empty directory
  EXPECT_THAT(none.chunk_ids, IsEmpty());
  EXPECT_THAT(none.subtree_ids, IsEmpty());
}

TEST(TreeValidatorTest, ReturnsReferencesInEntryOrderWithRepeats) {
  const std::string c1 = TestChunkId(1), c2 = TestChunkId(2), c3 = TestChunkId(3);
  const std::string s1 = TestChunkId(10, 1), s2 = TestChunkId(11, 1);
  std::string tree = TreeBytes({
      FileEntry("a", {c2, c1}, 10),
      DirEntry("b", s2),
      Link("c", v1::ENTRY_TYPE_HARDLINK, "a"),
      FileEntry("d", {c1, c3, c1}, 10),
      DirEntry("e", s1),
      DirEntry("f", s2),
  });
  ASSERT_OK_AND_ASSIGN(TreeReferences refs, CheckTree(tree));
  EXPECT_THAT(refs.chunk_ids, ElementsAre(c2, c1, c1, c3, c1));
  EXPECT_THAT(refs.subtree_ids, ElementsAre(s2, s1, s2));
}

// An index node references its pages as trees, which must be stored first.
TEST(TreeValidatorTest, AnIndexNodeReferencesItsPages) {
  v1::Tree index;
  index.set_level(2);
  for (int i = 0; i < 3; ++i) {
    v1::TreePage* page = index.add_pages();
    page->set_first_name(std::string(1, static_cast<char>('a' + i)));
    page->set_tree_id(TestChunkId(30 + i));
  }
  ASSERT_OK_AND_ASSIGN(TreeReferences refs, CheckTree(index.SerializeAsString()));
  EXPECT_THAT(refs.subtree_ids, ElementsAre(TestChunkId(30), TestChunkId(31), TestChunkId(32)));
  EXPECT_THAT(refs.chunk_ids, IsEmpty());
}

}  // namespace
}  // namespace cairn

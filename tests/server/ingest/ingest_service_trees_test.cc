// IngestService's PutTrees against hostile input: every malformed tree is
// refused with its reason and not stored, trees come children first, and a
// call is bounded in trees and bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/ingest_service.h"
#include "tests/server/ingest/ingest_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

struct BadTree {
  std::string label;
  std::string bytes;
  absl::StatusCode code;
  std::string message;
};

TEST_F(IngestServiceTest, PutTreesRefusesHostileTrees) {
  const std::string& c0 = stored_[0];
  const std::string& c1 = stored_[1];
  auto file = [&](absl::string_view name) { return FileEntry(name, {c0}, 100); };
  auto one = [](v1::TreeEntry e) { return TreeBytes({std::move(e)}); };

  std::vector<BadTree> cases;
  auto add = [&](std::string label, std::string bytes, absl::StatusCode code, std::string message) {
    cases.push_back({std::move(label), std::move(bytes), code, std::move(message)});
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const auto kPrecondition = absl::StatusCode::kFailedPrecondition;
  add("unsorted", TreeBytes({file("b"), file("a")}), kInvalid, "sorted");
  add("duplicate", TreeBytes({file("a"), file("a")}), kInvalid, "sorted and unique");
  add("dotdot", one(file("..")), kInvalid, "");
  add("dot", one(file(".")), kInvalid, "");
  add("slash", one(file("a/b")), kInvalid, "");
  add("empty name", one(file("")), kInvalid, "");
  add("nul", one(file(std::string("a\0b", 3))), kInvalid, "");
  add("256 bytes", one(file(std::string(256, 'n'))), kInvalid, "");
  {
    v1::TreeEntry e = FileEntry("f", {c0}, 100);
    e.mutable_chunks(0)->mutable_id()->resize(31);
    add("chunk id 31", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0}, 100);
    e.mutable_chunks(0)->set_size(0);
    add("chunk size 0", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0, c1}, 100);
    e.mutable_chunks(1)->set_offset(50);
    add("overlap", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0, c1}, 100);
    std::swap(*e.mutable_chunks(0), *e.mutable_chunks(1));
    e.mutable_chunks(0)->set_offset(100);
    e.mutable_chunks(1)->set_offset(0);
    add("out of order", one(e), kInvalid, "malformed chunk list");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0, c1}, 100);
    e.set_size(150);
    add("past size", one(e), kInvalid, "past its size");
  }
  {
    // offset + size wraps around 2^64: must not pass for "within the size".
    v1::TreeEntry e = FileEntry("f", {c0}, 100);
    e.mutable_chunks(0)->set_offset(UINT64_MAX - 49);
    e.set_size(1000);
    add("offset overflow", one(e), kInvalid, "");
  }
  {
    v1::TreeEntry e = FileEntry("f", {c0}, kMaxChunkBytes + 1);
    add("chunk over max", one(e), kInvalid, "malformed chunk list");
  }
  add("chunk not stored", one(FileEntry("f", {TestChunkId(5000)}, 100)), kPrecondition,
      "not stored");
  add("missing subtree", one(DirEntry("d", Sha256Of("no such tree"))), kPrecondition, "not stored");
  {
    // A paged directory's index whose page was never sent.
    v1::Tree index;
    index.set_level(1);
    v1::TreePage* page = index.add_pages();
    page->set_first_name("a");
    page->set_tree_id(Sha256Of("no such page"));
    add("missing page", index.SerializeAsString(), kPrecondition, "not stored");
    index.mutable_pages(0)->set_tree_id(Sha256Of(one(file("a"))));
    *index.add_entries() = file("b");
    add("index with entries", index.SerializeAsString(), kInvalid, "no entries");
  }
  add("subtree id 31", one(DirEntry("d", Sha256Of("x").substr(0, 31))), kInvalid, "subtree id");
  {
    v1::TreeEntry e = file("x");
    e.set_type(static_cast<v1::EntryType>(99));
    add("type 99", one(e), kInvalid, "unknown type");
    e.set_type(v1::ENTRY_TYPE_UNSPECIFIED);
    add("type unspecified", one(e), kInvalid, "unknown type");
  }
  {
    v1::TreeEntry e;
    e.set_name("link");
    e.set_type(v1::ENTRY_TYPE_SYMLINK);
    add("empty link", one(e), kInvalid, "target");
    e.set_link_target(std::string(kMaxPathTotalBytes + 1, 'l'));
    add("long link", one(e), kInvalid, "target");
  }
  add("garbage", std::string("\xff\xff\xff\xff garbage", 13), kInvalid, "parse");

  for (const BadTree& c : cases) {
    SCOPED_TRACE(c.label);
    absl::Status status = PutTreesOnce(calls(), job_, {c.bytes});
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
    EXPECT_FALSE(TreeStored(c.bytes));
  }

  // The boundaries that are legal.
  std::string fine = TreeBytes({file("a\xff\n b"), file(std::string(255, 'n'))});
  EXPECT_OK(PutTreesOnce(calls(), job_, {fine}));
  EXPECT_TRUE(TreeStored(fine));
  // A paged directory: its page, then the index that names it.
  const std::string leaf = TreeBytes({file("p"), file("q")});
  v1::Tree index;
  index.set_level(1);
  v1::TreePage* page = index.add_pages();
  page->set_first_name("p");
  page->set_tree_id(Sha256Of(leaf));
  EXPECT_OK(PutTreesOnce(calls(), job_, {leaf, index.SerializeAsString()}));
  EXPECT_TRUE(TreeStored(index.SerializeAsString()));
}

TEST_F(IngestServiceTest, PutTreesTakesChildrenFirstOnly) {
  std::string child = TreeBytes({FileEntry("f", {stored_[2]}, 100)});
  std::string parent = TreeBytes({DirEntry("sub", Sha256Of(child))});
  absl::Status wrong_order = PutTreesOnce(calls(), job_, {parent, child});
  EXPECT_EQ(wrong_order.code(), absl::StatusCode::kFailedPrecondition) << wrong_order;
  EXPECT_FALSE(TreeStored(parent));
  ASSERT_OK(PutTreesOnce(calls(), job_, {child, parent}));
  EXPECT_TRUE(TreeStored(parent));
  EXPECT_TRUE(TreeStored(child));
}

TEST_F(IngestServiceTest, PutTreesBoundsTheCall) {
  std::vector<std::string> trees;
  for (int i = 0; i < 65; ++i) {
    trees.push_back(TreeBytes({FileEntry(absl::StrCat("f", i), {stored_[0]}, 100)}));
  }
  absl::Status status = PutTreesOnce(calls(), job_, trees);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  for (const std::string& t : trees) EXPECT_FALSE(TreeStored(t));
  trees.pop_back();
  EXPECT_OK(PutTreesOnce(calls(), job_, trees));

  // One tree over 12 MiB (valid otherwise: sorted symlinks with long targets).
  std::vector<v1::TreeEntry> links;
  for (int i = 0; i < 3100; ++i) {
    v1::TreeEntry e;
    e.set_name(absl::StrCat("l", 10000 + i));
    e.set_type(v1::ENTRY_TYPE_SYMLINK);
    e.set_link_target(std::string(kMaxPathTotalBytes, 't'));
    links.push_back(std::move(e));
  }
  std::string huge = TreeBytes(links);
  ASSERT_GT(huge.size(), kMaxTreeBytes);
  status = PutTreesOnce(calls(), job_, {huge});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_FALSE(TreeStored(huge));

  // Two legal trees that together pass the 14 MiB a call may carry.
  links.resize(1800);
  std::string half_a = TreeBytes(links);
  links.erase(links.begin());
  std::string half_b = TreeBytes(links);
  ASSERT_LE(half_a.size(), kMaxTreeBytes);
  ASSERT_GT(half_a.size() + half_b.size(), kMaxTreesBytesPerCall);
  status = PutTreesOnce(calls(), job_, {half_a, half_b});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_FALSE(TreeStored(half_a));
  EXPECT_OK(PutTreesOnce(calls(), job_, {half_a}));
}

}  // namespace
}  // namespace cairn

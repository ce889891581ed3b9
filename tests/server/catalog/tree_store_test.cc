// TreeStore on a real catalog file, beyond catalog_test.cc: a batch Put is
// one transaction (all or nothing), Page walks (tenant, id) order bounded by
// bytes, Delete counts what was there, and the rows survive a reopen.
#include "server/catalog/tree_store.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class TreeStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(a_, catalog().agents().TenantId("A"));
    ASSERT_OK_AND_ASSIGN(b_, catalog().agents().TenantId("B"));
  }

  TreeStore& trees() { return catalog().trees(); }

  // Tree `n`: `size` bytes under their SHA-256.
  static std::pair<std::string, std::string> Tree(int n, size_t size = 100) {
    std::string data = absl::StrCat("tree-", n, "-");
    data.resize(size, static_cast<char>('a' + n % 26));
    return {Sha256Of(data), data};
  }

  absl::StatusOr<int64_t> TreeRows() { return RawInt("SELECT count(*) FROM trees"); }

  int64_t a_ = 0;
  int64_t b_ = 0;
};

TEST_F(TreeStoreTest, ABatchIsStoredWholeAndSurvivesReopen) {
  std::vector<std::pair<std::string, std::string>> batch;
  for (int n = 0; n < 50; ++n) batch.push_back(Tree(n));
  ASSERT_OK(trees().Put(a_, batch));
  ASSERT_OK(trees().Put(a_, {}));  // an empty batch is fine

  Reopen();
  std::vector<std::string> ids;
  for (const auto& [id, data] : batch) {
    ids.push_back(id);
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> got, trees().Get(a_, id));
    EXPECT_EQ(got, data);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, trees().FindMissing(a_, ids));
  EXPECT_THAT(missing, IsEmpty());
  ASSERT_OK_AND_ASSIGN(missing, trees().FindMissing(b_, ids));
  EXPECT_EQ(missing.size(), ids.size());
}

TEST_F(TreeStoreTest, AFailingBatchStoresNothing) {
  // Tenant 987654 does not exist: the rows break the foreign key, and the
  // batch rolls back as one.
  std::vector<std::pair<std::string, std::string>> batch = {Tree(1), Tree(2)};
  absl::Status put = trees().Put(987654, batch);
  EXPECT_FALSE(put.ok());
  ASSERT_OK_AND_ASSIGN(int64_t rows, TreeRows());
  EXPECT_EQ(rows, 0);
  // The store is still usable afterwards (the transaction ended).
  ASSERT_OK(trees().Put(a_, batch));
  ASSERT_OK_AND_ASSIGN(rows, TreeRows());
  EXPECT_EQ(rows, 2);
}

TEST_F(TreeStoreTest, AnEmptyTreeIsStoredAsEmptyBytes) {
  const std::string id = Sha256Of("");
  ASSERT_OK(trees().Put(a_, {{id, std::string()}}));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> got, trees().Get(a_, id));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "");
}

TEST_F(TreeStoreTest, PageWalksKeyOrderBoundedByBytes) {
  std::vector<std::pair<std::string, std::string>> in_a, in_b;
  for (int n = 0; n < 10; ++n) in_a.push_back(Tree(n, 1000));
  for (int n = 10; n < 14; ++n) in_b.push_back(Tree(n, 1000));
  ASSERT_OK(trees().Put(a_, in_a));
  ASSERT_OK(trees().Put(b_, in_b));

  auto walk = [&](uint64_t max_bytes, size_t* pages) {
    std::vector<std::pair<int64_t, std::string>> seen;
    int64_t tenant = 0;
    std::string id;
    *pages = 0;
    while (*pages < 100) {
      absl::StatusOr<std::vector<TreeRow>> page = trees().Page(tenant, id, max_bytes);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || page->empty()) break;
      ++*pages;
      for (const TreeRow& row : *page) {
        seen.emplace_back(row.tenant, row.id);
        EXPECT_EQ(Sha256Of(row.data), row.id);
        EXPECT_GT(row.created_ms, 0);
      }
      tenant = page->back().tenant;
      id = page->back().id;
    }
    return seen;
  };
  size_t pages = 0;
  std::vector<std::pair<int64_t, std::string>> all = walk(1 << 20, &pages);
  EXPECT_EQ(pages, 1u);
  ASSERT_EQ(all.size(), 14u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(all.front().first, a_);
  EXPECT_EQ(all.back().first, b_);

  // About 2.5 trees' worth per page: pages of 3 (the bound is passed by the last).
  std::vector<std::pair<int64_t, std::string>> paged = walk(2500, &pages);
  EXPECT_EQ(paged, all);
  EXPECT_EQ(pages, 5u);
  // A bound smaller than one tree still makes progress, one tree a page.
  paged = walk(1, &pages);
  EXPECT_EQ(paged, all);
  EXPECT_EQ(pages, 14u);
}

// Regression: with a bound of 0 bytes a page came back empty, which a
// caller takes for the end of the walk; a page holds at least one tree.
TEST_F(TreeStoreTest, PageWithAZeroByteBoundStillReturnsOneTree) {
  ASSERT_OK(trees().Put(a_, {Tree(1)}));
  ASSERT_OK_AND_ASSIGN(std::vector<TreeRow> page, trees().Page(0, "", 0));
  EXPECT_EQ(page.size(), 1u);
}

TEST_F(TreeStoreTest, DeleteCountsOnlyWhatWasThere) {
  ASSERT_OK(trees().Put(a_, {Tree(1), Tree(2), Tree(3)}));
  ASSERT_OK(trees().Put(b_, {Tree(1)}));
  ASSERT_OK_AND_ASSIGN(
      uint64_t deleted,
      trees().Delete({TenantObject{a_, Tree(1).first}, TenantObject{a_, Tree(2).first},
                      TenantObject{a_, Tree(9).first}, TenantObject{a_, Tree(1).first}}));
  EXPECT_EQ(deleted, 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       trees().FindMissing(a_, {Tree(1).first, Tree(2).first, Tree(3).first}));
  EXPECT_THAT(missing, ElementsAre(0u, 1u));
  // The same id of another tenant is untouched.
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> other, trees().Get(b_, Tree(1).first));
  EXPECT_EQ(other, Tree(1).second);
  ASSERT_OK_AND_ASSIGN(deleted, trees().Delete({}));
  EXPECT_EQ(deleted, 0u);
  // A deleted tree can be stored again.
  ASSERT_OK(trees().Put(a_, {Tree(1)}));
  ASSERT_OK_AND_ASSIGN(other, trees().Get(a_, Tree(1).first));
  EXPECT_EQ(other, Tree(1).second);
}

// Trees are kept compressed where that is smaller (tree_blob.h), and every
// reader gets the serialized bytes back: Get, Page, and the mirror's reads.
// Rows written before compression (raw bytes) read back as they are.
TEST_F(TreeStoreTest, TreesAreKeptCompressedAndReadBackExactly) {
  std::string text;
  for (int i = 0; i < 400; ++i) absl::StrAppend(&text, "entry-", i, " size=4096 mode=0644; ");
  const std::pair<std::string, std::string> big = {Sha256Of(text), text};
  const std::pair<std::string, std::string> tiny = Tree(7, 10);
  ASSERT_OK(trees().Put(a_, {big, tiny}));
  ASSERT_OK_AND_ASSIGN(int64_t stored,
                       RawInt("SELECT sum(length(data)) FROM trees WHERE length(data) > 100"));
  EXPECT_LT(stored, static_cast<int64_t>(text.size()) / 4) << "the repetitive tree is compressed";
  ASSERT_OK_AND_ASSIGN(int64_t tiny_stored,
                       RawInt("SELECT sum(length(data)) FROM trees WHERE length(data) <= 100"));
  EXPECT_EQ(tiny_stored, 10) << "a tree compression does not shrink is kept as it is";
  // A row as an earlier release wrote it.
  ASSERT_OK(RawExec(absl::StrCat("INSERT INTO trees(tenant_id, id, data) VALUES(", a_,
                                 ", x'aa', CAST('raw old tree bytes' AS BLOB))")));
  Reopen();
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> got, trees().Get(a_, big.first));
  EXPECT_EQ(got, text);
  ASSERT_OK_AND_ASSIGN(got, trees().Get(a_, tiny.first));
  EXPECT_EQ(got, tiny.second);
  ASSERT_OK_AND_ASSIGN(got, trees().Get(a_, "\xaa"));
  EXPECT_EQ(got, "raw old tree bytes");
  ASSERT_OK_AND_ASSIGN(std::vector<TreeRow> page, trees().Page(0, "", 1 << 20));
  std::vector<std::string> datas;
  for (const TreeRow& row : page) datas.push_back(row.data);
  EXPECT_THAT(datas, ::testing::UnorderedElementsAre(text, tiny.second, "raw old tree bytes"));
  ASSERT_OK_AND_ASSIGN(std::vector<TreeRow> unmirrored, catalog().mirror().Unmirrored(a_, 1 << 20));
  datas.clear();
  for (const TreeRow& row : unmirrored) datas.push_back(row.data);
  EXPECT_THAT(datas, ::testing::UnorderedElementsAre(text, tiny.second, "raw old tree bytes"));
  // A compressed row that is damaged is an error, not other bytes.
  ASSERT_OK(RawExec(absl::StrCat("UPDATE trees SET data = x'0028b52ffd00ffff' WHERE id = x'",
                                 absl::BytesToHexString(big.first), "'")));
  absl::StatusOr<std::optional<std::string>> damaged = trees().Get(a_, big.first);
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss) << damaged.status();
}

}  // namespace
}  // namespace cairn

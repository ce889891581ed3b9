// SnapshotBrowser on a real catalog: ListFiles pages with page_token (the
// last page holds no token), a prefix naming a file or a directory, recursive
// listings, the default and the largest page; Diff reports added, removed,
// modified and metadata changes and never reads a subtree both sides share;
// unknown snapshots, snapshots of two tenants, paths that are not there and
// missing trees are errors.
#include "server/browse/snapshot_browser.h"

#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/limits.h"
#include "common/tree_pages.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

v1::TreeEntry Empty(const std::string& name) { return FileEntry(name, {}, 0); }

class SnapshotBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("snapshot_browser");
    ASSERT_NE(repo_, nullptr);
    browser_ = std::make_unique<SnapshotBrowser>(repo_->catalog);
    for (uint64_t n = 0; n < 8; ++n) chunks_.push_back(TestChunkId(n, 3));
  }

  // Stores `trees` (children first; the last is the root) as a snapshot of
  // `agent`; its id. The chunks_ are stored for its job.
  std::string Snapshot(const std::vector<std::string>& trees, const std::string& agent = "a1",
                       const std::string& tenant = "t1") {
    absl::StatusOr<std::string> job = StartBackup(*repo_->agent, agent, tenant, "/data");
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return "";
    EXPECT_OK(StoreChunks(*repo_->agent, *job, chunks_));
    EXPECT_OK(PutTrees(*repo_->agent, *job, trees));
    absl::StatusOr<v1::Snapshot> s = Commit(*repo_->agent, *job, Sha256Of(trees.back()));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->id() : "";
  }
  v1::TreeEntry File(const std::string& name, int chunk) {
    return FileEntry(name, {chunks_[chunk]}, 100);
  }

  v1::ListFilesRequest List(const std::string& snapshot, const std::string& prefix, bool recursive,
                            uint32_t limit = 0) {
    v1::ListFilesRequest request;
    request.set_snapshot_id(snapshot);
    request.set_prefix(prefix);
    request.set_recursive(recursive);
    request.set_limit(limit);
    return request;
  }
  static std::vector<std::string> Paths(const v1::ListFilesResponse& response) {
    std::vector<std::string> paths;
    for (const v1::FileInfo& f : response.files()) paths.push_back(f.path());
    return paths;
  }
  // Every page of `request`, joined; `pages` counts them.
  std::vector<std::string> AllPages(v1::ListFilesRequest request, int* pages) {
    std::vector<std::string> paths;
    for (*pages = 0; *pages < 1000;) {
      absl::StatusOr<v1::ListFilesResponse> page = browser_->ListFiles(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      ++*pages;
      for (const v1::FileInfo& f : page->files()) paths.push_back(f.path());
      if (page->next_page_token().empty()) break;
      request.set_page_token(page->next_page_token());
    }
    return paths;
  }

  using Change = std::tuple<std::string, v1::ChangeKind, v1::EntryType>;
  std::vector<Change> Diff(const std::string& from, const std::string& to) {
    v1::DiffSnapshotsRequest request;
    request.set_from_snapshot_id(from);
    request.set_to_snapshot_id(to);
    absl::StatusOr<v1::DiffSnapshotsResponse> diff = browser_->Diff(request);
    EXPECT_TRUE(diff.ok()) << diff.status();
    std::vector<Change> changes;
    if (!diff.ok()) return changes;
    EXPECT_FALSE(diff->truncated());
    for (const v1::Change& c : diff->changes()) changes.emplace_back(c.path(), c.kind(), c.type());
    return changes;
  }

  // Replaces the stored bytes of tree `tree_bytes` with garbage, behind the
  // catalog's back: reading that tree now fails.
  void Spoil(const std::string& tree_bytes) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(repo_->dir + "/catalog.db"));
    ASSERT_OK_AND_ASSIGN(SqliteStatement spoil,
                         db->Prepare("UPDATE trees SET data=x'ffffffff' WHERE id=?"));
    spoil.BindBlob(1, Sha256Of(tree_bytes));
    ASSERT_OK(spoil.Run());
    ASSERT_EQ(db->Changes(), 1);
  }

  std::unique_ptr<TestRepo> repo_;
  std::unique_ptr<SnapshotBrowser> browser_;
  std::vector<std::string> chunks_;
};

TEST_F(SnapshotBrowserTest, PagesOfADirectoryAddUpAndTheLastHasNoToken) {
  std::vector<v1::TreeEntry> entries;
  for (int i = 0; i < 7; ++i) entries.push_back(Empty(absl::StrCat("f", i)));
  const std::string id = Snapshot({TreeBytes(entries)});
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse first, browser_->ListFiles(List(id, "", false, 3)));
  EXPECT_THAT(Paths(first), ElementsAre("f0", "f1", "f2"));
  EXPECT_EQ(first.next_page_token(), "f2");
  v1::ListFilesRequest next = List(id, "", false, 3);
  next.set_page_token(first.next_page_token());
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse second, browser_->ListFiles(next));
  EXPECT_THAT(Paths(second), ElementsAre("f3", "f4", "f5"));
  next.set_page_token(second.next_page_token());
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse last, browser_->ListFiles(next));
  EXPECT_THAT(Paths(last), ElementsAre("f6"));
  EXPECT_TRUE(last.next_page_token().empty());
  // A page that ends exactly at the last entry says so: no empty page after it.
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse exact, browser_->ListFiles(List(id, "", false, 7)));
  EXPECT_EQ(exact.files_size(), 7);
  EXPECT_TRUE(exact.next_page_token().empty());
  // A token past the last entry: an empty page.
  next.set_page_token("g");
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse after, browser_->ListFiles(next));
  EXPECT_THAT(after.files(), IsEmpty());
  EXPECT_TRUE(after.next_page_token().empty());
}

TEST_F(SnapshotBrowserTest, APrefixNamesADirectoryToListOrOneFile) {
  const std::string inner = TreeBytes({File("deep", 2)});
  const std::string dir = TreeBytes({DirEntry("inner", Sha256Of(inner)), File("x", 1)});
  const std::string root = TreeBytes({DirEntry("d", Sha256Of(dir)), File("top", 0)});
  const std::string id = Snapshot({inner, dir, root});

  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse listed, browser_->ListFiles(List(id, "d", false)));
  EXPECT_THAT(Paths(listed), ElementsAre("d/inner", "d/x"));
  ASSERT_OK_AND_ASSIGN(listed, browser_->ListFiles(List(id, "d/inner", false)));
  EXPECT_THAT(Paths(listed), ElementsAre("d/inner/deep"));
  // A file: just that file, with its entry (no chunk list), recursive or not.
  for (bool recursive : {false, true}) {
    ASSERT_OK_AND_ASSIGN(listed, browser_->ListFiles(List(id, "d/x", recursive)));
    ASSERT_EQ(listed.files_size(), 1);
    EXPECT_EQ(listed.files(0).path(), "d/x");
    EXPECT_EQ(listed.files(0).entry().name(), "x");
    EXPECT_EQ(listed.files(0).entry().size(), 100u);
    EXPECT_EQ(listed.files(0).entry().chunks_size(), 0);
    EXPECT_TRUE(listed.next_page_token().empty());
  }
  // A directory's entry lists without its subtree's chunks either.
  ASSERT_OK_AND_ASSIGN(listed, browser_->ListFiles(List(id, "", false)));
  ASSERT_EQ(listed.files_size(), 2);
  EXPECT_EQ(listed.files(0).entry().type(), v1::ENTRY_TYPE_DIRECTORY);
  EXPECT_EQ(listed.files(1).entry().chunks_size(), 0);

  // What is not there, below a file, or no relative path.
  for (const char* missing : {"nope", "d/nope", "d/x/under-a-file", "top/x"}) {
    absl::StatusOr<v1::ListFilesResponse> r = browser_->ListFiles(List(id, missing, false));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << missing << ": " << r.status();
  }
  for (const char* bad : {"/d", "d/", "../d", "d//x", "."}) {
    absl::StatusOr<v1::ListFilesResponse> r = browser_->ListFiles(List(id, bad, false));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad << ": " << r.status();
  }
}

TEST_F(SnapshotBrowserTest, RecursiveListingIsDepthFirstAndPagesThroughDirectories) {
  const std::string b = TreeBytes({Empty("b1"), Empty("b2")});
  const std::string a = TreeBytes({Empty("a1"), DirEntry("b", Sha256Of(b))});
  const std::string root = TreeBytes({DirEntry("a", Sha256Of(a)), Empty("a-z"), Empty("c")});
  const std::string id = Snapshot({b, a, root});
  const std::vector<std::string> want = {"a", "a/a1", "a/b", "a/b/b1", "a/b/b2", "a-z", "c"};
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse all, browser_->ListFiles(List(id, "", true)));
  // "a-z" after everything in "a/": the walk's order, not plain byte order.
  EXPECT_EQ(Paths(all), want);
  for (uint32_t limit = 1; limit <= 3; ++limit) {
    int pages = 0;
    EXPECT_EQ(AllPages(List(id, "", true, limit), &pages), want) << limit;
    EXPECT_EQ(pages, static_cast<int>((want.size() + limit - 1) / limit)) << limit;
  }
  int pages = 0;
  EXPECT_THAT(AllPages(List(id, "a", true, 2), &pages),
              ElementsAre("a/a1", "a/b", "a/b/b1", "a/b/b2"));
  EXPECT_EQ(pages, 2);
}

TEST_F(SnapshotBrowserTest, PagesAreBoundedByDefaultAndAtMost) {
  std::vector<v1::TreeEntry> entries;
  for (uint32_t i = 0; i < kMaxFilesPage + 1; ++i)
    entries.push_back(Empty(absl::StrCat(i + 100000)));
  const std::string id = Snapshot({TreeBytes(entries)});
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse page, browser_->ListFiles(List(id, "", false)));
  EXPECT_EQ(page.files_size(), 1000) << "the default page";
  EXPECT_EQ(page.next_page_token(), "100999");
  ASSERT_OK_AND_ASSIGN(page, browser_->ListFiles(List(id, "", false, kMaxFilesPage * 10)));
  EXPECT_EQ(page.files_size(), static_cast<int>(kMaxFilesPage)) << "capped, not refused";
  EXPECT_FALSE(page.next_page_token().empty());
  int pages = 0;
  EXPECT_EQ(AllPages(List(id, "", false, kMaxFilesPage * 10), &pages).size(), kMaxFilesPage + 1);
  EXPECT_EQ(pages, 2);
}

TEST_F(SnapshotBrowserTest, DiffReportsEachKindOfChange) {
  const std::string sub = TreeBytes({File("same", 5)});
  v1::TreeEntry meta = File("meta", 4);
  v1::TreeEntry times = File("times", 6);
  const std::string gone = TreeBytes({File("g1", 7)});
  const std::string before = TreeBytes({File("changed", 1), DirEntry("gone", Sha256Of(gone)), meta,
                                        File("removed", 2), DirEntry("sub", Sha256Of(sub)), times});
  const std::string from = Snapshot({sub, gone, before});

  meta.set_mode(0600);
  times.set_mtime_ns(times.mtime_ns() + 1);
  const std::string added_dir = TreeBytes({File("n1", 3)});
  const std::string after =
      TreeBytes({File("added", 3), File("changed", 3), meta, DirEntry("new", Sha256Of(added_dir)),
                 DirEntry("sub", Sha256Of(sub)), times});
  const std::string to = Snapshot({added_dir, after});

  EXPECT_THAT(Diff(from, to), UnorderedElementsAre(
                                  Change{"added", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_FILE},
                                  Change{"changed", v1::CHANGE_KIND_MODIFIED, v1::ENTRY_TYPE_FILE},
                                  Change{"gone", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_DIRECTORY},
                                  Change{"gone/g1", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_FILE},
                                  Change{"meta", v1::CHANGE_KIND_METADATA, v1::ENTRY_TYPE_FILE},
                                  Change{"new", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_DIRECTORY},
                                  Change{"new/n1", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_FILE},
                                  Change{"removed", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_FILE},
                                  Change{"times", v1::CHANGE_KIND_METADATA, v1::ENTRY_TYPE_FILE}));
  EXPECT_THAT(Diff(to, to), IsEmpty());
}

TEST_F(SnapshotBrowserTest, DiffNeverReadsASubtreeBothSidesShare) {
  const std::string shared_leaf = TreeBytes({File("leaf", 1)});
  const std::string shared = TreeBytes({DirEntry("deeper", Sha256Of(shared_leaf)), File("s", 2)});
  const std::string one = TreeBytes({DirEntry("shared", Sha256Of(shared)), File("x", 3)});
  const std::string two = TreeBytes({DirEntry("shared", Sha256Of(shared)), File("x", 4)});
  const std::string from = Snapshot({shared_leaf, shared, one});
  const std::string to = Snapshot({two});
  // Both shared trees become unreadable: a diff that still succeeds never
  // opened them, while a listing that must open them fails.
  Spoil(shared);
  Spoil(shared_leaf);
  EXPECT_THAT(Diff(from, to),
              ElementsAre(Change{"x", v1::CHANGE_KIND_MODIFIED, v1::ENTRY_TYPE_FILE}));
  absl::StatusOr<v1::ListFilesResponse> listed = browser_->ListFiles(List(from, "", true));
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kDataLoss) << listed.status();
  EXPECT_THAT(listed.status().message(), HasSubstr("does not parse"));
}

// A large directory is paged (common/tree_pages.h): a diff reads only the
// pages that differ. Every node both versions share is spoiled, and the diff
// still finds exactly the changes; a diff with too many differing pages
// merges the directories whole and agrees.
TEST_F(SnapshotBrowserTest, DiffReadsOnlyThePagesThatDiffer) {
  auto directory = [&](const char* prefix, int files, int changed, int removed,
                       std::vector<std::string>* nodes) {
    TreeBuilder builder([&](const v1::Tree& node) -> absl::StatusOr<std::string> {
      nodes->push_back(node.SerializeAsString());
      return Sha256Of(nodes->back());
    });
    for (int i = 0; i < files; ++i) {
      if (i == removed) continue;
      EXPECT_OK(builder.Add(File(absl::StrFormat("%s%06d", prefix, i), i == changed ? 2 : 1)));
    }
    absl::StatusOr<std::string> id = builder.Finish();
    EXPECT_OK(id.status());
    nodes->push_back(TreeBytes({DirEntry("big", id.value_or(""))}));
  };
  std::vector<std::string> one, two, other;
  directory("f", 20000, -1, -1, &one);
  directory("f", 20000, 4321, 17000, &two);
  directory("g", 25000, -1, -1, &other);
  ASSERT_GT(one.size(), 100u) << "the directory should be paged";
  const std::string from = Snapshot(one);
  const std::string to = Snapshot(two);
  const std::string elsewhere = Snapshot(other);
  const std::vector<Change> want = {
      Change{"big/f004321", v1::CHANGE_KIND_MODIFIED, v1::ENTRY_TYPE_FILE},
      Change{"big/f017000", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_FILE}};
  EXPECT_EQ(Diff(from, to), want);

  // Nearly every page differs: more than a diff holds, so the two
  // directories are merged whole, in name order.
  v1::DiffSnapshotsRequest request;
  request.set_from_snapshot_id(elsewhere);
  request.set_to_snapshot_id(from);
  request.set_limit(3);
  ASSERT_OK_AND_ASSIGN(v1::DiffSnapshotsResponse all, browser_->Diff(request));
  EXPECT_TRUE(all.truncated());
  ASSERT_EQ(all.changes_size(), 3);
  EXPECT_EQ(all.changes(0).path(), "big/f000000");
  EXPECT_EQ(all.changes(0).kind(), v1::CHANGE_KIND_ADDED);
  EXPECT_EQ(all.changes(2).path(), "big/f000002");

  std::set<std::string> in_two(two.begin(), two.end());
  int spoiled = 0;
  for (const std::string& node : one) {
    if (in_two.contains(node)) {
      Spoil(node);
      ++spoiled;
    }
  }
  EXPECT_GT(spoiled, 100);
  EXPECT_EQ(Diff(from, to), want) << "a diff read a page both sides share";
}

// A chain of directories deeper than any backup makes (a crafted snapshot)
// is refused with DataLoss, not followed until the server's stack runs out.
TEST_F(SnapshotBrowserTest, ADirectoryChainTooDeepIsRefused) {
  std::vector<std::string> trees = {TreeBytes({File("bottom", 1)})};
  for (int i = 0; i < 1100; ++i)
    trees.push_back(TreeBytes({DirEntry("d", Sha256Of(trees.back()))}));
  const std::string deep = Snapshot(trees);
  absl::StatusOr<v1::ListFilesResponse> listed =
      browser_->ListFiles(List(deep, "", true, kMaxFilesPage));
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kDataLoss) << listed.status();
  EXPECT_THAT(listed.status().message(), HasSubstr("nested more than 1024"));
  const std::string shallow = Snapshot({TreeBytes({File("x", 1)})});
  v1::DiffSnapshotsRequest request;
  request.set_from_snapshot_id(shallow);
  request.set_to_snapshot_id(deep);
  request.set_limit(kMaxFilesPage);
  absl::StatusOr<v1::DiffSnapshotsResponse> diff = browser_->Diff(request);
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kDataLoss) << diff.status();
}

TEST_F(SnapshotBrowserTest, UnknownSnapshotsAndOtherTenantsAreRefused) {
  const std::string mine = Snapshot({TreeBytes({Empty("x")})}, "a1", "t1");
  const std::string also_mine = Snapshot({TreeBytes({Empty("y")})}, "a2", "t1");
  const std::string theirs = Snapshot({TreeBytes({Empty("y")})}, "b1", "t2");
  absl::StatusOr<v1::ListFilesResponse> listed = browser_->ListFiles(List("s-nope", "", false));
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(listed.status().message(), HasSubstr("s-nope"));

  v1::DiffSnapshotsRequest request;
  request.set_from_snapshot_id(mine);
  request.set_to_snapshot_id(theirs);
  absl::StatusOr<v1::DiffSnapshotsResponse> diff = browser_->Diff(request);
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kInvalidArgument) << diff.status();
  EXPECT_THAT(diff.status().message(), HasSubstr("tenants"));
  // Two agents of one tenant may be compared.
  EXPECT_THAT(Diff(mine, also_mine),
              UnorderedElementsAre(Change{"x", v1::CHANGE_KIND_REMOVED, v1::ENTRY_TYPE_FILE},
                                   Change{"y", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_FILE}));
  for (const auto& [from, to, unknown] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"s-nope", mine, "s-nope"},
                                                                      {mine, "s-gone", "s-gone"}}) {
    request.set_from_snapshot_id(from);
    request.set_to_snapshot_id(to);
    diff = browser_->Diff(request);
    EXPECT_EQ(diff.status().code(), absl::StatusCode::kNotFound) << diff.status();
    EXPECT_THAT(diff.status().message(), HasSubstr(unknown));
  }
}

TEST_F(SnapshotBrowserTest, AMissingTreeIsDataLossNamingIt) {
  const std::string sub = TreeBytes({Empty("z")});
  const std::string root = TreeBytes({DirEntry("d", Sha256Of(sub))});
  const std::string id = Snapshot({sub, root});
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(repo_->dir + "/catalog.db"));
    ASSERT_OK_AND_ASSIGN(SqliteStatement drop, db->Prepare("DELETE FROM trees WHERE id=?"));
    drop.BindBlob(1, Sha256Of(sub));
    ASSERT_OK(drop.Run());
    ASSERT_EQ(db->Changes(), 1);
  }
  absl::StatusOr<v1::ListFilesResponse> listed = browser_->ListFiles(List(id, "d", false));
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kDataLoss) << listed.status();
  EXPECT_THAT(listed.status().message(), HasSubstr("is missing"));
  // The root alone still lists.
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse top, browser_->ListFiles(List(id, "", false)));
  EXPECT_THAT(Paths(top), ElementsAre("d"));
}

}  // namespace
}  // namespace cairn

// BrowseService over a real ServerCore, beside the gRPC-level BrowseTest:
// ListSnapshots is newest first, per agent and limited (default 50);
// ListFiles walks depth first in path order ("a/z" before "a.b") and its
// pages (any page token) add up to the whole listing; Diff reports type,
// link and directory-metadata changes, stops at its limit inside a new
// directory, and refuses snapshots of two tenants.
#include "server/browse/browse_service.h"

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::TreeEntry Empty(const std::string& name) { return FileEntry(name, {}, 0); }

v1::TreeEntry Symlink(const std::string& name, const std::string& target) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_SYMLINK);
  e.set_link_target(target);
  return e;
}

class BrowseServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("browse_service");
    ASSERT_NE(repo_, nullptr);
  }

  BrowseService& browse() { return repo_->core->browse(); }

  // Stores `trees` (children first; the last is the root) as a snapshot of
  // `agent`; its id.
  std::string Snapshot(const std::vector<std::string>& trees, const std::string& agent = "a1",
                       const std::string& tenant = "t1") {
    absl::StatusOr<std::string> job = StartBackup(*repo_->agent, agent, tenant, "/data");
    EXPECT_TRUE(job.ok()) << job.status();
    EXPECT_OK(PutTrees(*repo_->agent, *job, trees));
    absl::StatusOr<v1::Snapshot> s = Commit(*repo_->agent, *job, Sha256Of(trees.back()));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->id() : "";
  }
  std::vector<std::string> Paths(const v1::ListFilesRequest& request) {
    absl::StatusOr<v1::ListFilesResponse> page = browse().ListFiles(Caller::Internal(), request);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> paths;
    if (!page.ok()) return paths;
    for (const v1::FileInfo& f : page->files()) paths.push_back(f.path());
    return paths;
  }
  using Change = std::tuple<std::string, v1::ChangeKind, v1::EntryType>;
  std::vector<Change> Diff(const std::string& from, const std::string& to, uint32_t limit = 0,
                           bool* truncated = nullptr) {
    v1::DiffSnapshotsRequest request;
    request.set_from_snapshot_id(from);
    request.set_to_snapshot_id(to);
    request.set_limit(limit);
    absl::StatusOr<v1::DiffSnapshotsResponse> diff = browse().Diff(Caller::Internal(), request);
    EXPECT_TRUE(diff.ok()) << diff.status();
    std::vector<Change> changes;
    if (!diff.ok()) return changes;
    for (const v1::Change& c : diff->changes()) changes.emplace_back(c.path(), c.kind(), c.type());
    if (truncated != nullptr) *truncated = diff->truncated();
    return changes;
  }

  std::unique_ptr<TestRepo> repo_;
};

TEST_F(BrowseServiceTest, ListSnapshotsIsNewestFirstPerAgentAndLimited) {
  ASSERT_OK(repo_->catalog->agents().TenantId("t1").status());
  for (int i = 0; i < 53; ++i) {
    const std::string agent = i % 10 == 0 ? "b1" : "a1";
    v1::Job job;
    job.set_id(absl::StrCat("j-", i));
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_agent(agent);
    ASSERT_OK(repo_->catalog->jobs().Insert(job, 0));
    v1::Snapshot s;
    s.set_id(absl::StrCat("s-", 100 + i));
    s.set_agent(agent);
    s.set_tenant("t1");
    s.add_roots("/data");
    s.set_root_tree_id(Sha256Of(""));
    s.set_created_unix_ms(1000 + i);
    s.set_job_id(job.id());
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    ASSERT_OK(repo_->catalog->snapshots().Commit(s, job).status());
  }
  v1::ListSnapshotsRequest request;
  ASSERT_OK_AND_ASSIGN(v1::ListSnapshotsResponse all,
                       browse().ListSnapshots(Caller::Internal(), request));
  ASSERT_EQ(all.snapshots_size(), 50);  // the default limit
  EXPECT_EQ(all.snapshots(0).id(), "s-152");
  EXPECT_EQ(all.snapshots(49).id(), "s-103");
  request.set_agent("b1");
  ASSERT_OK_AND_ASSIGN(v1::ListSnapshotsResponse of_b,
                       browse().ListSnapshots(Caller::Internal(), request));
  std::vector<std::string> ids;
  for (const v1::Snapshot& s : of_b.snapshots()) ids.push_back(s.id());
  EXPECT_THAT(ids, ElementsAre("s-150", "s-140", "s-130", "s-120", "s-110", "s-100"));
  request.set_limit(2);
  ASSERT_OK_AND_ASSIGN(of_b, browse().ListSnapshots(Caller::Internal(), request));
  EXPECT_EQ(of_b.snapshots_size(), 2);
  request.clear_agent();
  request.set_limit(100000);  // over the cap: capped, not refused
  ASSERT_OK_AND_ASSIGN(all, browse().ListSnapshots(Caller::Internal(), request));
  EXPECT_EQ(all.snapshots_size(), 53);
}

TEST_F(BrowseServiceTest, ListFilesWalksInPathOrderAndPagesAddUp) {
  const std::string inner = TreeBytes({Empty("m"), Empty("z")});
  const std::string root =
      TreeBytes({DirEntry("a", Sha256Of(inner)), Empty("a.b"), Symlink("l", "a/z"), Empty("z")});
  const std::string id = Snapshot({inner, root});
  v1::ListFilesRequest request;
  request.set_snapshot_id(id);
  EXPECT_THAT(Paths(request), ElementsAre("a", "a.b", "l", "z"));
  request.set_recursive(true);
  const std::vector<std::string> all = Paths(request);
  EXPECT_THAT(all, ElementsAre("a", "a/m", "a/z", "a.b", "l", "z"));

  // Every page size, and every path as a page token, continue the same walk.
  for (uint32_t limit = 1; limit <= 4; ++limit) {
    request.set_limit(limit);
    request.clear_page_token();
    std::vector<std::string> joined;
    for (int pages = 0; pages < 20; ++pages) {
      absl::StatusOr<v1::ListFilesResponse> page = browse().ListFiles(Caller::Internal(), request);
      ASSERT_OK(page.status());
      for (const v1::FileInfo& f : page->files()) joined.push_back(f.path());
      if (page->next_page_token().empty()) break;
      request.set_page_token(page->next_page_token());
    }
    EXPECT_EQ(joined, all) << "limit " << limit;
  }
  request.set_limit(0);
  for (size_t i = 0; i < all.size(); ++i) {
    request.set_page_token(all[i]);
    EXPECT_EQ(Paths(request), std::vector<std::string>(all.begin() + i + 1, all.end()))
        << "after " << all[i];
  }
  // A token that is not a listed path still continues after it.
  request.set_page_token("a/n");
  EXPECT_THAT(Paths(request), ElementsAre("a/z", "a.b", "l", "z"));

  request.clear_page_token();
  request.set_prefix("a");
  EXPECT_THAT(Paths(request), ElementsAre("a/m", "a/z"));
  request.set_prefix("l");
  ASSERT_OK_AND_ASSIGN(v1::ListFilesResponse link, browse().ListFiles(Caller::Internal(), request));
  ASSERT_EQ(link.files_size(), 1);
  EXPECT_EQ(link.files(0).entry().link_target(), "a/z");
  request.set_prefix("l/under-a-link");
  EXPECT_EQ(browse().ListFiles(Caller::Internal(), request).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(BrowseServiceTest, DiffReportsTypeLinkAndDirectoryMetadataChanges) {
  const std::string sub = TreeBytes({Empty("keep")});
  const std::string before =
      TreeBytes({DirEntry("d", Sha256Of(sub)), Symlink("link", "old"), Empty("x")});
  const std::string from = Snapshot({sub, before});
  v1::TreeEntry d2 = DirEntry("d", Sha256Of(sub));
  d2.set_mode(0700);
  const std::string x_dir = TreeBytes({Empty("inside")});
  const std::string after = TreeBytes({d2, Symlink("link", "new"), DirEntry("x", Sha256Of(x_dir))});
  const std::string to = Snapshot({x_dir, after});

  std::vector<Change> changes = Diff(from, to);
  EXPECT_THAT(changes, Contains(Change{"d", v1::CHANGE_KIND_METADATA, v1::ENTRY_TYPE_DIRECTORY}));
  EXPECT_THAT(changes, Contains(Change{"link", v1::CHANGE_KIND_MODIFIED, v1::ENTRY_TYPE_SYMLINK}));
  EXPECT_THAT(changes, Contains(Change{"x", v1::CHANGE_KIND_MODIFIED, v1::ENTRY_TYPE_DIRECTORY}));
  for (const Change& c : changes) EXPECT_NE(std::get<0>(c), "d/keep");  // unchanged inside
  EXPECT_THAT(Diff(to, to), IsEmpty());
}

TEST_F(BrowseServiceTest, DiffStopsAtItsLimitInsideANewDirectory) {
  std::vector<v1::TreeEntry> many;
  for (int i = 0; i < 20; ++i) many.push_back(Empty(absl::StrCat("f", 100 + i)));
  const std::string big = TreeBytes(many);
  const std::string empty_root = TreeBytes({});
  const std::string with_big = TreeBytes({DirEntry("big", Sha256Of(big))});
  const std::string from = Snapshot({empty_root});
  const std::string to = Snapshot({big, with_big});
  bool truncated = false;
  std::vector<Change> changes = Diff(from, to, 5, &truncated);
  EXPECT_TRUE(truncated);
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[0], (Change{"big", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_DIRECTORY}));
  EXPECT_EQ(changes[4], (Change{"big/f103", v1::CHANGE_KIND_ADDED, v1::ENTRY_TYPE_FILE}));
  changes = Diff(from, to, 0, &truncated);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(changes.size(), 21u);
  changes = Diff(to, from, 21, &truncated);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(std::get<1>(changes.back()), v1::CHANGE_KIND_REMOVED);
}

TEST_F(BrowseServiceTest, DiffRefusesSnapshotsOfTwoTenantsOrUnknownOnes) {
  const std::string mine = Snapshot({TreeBytes({Empty("x")})}, "a1", "t1");
  const std::string theirs = Snapshot({TreeBytes({Empty("y")})}, "b1", "t2");
  v1::DiffSnapshotsRequest request;
  request.set_from_snapshot_id(mine);
  request.set_to_snapshot_id(theirs);
  EXPECT_EQ(browse().Diff(Caller::Internal(), request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_to_snapshot_id("s-nope");
  absl::StatusOr<v1::DiffSnapshotsResponse> unknown = browse().Diff(Caller::Internal(), request);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), ::testing::HasSubstr("s-nope"));
  request.set_from_snapshot_id("s-gone");
  request.set_to_snapshot_id(mine);
  unknown = browse().Diff(Caller::Internal(), request);
  EXPECT_THAT(unknown.status().message(), ::testing::HasSubstr("s-gone"));
}

}  // namespace
}  // namespace cairn

// SnapshotReader over a real ServerCore: GetTrees returns a prefix of the
// ids in order, bounded by bytes but never empty; it refuses 0 or more than
// 64 ids and ids of the wrong size; every read is scoped to the snapshot's
// tenant (an agent of another tenant is refused with PermissionDenied, and
// another tenant's trees are not found); ReadChunks bounds its request.
#include "server/ingest/snapshot_reader.h"

#include <memory>
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

class SnapshotReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("snapshot_reader");
    ASSERT_NE(repo_, nullptr);
    // A real snapshot of agent a1 (tenant t1): one file over one chunk.
    ASSERT_OK_AND_ASSIGN(std::string job, StartBackup(*repo_->agent, "a1", "t1", "/data"));
    ASSERT_OK(StoreChunks(*repo_->agent, job, {TestChunkId(1)}));
    root_ = TreeBytes({FileEntry("f", {TestChunkId(1)}, 100)});
    ASSERT_OK(PutTreesOnce(*repo_->agent, job, {root_}));
    ASSERT_OK_AND_ASSIGN(snapshot_, Commit(*repo_->agent, job, Sha256Of(root_)));
    ASSERT_OK_AND_ASSIGN(t1_, repo_->catalog->agents().TenantId("t1"));
  }

  SnapshotReader& reader() { return repo_->core->reader(); }

  // Stores `data` as a tree of `tenant` straight into the catalog; its id.
  std::string PutRaw(int64_t tenant, const std::string& data) {
    std::string id = Sha256Of(data);
    EXPECT_OK(repo_->catalog->trees().Put(tenant, {{id, data}}));
    return id;
  }
  v1::GetTreesRequest Request(const std::vector<std::string>& ids) {
    v1::GetTreesRequest request;
    request.set_snapshot_id(snapshot_.id());
    for (const std::string& id : ids) request.add_ids(id);
    return request;
  }

  std::unique_ptr<TestRepo> repo_;
  std::string root_;
  v1::Snapshot snapshot_;
  int64_t t1_ = 0;
};

TEST_F(SnapshotReaderTest, GetTreesReturnsTheTreesInRequestOrder) {
  std::string a = PutRaw(t1_, "tree a"), b = PutRaw(t1_, "tree b");
  ASSERT_OK_AND_ASSIGN(v1::GetTreesResponse got,
                       reader().GetTrees(Caller::Internal(), Request({b, Sha256Of(root_), a, b})));
  EXPECT_THAT(got.trees(), ElementsAre("tree b", root_, "tree a", "tree b"));
}

TEST_F(SnapshotReaderTest, GetTreesStopsAtTheByteBoundButAlwaysSendsOne) {
  const size_t five_mib = 5u << 20;
  std::vector<std::string> ids;
  for (char c : {'a', 'b', 'c', 'd'}) ids.push_back(PutRaw(t1_, std::string(five_mib, c)));
  ASSERT_OK_AND_ASSIGN(v1::GetTreesResponse got,
                       reader().GetTrees(Caller::Internal(), Request(ids)));
  // 5 + 5 MiB fit in kMaxTreesBytesPerCall (14 MiB); a third would not.
  ASSERT_EQ(got.trees_size(), 2);
  EXPECT_EQ(got.trees(0), std::string(five_mib, 'a'));
  EXPECT_EQ(got.trees(1), std::string(five_mib, 'b'));
  // The caller asks again from where the answer stopped.
  ASSERT_OK_AND_ASSIGN(got, reader().GetTrees(Caller::Internal(), Request({ids[2], ids[3]})));
  EXPECT_EQ(got.trees_size(), 2);

  // A tree over the bound on its own still comes back, alone.
  std::string huge = PutRaw(t1_, std::string(kMaxTreesBytesPerCall + 1, 'h'));
  ASSERT_OK_AND_ASSIGN(got, reader().GetTrees(Caller::Internal(), Request({huge, ids[0]})));
  ASSERT_EQ(got.trees_size(), 1);
  EXPECT_EQ(got.trees(0).size(), kMaxTreesBytesPerCall + 1);
}

TEST_F(SnapshotReaderTest, GetTreesBoundsItsIds) {
  const std::string root_id = Sha256Of(root_);
  absl::StatusOr<v1::GetTreesResponse> got = reader().GetTrees(Caller::Internal(), Request({}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  std::vector<std::string> ids(kMaxTreesPerCall, root_id);
  ASSERT_OK_AND_ASSIGN(v1::GetTreesResponse ok, reader().GetTrees(Caller::Internal(), Request(ids)));
  EXPECT_EQ(ok.trees_size(), static_cast<int>(kMaxTreesPerCall));
  ids.push_back(root_id);
  got = reader().GetTrees(Caller::Internal(), Request(ids));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("65"));
  for (const std::string& bad : {root_id.substr(0, 31), root_id + "x", std::string()}) {
    got = reader().GetTrees(Caller::Internal(), Request({root_id, bad}));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  }
  got = reader().GetTrees(Caller::Internal(), Request({root_id, Sha256Of("not stored")}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  v1::GetTreesRequest unknown = Request({root_id});
  unknown.set_snapshot_id("s-nope");
  got = reader().GetTrees(Caller::Internal(), unknown);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
}

TEST_F(SnapshotReaderTest, AnAgentOfAnotherTenantIsRefused) {
  const Caller stranger = Caller::Agent("a1", "other-tenant");
  absl::StatusOr<v1::GetTreesResponse> trees =
      reader().GetTrees(stranger, Request({Sha256Of(root_)}));
  EXPECT_EQ(trees.status().code(), absl::StatusCode::kPermissionDenied) << trees.status();
  EXPECT_THAT(trees.status().message(), HasSubstr(snapshot_.id()));

  v1::GetTreeRequest one;
  one.set_snapshot_id(snapshot_.id());
  EXPECT_EQ(reader().GetTree(stranger, one).status().code(), absl::StatusCode::kPermissionDenied);

  v1::ReadChunksRequest chunks;
  chunks.set_snapshot_id(snapshot_.id());
  chunks.add_ids(TestChunkId(1));
  int emitted = 0;
  absl::Status read = reader().ReadChunks(stranger, chunks, [&](auto, auto) {
    ++emitted;
    return absl::OkStatus();
  });
  EXPECT_EQ(read.code(), absl::StatusCode::kPermissionDenied) << read;
  EXPECT_EQ(emitted, 0);

  // Another agent of the same tenant may read it (a restore to another machine).
  const Caller sibling = Caller::Agent("a2", "t1");
  ASSERT_OK_AND_ASSIGN(v1::GetTreesResponse got,
                       reader().GetTrees(sibling, Request({Sha256Of(root_)})));
  EXPECT_THAT(got.trees(), ElementsAre(root_));
  ASSERT_OK(reader().ReadChunks(sibling, chunks, [&](auto, auto) {
    ++emitted;
    return absl::OkStatus();
  }));
  EXPECT_EQ(emitted, 1);
}

TEST_F(SnapshotReaderTest, AnotherTenantsTreesAreNotFoundThroughThisSnapshot) {
  ASSERT_OK_AND_ASSIGN(int64_t t2, repo_->catalog->agents().TenantId("t2"));
  std::string theirs = PutRaw(t2, "t2's tree");
  absl::StatusOr<v1::GetTreesResponse> got =
      reader().GetTrees(Caller::Internal(), Request({Sha256Of(root_), theirs}));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
}

TEST_F(SnapshotReaderTest, ReadChunksChecksItsRequestFirst) {
  v1::ReadChunksRequest request;
  request.set_snapshot_id("s-does-not-exist");  // the request is refused before the lookup
  for (size_t i = 0; i <= kMaxReadIdsPerCall; ++i) request.add_ids(TestChunkId(i));
  auto never = [](absl::string_view, absl::string_view) {
    ADD_FAILURE() << "nothing may be emitted";
    return absl::OkStatus();
  };
  EXPECT_EQ(reader().ReadChunks(Caller::Internal(), request, never).code(),
            absl::StatusCode::kResourceExhausted);
  request.clear_ids();
  request.add_ids(TestChunkId(1));
  request.add_ids(std::string(33, 'x'));
  EXPECT_EQ(reader().ReadChunks(Caller::Internal(), request, never).code(),
            absl::StatusCode::kInvalidArgument);
  request.clear_ids();
  request.add_ids(TestChunkId(1));
  EXPECT_EQ(reader().ReadChunks(Caller::Internal(), request, never).code(),
            absl::StatusCode::kNotFound);
  request.set_snapshot_id(snapshot_.id());
  ChunkReadStats stats;
  int emitted = 0;
  ASSERT_OK(reader().ReadChunks(
      Caller::Internal(), request,
      [&](absl::string_view id, absl::string_view sealed) {
        EXPECT_EQ(id, TestChunkId(1));
        EXPECT_EQ(sealed, TestSealed(0, 64));  // what StoreChunks stored for it
        ++emitted;
        return absl::OkStatus();
      },
      &stats));
  EXPECT_EQ(emitted, 1);
  EXPECT_EQ(stats.tier_reads, 1u);
}

}  // namespace
}  // namespace cairn

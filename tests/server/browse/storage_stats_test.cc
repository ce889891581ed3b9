// GetStorageStats (server/browse/storage_stats.h) over a real ServerCore:
// files counted per kind, a chunk two files share counted once (to the
// first kind that reaches it), the same chunk id in another tenant counted
// for that tenant, unknown kinds from a newer agent labelled "unknown", the
// plot capped by the request, and bad requests refused: an unknown snapshot
// or agent, or a snapshot and an agent at once.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/data_classifier.h"
#include "common/file_kind.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/browse/browse_service.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::SizeIs;

v1::TreeEntry Kinded(const std::string& name, const std::vector<std::string>& chunks, uint32_t kind,
                     DataClass data_class = DataClass::kUnknown) {
  v1::TreeEntry e = FileEntry(name, chunks, 100);
  e.set_kind(kind);
  e.set_data_class(static_cast<uint32_t>(data_class));
  if (data_class != DataClass::kUnknown) e.set_plot(std::string("\x10\xf0", 2));
  return e;
}

class StorageStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("storage_stats");
    ASSERT_NE(repo_, nullptr);
  }
  std::string Snapshot(const std::vector<v1::TreeEntry>& files, const std::string& agent,
                       const std::string& tenant, const std::vector<std::string>& chunks) {
    absl::StatusOr<std::string> job = StartBackup(*repo_->agent, agent, tenant, "/data");
    EXPECT_TRUE(job.ok()) << job.status();
    EXPECT_OK(StoreChunks(*repo_->agent, *job, chunks));
    const std::string root = TreeBytes(files);
    EXPECT_OK(PutTrees(*repo_->agent, *job, {root}));
    absl::StatusOr<v1::Snapshot> s = Commit(*repo_->agent, *job, Sha256Of(root));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->id() : "";
  }
  absl::StatusOr<v1::StorageStatsResponse> Stats(const std::string& snapshot,
                                                 const std::string& agent = "",
                                                 uint32_t plot_points = 0) {
    v1::StorageStatsRequest request;
    request.set_snapshot_id(snapshot);
    request.set_agent(agent);
    request.set_plot_points(plot_points);
    return repo_->core->browse().StorageStats(Caller::Internal(), request);
  }
  static std::map<std::string, v1::KindStats> ByKind(const v1::StorageStatsResponse& r) {
    std::map<std::string, v1::KindStats> out;
    for (const v1::KindStats& k : r.kinds()) out[k.kind()] = k;
    return out;
  }

  std::unique_ptr<TestRepo> repo_;
};

TEST_F(StorageStatsTest, KindsSharedChunksAndTenants) {
  const std::string c1 = TestChunkId(1), c2 = TestChunkId(2), c3 = TestChunkId(3);
  const uint32_t safetensors = static_cast<uint32_t>(FileKind::kSafetensors);
  const std::string mine =
      Snapshot({Kinded("a.safetensors", {c1, c2}, safetensors),
                Kinded("b.bin", {c2, c3}, 0, DataClass::kFloats), Kinded("c.new", {}, 999)},
               "a1", "t1", {c1, c2, c3});
  // Another tenant holds chunk 1 too: its own copy, counted for it.
  const std::string theirs =
      Snapshot({Kinded("x.safetensors", {c1}, safetensors)}, "b1", "t2", {c1});

  ASSERT_OK_AND_ASSIGN(v1::StorageStatsResponse one, Stats(mine, "", 20000));
  std::map<std::string, v1::KindStats> kinds = ByKind(one);
  const std::string st(FileKindName(FileKind::kSafetensors));
  const std::string floats = "unknown/" + std::string(DataClassName(DataClass::kFloats));
  ASSERT_EQ(kinds.count(st), 1u);
  ASSERT_EQ(kinds.count(floats), 1u);
  EXPECT_EQ(kinds[st].files(), 1u);
  EXPECT_EQ(kinds[st].chunks(), 2u);
  EXPECT_EQ(kinds[st].logical_bytes(), 200u);
  EXPECT_EQ(kinds[floats].chunks(), 1u) << "chunk 2 went to the kind that reached it first";
  EXPECT_GT(kinds[floats].stored_bytes(), 0u);
  EXPECT_EQ(kinds["unknown"].files(), 1u) << "a kind this server does not know";
  EXPECT_THAT(one.points(), SizeIs(1)) << "one classified file; the 20000 asked is capped";

  ASSERT_OK_AND_ASSIGN(v1::StorageStatsResponse all, Stats(""));
  kinds = ByKind(all);
  EXPECT_EQ(kinds[st].files(), 2u);
  EXPECT_EQ(kinds[st].chunks(), 3u) << "tenant t2's chunk 1 is its own";
  EXPECT_THAT(all.points(), SizeIs(0)) << "no plot asked for";

  ASSERT_OK_AND_ASSIGN(v1::StorageStatsResponse b1, Stats("", "b1"));
  EXPECT_EQ(ByKind(b1)[st].chunks(), 1u);
  (void)theirs;
}

TEST_F(StorageStatsTest, BadRequestsAreRefused) {
  const std::string s = Snapshot({Kinded("f", {TestChunkId(1)}, 0)}, "a1", "t1", {TestChunkId(1)});
  EXPECT_EQ(Stats("s-0000000000000000").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Stats("", "nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Stats(s, "a1").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn

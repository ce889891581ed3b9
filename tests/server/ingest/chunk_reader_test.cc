// ChunkReader over a real catalog and local tier: each distinct id is emitted
// once, in storage order; a missing id is NotFound before anything is
// emitted; neighbours in one pack are read with one tier read, while another
// pack, a gap over kMaxGapBytes or a run over kMaxRunBytes starts a new read;
// a pack on an unconfigured tier is Unavailable; an emit error stops the
// read; chunks moved (compacted) between lookup and read are found again.
#include "server/ingest/chunk_reader.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Where a fake chunk goes in a hand-made pack object.
struct Placed {
  uint64_t n;  // TestChunkId(n), TestSealed(n, length)
  uint64_t offset;
  uint32_t length;
};

class ChunkReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("chunk_reader");
    ASSERT_NE(repo_, nullptr);
    ASSERT_OK_AND_ASSIGN(tenant_, repo_->catalog->agents().TenantId("t1"));
    reader_ = std::make_unique<ChunkReader>(&repo_->catalog->chunks(), &repo_->core->tiers());
  }

  // Writes an object holding the chunks at their offsets (zeros between) to
  // the hot tier and catalogues them under `tier_name`.
  void StorePack(const std::string& name, const std::vector<Placed>& chunks,
                 const std::string& tier_name = "hot") {
    uint64_t size = 0;
    for (const Placed& p : chunks) size = std::max(size, p.offset + p.length);
    std::string bytes(size, '\0');
    std::vector<StoredChunk> rows;
    for (const Placed& p : chunks) {
      std::string sealed = TestSealed(p.n, p.length);
      bytes.replace(p.offset, p.length, sealed);
      want_[TestChunkId(p.n)] = sealed;
      rows.push_back(StoredChunk{TestChunkId(p.n), p.offset, p.length, p.length});
    }
    ASSERT_OK(repo_->tier->Put(name, bytes));
    ASSERT_OK(repo_->catalog->chunks().AddPack(tenant_, tier_name, name, size, rows).status());
  }

  // Reads `ns` and checks every emitted chunk's bytes; the ids emitted, in order.
  absl::StatusOr<std::vector<uint64_t>> Read(const std::vector<uint64_t>& ns,
                                             ChunkReadStats* stats) {
    std::vector<std::string> ids;
    std::map<std::string, uint64_t> number;
    for (uint64_t n : ns) {
      ids.push_back(TestChunkId(n));
      number[TestChunkId(n)] = n;
    }
    std::vector<uint64_t> emitted;
    absl::Status status = reader_->Read(
        tenant_, ids,
        [&](absl::string_view id, absl::string_view sealed) {
          EXPECT_EQ(sealed, want_[std::string(id)]) << "chunk " << number[std::string(id)];
          emitted.push_back(number[std::string(id)]);
          return absl::OkStatus();
        },
        stats);
    if (!status.ok()) return status;
    return emitted;
  }

  std::unique_ptr<TestRepo> repo_;
  int64_t tenant_ = 0;
  std::unique_ptr<ChunkReader> reader_;
  std::map<std::string, std::string> want_;
};

TEST_F(ChunkReaderTest, EachDistinctIdIsEmittedOnceInStorageOrder) {
  StorePack("p1", {{0, 8, 100}, {1, 108, 50}, {2, 158, 70}});
  ChunkReadStats stats;
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> emitted, Read({2, 0, 2, 1, 0, 2}, &stats));
  EXPECT_THAT(emitted, ElementsAre(0, 1, 2));
  EXPECT_EQ(stats.chunks, 3u);
  EXPECT_EQ(stats.tier_reads, 1u);
  EXPECT_EQ(stats.bytes_read, 220u);
  ASSERT_OK_AND_ASSIGN(emitted, Read({}, &stats));
  EXPECT_THAT(emitted, ::testing::IsEmpty());
  EXPECT_EQ(stats.tier_reads, 1u);
}

TEST_F(ChunkReaderTest, AMissingIdFailsBeforeAnythingIsEmitted) {
  StorePack("p1", {{0, 8, 100}, {1, 108, 100}});
  int emitted = 0;
  std::vector<std::string> ids = {TestChunkId(0), TestChunkId(77), TestChunkId(1)};
  absl::Status status = reader_->Read(tenant_, ids, [&](absl::string_view, absl::string_view) {
    ++emitted;
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr(HexOf(TestChunkId(77))));
  EXPECT_EQ(emitted, 0);
  // Another tenant has none of these.
  ASSERT_OK_AND_ASSIGN(int64_t other, repo_->catalog->agents().TenantId("t2"));
  status = reader_->Read(other, {TestChunkId(0)}, [&](absl::string_view, absl::string_view) {
    ++emitted;
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_EQ(emitted, 0);
}

TEST_F(ChunkReaderTest, ChunksOfTwoPacksNeedTwoReads) {
  StorePack("p1", {{0, 8, 100}, {1, 108, 100}});
  StorePack("p2", {{2, 8, 100}, {3, 108, 100}});
  ChunkReadStats stats;
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> emitted, Read({3, 1, 2, 0}, &stats));
  EXPECT_THAT(emitted, ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(stats.tier_reads, 2u);
  ChunkReadStats one;
  ASSERT_OK_AND_ASSIGN(emitted, Read({3, 2}, &one));
  EXPECT_EQ(one.tier_reads, 1u);
}

TEST_F(ChunkReaderTest, GapsUpToTheLimitAreReadOverLargerOnesSplit) {
  const uint64_t gap = ChunkReader::kMaxGapBytes;
  StorePack("p1", {{0, 8, 100},
                   {1, 108 + gap, 100},              // exactly the limit after chunk 0
                   {2, 208 + gap + gap + 1, 100}});  // one byte over it after chunk 1
  ChunkReadStats stats;
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> emitted, Read({0, 1, 2}, &stats));
  EXPECT_THAT(emitted, ElementsAre(0, 1, 2));
  EXPECT_EQ(stats.tier_reads, 2u);
  EXPECT_EQ(stats.bytes_read, 200 + gap + 100);  // the first gap was read and dropped
  // Not asking for a chunk in the middle leaves a gap too.
  StorePack("p2", {{10, 8, 100}, {11, 108, 100}, {12, 208, 100}});
  ChunkReadStats skip;
  ASSERT_OK_AND_ASSIGN(emitted, Read({10, 12}, &skip));
  EXPECT_EQ(skip.tier_reads, 1u);
  EXPECT_EQ(skip.bytes_read, 300u);
}

TEST_F(ChunkReaderTest, ARunStaysWithinTheRunBound) {
  // 33 neighbours of 1 MiB: the first 32 fill one run exactly, the last needs another.
  const uint32_t mib = 1u << 20;
  std::vector<Placed> chunks;
  std::vector<uint64_t> ns;
  for (uint64_t n = 0; n < 33; ++n) {
    chunks.push_back({n, 8 + n * mib, mib});
    ns.push_back(n);
  }
  StorePack("big", chunks);
  ChunkReadStats stats;
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> emitted, Read(ns, &stats));
  EXPECT_EQ(emitted, ns);
  EXPECT_EQ(stats.tier_reads, 2u);
  EXPECT_EQ(stats.bytes_read, 33ull * mib);
}

TEST_F(ChunkReaderTest, APackOnAnUnconfiguredTierIsUnavailable) {
  StorePack("p-archived", {{0, 8, 100}}, "archive");
  StorePack("p-hot", {{1, 8, 100}});
  ChunkReadStats stats;
  absl::StatusOr<std::vector<uint64_t>> emitted = Read({1, 0}, &stats);
  EXPECT_EQ(emitted.status().code(), absl::StatusCode::kUnavailable) << emitted.status();
  EXPECT_THAT(emitted.status().message(), HasSubstr("archive"));
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> hot_only, Read({1}, &stats));
  EXPECT_THAT(hot_only, ElementsAre(1));
}

TEST_F(ChunkReaderTest, AnEmitErrorStopsTheRead) {
  StorePack("p1", {{0, 8, 100}, {1, 108, 100}});
  StorePack("p2", {{2, 8, 100}});
  int calls = 0;
  ChunkReadStats stats;
  absl::Status status = reader_->Read(
      tenant_, {TestChunkId(0), TestChunkId(1), TestChunkId(2)},
      [&](absl::string_view, absl::string_view) {
        return ++calls == 2 ? absl::CancelledError("client went away") : absl::OkStatus();
      },
      &stats);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(stats.tier_reads, 1u);  // the second pack was never read
}

TEST_F(ChunkReaderTest, ChunksCompactedAfterTheLookupAreReadFromTheirNewPack) {
  StorePack("p1", {{0, 8, 100}});
  StorePack("p2", {{1, 8, 100}, {2, 108, 100}});
  ASSERT_OK_AND_ASSIGN(std::optional<PackRecord> p2, repo_->catalog->chunks().GetPack(2));
  ASSERT_TRUE(p2.has_value());
  ASSERT_EQ(p2->name, "p2");
  // While chunk 0 is being emitted (p2 already looked up), compaction moves
  // p2's chunks into p3 and deletes p2's object.
  std::string p3(300, '\0');
  p3.replace(50, 100, TestSealed(1, 100));
  p3.replace(150, 100, TestSealed(2, 100));
  std::vector<std::string> emitted;
  ChunkReadStats stats;
  absl::Status status = reader_->Read(
      tenant_, {TestChunkId(2), TestChunkId(1), TestChunkId(0)},
      [&](absl::string_view id, absl::string_view sealed) {
        EXPECT_EQ(sealed, want_[std::string(id)]);
        emitted.emplace_back(id);
        if (emitted.size() == 1) {
          EXPECT_OK(repo_->tier->Put("p3", p3));
          EXPECT_OK(repo_->catalog->chunks()
                        .MoveChunks(tenant_, "hot", "p3", p3.size(),
                                    {StoredChunk{TestChunkId(1), 50, 100, 100, p2->id},
                                     StoredChunk{TestChunkId(2), 150, 100, 100, p2->id}})
                        .status());
          EXPECT_OK(repo_->tier->Delete("p2"));
        }
        return absl::OkStatus();
      },
      &stats);
  ASSERT_OK(status);
  EXPECT_THAT(emitted, ElementsAre(TestChunkId(0), TestChunkId(1), TestChunkId(2)));
  EXPECT_EQ(stats.tier_reads, 2u);  // p1, then p3 (the failed read of p2 is not counted)
}

TEST_F(ChunkReaderTest, AChunkGoneBetweenLookupAndReadIsNotFound) {
  StorePack("p1", {{0, 8, 100}});
  StorePack("p2", {{1, 8, 100}});
  absl::Status status = reader_->Read(
      tenant_, {TestChunkId(0), TestChunkId(1)}, [&](absl::string_view, absl::string_view) {
        uint64_t deleted = 0;
        EXPECT_OK(repo_->catalog->chunks()
                      .Delete({TenantObject{tenant_, TestChunkId(1)}}, &deleted)
                      .status());
        EXPECT_OK(repo_->tier->Delete("p2"));
        return absl::OkStatus();
      });
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr("vanished"));
}

}  // namespace
}  // namespace cairn

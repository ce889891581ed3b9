// PackWriter over a real local tier: a committed pack reads back with
// ReadPackIndex and every blob verifies; a refused Add leaves the pack
// usable; a writer dropped before Commit leaves no object (not even a temp
// file); a tier failure (FaultInjectionTier) leaves the writer failed for
// good and nothing stored.
#include "server/ingest/pack_writer.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/pack_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/maintenance/pack_verifier.h"
#include "server/tiers/local_tier.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {
namespace {

using ::testing::IsEmpty;
using ::testing::MatchesRegex;

ChunkId IdOf(uint64_t n) {
  ChunkId id;
  std::string bytes = TestChunkId(n);
  std::memcpy(id.data(), bytes.data(), id.size());
  return id;
}

class PackWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("pack_writer");
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> local, OpenLocalTier("hot", dir_));
    tier_ = WrapWithFaults(std::move(local));
  }
  void TearDown() override {
    tier_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  std::vector<std::string> Objects() {
    absl::StatusOr<std::vector<std::string>> names = tier_->List();
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? *names : std::vector<std::string>();
  }

  // Reads the committed pack `name` back and checks every blob against `want`.
  void ExpectPackHolds(const std::string& name, const std::vector<PackEntry>& entries,
                       const std::vector<std::string>& blobs) {
    ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> index, ReadPackIndex(tier_.get(), name));
    ASSERT_EQ(index.size(), entries.size());
    for (size_t i = 0; i < index.size(); ++i) {
      EXPECT_EQ(index[i].id, entries[i].id);
      EXPECT_EQ(index[i].offset, entries[i].offset);
      EXPECT_EQ(index[i].length, entries[i].length);
      EXPECT_EQ(index[i].raw_size, entries[i].raw_size);
      std::string blob;
      ASSERT_OK(tier_->Read(name, index[i].offset, index[i].length, &blob));
      EXPECT_EQ(blob, blobs[i]);
      EXPECT_OK(VerifyBlob(index[i], blob));
    }
  }

  std::string dir_;
  std::unique_ptr<FaultInjectionTier> tier_;
};

TEST_F(PackWriterTest, ACommittedPackReadsBackAndEveryBlobVerifies) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
  EXPECT_THAT(pack->name(), MatchesRegex("pack-[0-9]+-[0-9a-f]{24}"));
  EXPECT_EQ(pack->tier(), tier_.get());
  EXPECT_EQ(pack->size(), kPackHeaderSize);
  std::vector<PackEntry> entries;
  std::vector<std::string> blobs;
  for (uint64_t n = 0; n < 25; ++n) {
    blobs.push_back(TestSealed(n, 1 + n * 37));
    ASSERT_OK_AND_ASSIGN(PackEntry e, pack->Add(IdOf(n), 1000 + n, blobs.back()));
    EXPECT_EQ(e.offset, pack->size() - blobs.back().size());
    entries.push_back(e);
  }
  EXPECT_EQ(pack->entry_count(), 25u);
  EXPECT_THAT(Objects(), IsEmpty());  // nothing visible before Commit
  ASSERT_OK(pack->Commit());
  EXPECT_THAT(Objects(), ::testing::ElementsAre(pack->name()));
  ASSERT_OK_AND_ASSIGN(uint64_t size, tier_->Size(pack->name()));
  EXPECT_EQ(pack->size(), size);
  ExpectPackHolds(pack->name(), entries, blobs);
}

TEST_F(PackWriterTest, AnEmptyPackIsAValidPack) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
  ASSERT_OK(pack->Commit());
  ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> index, ReadPackIndex(tier_.get(), pack->name()));
  EXPECT_THAT(index, IsEmpty());
}

TEST_F(PackWriterTest, ARefusedAddLeavesThePackUsable) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
  std::vector<PackEntry> entries;
  std::vector<std::string> blobs = {TestSealed(1, 100), TestSealed(2, 200)};
  ASSERT_OK_AND_ASSIGN(PackEntry first, pack->Add(IdOf(1), 10, blobs[0]));
  entries.push_back(first);
  const uint64_t size = pack->size();

  const std::string oversized(kMaxBlobSize + 1, 'x');
  EXPECT_EQ(pack->Add(IdOf(9), 10, oversized).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pack->Add(IdOf(9), 10, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pack->Add(IdOf(9), kMaxBlobSize + 1, "abc").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pack->size(), size);
  EXPECT_EQ(pack->entry_count(), 1u);

  ASSERT_OK_AND_ASSIGN(PackEntry second, pack->Add(IdOf(2), 20, blobs[1]));
  EXPECT_EQ(second.offset, size);
  entries.push_back(second);
  ASSERT_OK(pack->Commit());
  ExpectPackHolds(pack->name(), entries, blobs);
}

TEST_F(PackWriterTest, AnUncommittedWriterLeavesNothing) {
  std::string name;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
    ASSERT_OK(pack->Add(IdOf(1), 10, TestSealed(1, 4096)).status());
    name = pack->name();
  }
  EXPECT_THAT(Objects(), IsEmpty());
  EXPECT_EQ(tier_->Size(name).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(RawDirListing(dir_), IsEmpty());  // the temp file went too
}

TEST_F(PackWriterTest, AFailedAppendLeavesTheWriterFailed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
  ASSERT_OK(pack->Add(IdOf(1), 10, TestSealed(1, 100)).status());
  tier_->FailNth(TierOp::kAppend, 1);
  absl::Status failed = pack->Add(IdOf(2), 10, TestSealed(2, 100)).status();
  EXPECT_EQ(failed.code(), absl::StatusCode::kResourceExhausted) << failed;
  // The tier would take bytes again, but the pack may have a hole: it stays failed.
  EXPECT_EQ(pack->Add(IdOf(3), 10, TestSealed(3, 100)).status(), failed);
  EXPECT_EQ(pack->Commit(), failed);
  EXPECT_EQ(pack->Commit(), failed);
  EXPECT_EQ(tier_->calls(TierOp::kCommit), 0);
  pack.reset();
  EXPECT_THAT(Objects(), IsEmpty());
  EXPECT_THAT(RawDirListing(dir_), IsEmpty());
}

TEST_F(PackWriterTest, AFailedCommitLeavesTheWriterFailed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
  ASSERT_OK(pack->Add(IdOf(1), 10, TestSealed(1, 100)).status());
  tier_->FailNth(TierOp::kCommit, 1, absl::UnavailableError("disk went away"));
  absl::Status failed = pack->Commit();
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_EQ(pack->Commit(), failed);
  EXPECT_EQ(pack->Add(IdOf(2), 10, TestSealed(2, 100)).status(), failed);
  EXPECT_EQ(tier_->calls(TierOp::kCommit), 1);  // the second Commit never reached the tier
  pack.reset();
  EXPECT_THAT(Objects(), IsEmpty());
}

TEST_F(PackWriterTest, AFailedIndexWriteFailsCommit) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
  ASSERT_OK(pack->Add(IdOf(1), 10, TestSealed(1, 100)).status());
  tier_->FailNth(TierOp::kAppend, 1);  // the index and footer
  EXPECT_EQ(pack->Commit().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(tier_->calls(TierOp::kCommit), 0);
  pack.reset();
  EXPECT_THAT(Objects(), IsEmpty());
}

TEST_F(PackWriterTest, CreateFailsWhenTheHeaderCannotBeWritten) {
  tier_->FailNth(TierOp::kAppend, 1);
  absl::StatusOr<std::unique_ptr<PackWriter>> pack = PackWriter::Create(tier_.get());
  EXPECT_EQ(pack.status().code(), absl::StatusCode::kResourceExhausted) << pack.status();
  tier_->FailNth(TierOp::kCreate, 1);
  pack = PackWriter::Create(tier_.get());
  EXPECT_EQ(pack.status().code(), absl::StatusCode::kResourceExhausted) << pack.status();
  EXPECT_THAT(RawDirListing(dir_), IsEmpty());
}

TEST_F(PackWriterTest, FullAtTheTargetSize) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier_.get()));
  EXPECT_FALSE(pack->Full(1000));
  ASSERT_OK(pack->Add(IdOf(1), 10, TestSealed(1, 991)).status());  // 8 + 991 = 999
  EXPECT_FALSE(pack->Full(1000));
  EXPECT_TRUE(pack->Full(999));
  ASSERT_OK(pack->Add(IdOf(2), 10, TestSealed(2, 1)).status());
  EXPECT_TRUE(pack->Full(1000));
}

TEST_F(PackWriterTest, NewPackNamesAreUniqueValidObjectNames) {
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    std::string name = NewPackName();
    ASSERT_OK(ValidateObjectName(name));
    EXPECT_TRUE(names.insert(name).second) << name;
  }
}

}  // namespace
}  // namespace cairn

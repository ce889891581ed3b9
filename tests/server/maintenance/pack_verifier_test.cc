// PackVerifier's parts on a real local tier (wrapped to count reads), with
// packs written by PackBuilder: ReadPackIndex on a good pack, an empty one,
// packs cut short anywhere, garbage and a damaged index; IsPackDamage tells
// damage from unreachable; VerifyAll reads only header, footer and index
// unless asked to read the data, and then reads blobs in runs, one tier read
// per run. (Quarantine and reporting through the service are in
// maintenance_service_test.cc.)
#include "server/maintenance/pack_verifier.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/pack_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

ChunkId AsChunkId(const std::string& bytes) {
  ChunkId id;
  std::memcpy(id.data(), bytes.data(), id.size());
  return id;
}

// A pack of `blobs` (chunk i is TestChunkId(first + i)) and its index.
struct BuiltPack {
  std::string bytes;
  std::vector<PackEntry> entries;
};
BuiltPack BuildPack(const std::vector<std::string>& blobs, uint64_t first = 0) {
  BuiltPack pack;
  PackBuilder builder;
  pack.bytes = PackBuilder::Header();
  for (size_t i = 0; i < blobs.size(); ++i) {
    absl::StatusOr<PackEntry> entry = builder.Add(AsChunkId(TestChunkId(first + i)),
                                                  static_cast<uint32_t>(blobs[i].size()), blobs[i]);
    EXPECT_TRUE(entry.ok()) << entry.status();
    pack.bytes += blobs[i];
  }
  pack.bytes += builder.Finish();
  pack.entries = builder.entries();
  return pack;
}

class PackVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = OpenTestRepo("pack_verifier", CoreOptions(), [this](std::unique_ptr<Tier> local) {
      std::unique_ptr<FaultInjectionTier> wrapped = WrapWithFaults(std::move(local));
      tier_ = wrapped.get();
      return std::unique_ptr<Tier>(std::move(wrapped));
    });
    ASSERT_NE(repo_, nullptr);
    ASSERT_OK_AND_ASSIGN(tenant_, repo_->catalog->agents().TenantId("t1"));
  }

  // Writes `pack` as object `name` and catalogues its chunks there.
  void Catalogue(const std::string& name, const BuiltPack& pack) {
    ASSERT_OK(tier_->Put(name, pack.bytes));
    std::vector<StoredChunk> chunks;
    for (const PackEntry& e : pack.entries) {
      chunks.push_back(
          StoredChunk{std::string(reinterpret_cast<const char*>(e.id.data()), e.id.size()),
                      e.offset, e.length, e.raw_size});
    }
    ASSERT_OK(
        repo_->catalog->chunks().AddPack(tenant_, "hot", name, pack.bytes.size(), chunks).status());
  }

  absl::StatusOr<VerifyReport> VerifyAll(bool read_data) {
    PackVerifier verifier(&repo_->catalog->chunks(), &repo_->catalog->placement(),
                          &repo_->core->tiers());
    return verifier.VerifyAll(read_data);
  }

  std::unique_ptr<TestRepo> repo_;
  FaultInjectionTier* tier_ = nullptr;
  int64_t tenant_ = 0;
};

TEST_F(PackVerifierTest, ReadPackIndexOfAGoodPackGivesWhatWasWritten) {
  BuiltPack pack = BuildPack({"first blob", "second, longer blob", "3"});
  ASSERT_OK(tier_->Put("pack-good", pack.bytes));
  ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> entries, ReadPackIndex(tier_, "pack-good"));
  ASSERT_EQ(entries.size(), pack.entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(entries[i].id, pack.entries[i].id);
    EXPECT_EQ(entries[i].offset, pack.entries[i].offset);
    EXPECT_EQ(entries[i].length, pack.entries[i].length);
    EXPECT_EQ(entries[i].raw_size, pack.entries[i].raw_size);
    EXPECT_EQ(entries[i].checksum, pack.entries[i].checksum);
    EXPECT_OK(VerifyBlob(
        entries[i], absl::string_view(pack.bytes).substr(entries[i].offset, entries[i].length)));
  }
  // A pack without blobs is well formed too.
  ASSERT_OK(tier_->Put("pack-empty", BuildPack({}).bytes));
  ASSERT_OK_AND_ASSIGN(entries, ReadPackIndex(tier_, "pack-empty"));
  EXPECT_THAT(entries, IsEmpty());
}

TEST_F(PackVerifierTest, APackCutShortAnywhereIsDamage) {
  const BuiltPack pack = BuildPack({"aaaa", "bbbbbbbb", "cc"});
  for (size_t cut = 0; cut < pack.bytes.size(); ++cut) {
    SCOPED_TRACE(cut);
    ASSERT_OK(tier_->Put("pack-cut", pack.bytes.substr(0, cut)));
    absl::StatusOr<std::vector<PackEntry>> index = ReadPackIndex(tier_, "pack-cut");
    EXPECT_EQ(index.status().code(), absl::StatusCode::kDataLoss) << index.status();
    EXPECT_TRUE(IsPackDamage(index.status()));
    if (cut < kPackHeaderSize + kPackFooterSize) {
      EXPECT_THAT(index.status().message(), HasSubstr("truncated"));
    }
  }
}

TEST_F(PackVerifierTest, GarbageAndADamagedIndexAreDamage) {
  const BuiltPack pack = BuildPack({"aaaa", "bbbbbbbb"});
  const size_t index_at = pack.bytes.size() - kPackFooterSize - 2 * kPackIndexEntrySize;
  std::string bad_header = pack.bytes;
  bad_header[0] ^= 0x01;
  std::string bad_index = pack.bytes;
  bad_index[index_at + 40] ^= 0x01;  // the first entry's length
  std::string bad_footer = pack.bytes;
  bad_footer[bad_footer.size() - 1] ^= 0x01;  // its magic
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", std::string(1000, '\x5a')},
      {"header", bad_header},
      {"index", bad_index},
      {"footer", bad_footer},
      {"blobs only", PackBuilder::Header() + "aaaabbbbbbbb" + std::string(kPackFooterSize, '\0')},
  };
  for (const auto& [label, bytes] : cases) {
    SCOPED_TRACE(label);
    ASSERT_OK(tier_->Put("pack-bad", bytes));
    absl::StatusOr<std::vector<PackEntry>> index = ReadPackIndex(tier_, "pack-bad");
    EXPECT_EQ(index.status().code(), absl::StatusCode::kDataLoss) << index.status();
    EXPECT_TRUE(IsPackDamage(index.status()));
  }
}

TEST_F(PackVerifierTest, AMissingPackIsDamageAnUnreachableOneIsNot) {
  absl::StatusOr<std::vector<PackEntry>> missing = ReadPackIndex(tier_, "pack-never-written");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_TRUE(IsPackDamage(missing.status()));

  ASSERT_OK(tier_->Put("pack-good", BuildPack({"blob"}).bytes));
  tier_->FailNth(TierOp::kRead, 2, absl::UnavailableError("the shelf is off"));  // the footer
  absl::StatusOr<std::vector<PackEntry>> down = ReadPackIndex(tier_, "pack-good");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_FALSE(IsPackDamage(down.status()));
}

TEST_F(PackVerifierTest, IsPackDamageTellsDamageFromTrouble) {
  EXPECT_TRUE(IsPackDamage(absl::DataLossError("bad checksum")));
  EXPECT_TRUE(IsPackDamage(absl::NotFoundError("gone")));
  EXPECT_TRUE(IsPackDamage(absl::OutOfRangeError("shorter than its index")));
  for (const absl::Status& trouble :
       {absl::OkStatus(), absl::UnavailableError("down"), absl::InternalError("EIO"),
        absl::PermissionDeniedError("EACCES"), absl::ResourceExhaustedError("ENOMEM"),
        absl::DeadlineExceededError("slow"), absl::InvalidArgumentError("bad name")}) {
    EXPECT_FALSE(IsPackDamage(trouble)) << trouble;
  }
}

TEST_F(PackVerifierTest, VerifyAllReadsTheDataOnlyWhenAskedAndInRuns) {
  Catalogue("pack-a", BuildPack({"a0", "a1", "a2"}, 0));
  // 36 MiB of blobs: two runs (a run ends before it would pass 32 MiB).
  const std::string twelve_mib(12u << 20, 'x');
  Catalogue("pack-b", BuildPack({twelve_mib, twelve_mib + "y", twelve_mib + "z"}, 10));

  const int64_t reads_before = tier_->calls(TierOp::kRead);
  ASSERT_OK_AND_ASSIGN(VerifyReport index_only, VerifyAll(false));
  EXPECT_EQ(index_only.packs_checked, 2u);
  EXPECT_EQ(index_only.chunks_checked, 0u);
  EXPECT_THAT(index_only.problems, IsEmpty());
  EXPECT_THAT(index_only.unchecked, IsEmpty());
  EXPECT_EQ(tier_->calls(TierOp::kRead) - reads_before, 2 * 3) << "header, footer, index";

  const int64_t reads_middle = tier_->calls(TierOp::kRead);
  ASSERT_OK_AND_ASSIGN(VerifyReport full, VerifyAll(true));
  EXPECT_EQ(full.packs_checked, 2u);
  EXPECT_EQ(full.chunks_checked, 6u);
  EXPECT_THAT(full.problems, IsEmpty());
  EXPECT_EQ(tier_->calls(TierOp::kRead) - reads_middle, 2 * 3 + 1 + 2) << "a's run, b's two";
}

TEST_F(PackVerifierTest, AnEmptyCatalogChecksNothing) {
  const int64_t reads_before = tier_->calls(TierOp::kRead);
  ASSERT_OK_AND_ASSIGN(VerifyReport report, VerifyAll(true));
  EXPECT_EQ(report.packs_checked, 0u);
  EXPECT_EQ(report.chunks_checked, 0u);
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_THAT(report.unchecked, IsEmpty());
  EXPECT_EQ(tier_->calls(TierOp::kRead), reads_before);
}

}  // namespace
}  // namespace cairn

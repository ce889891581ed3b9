// Tree packs and snapshot records (tier_metadata.h) on a real local tier:
// trees and their tenant come back as written; a flipped byte anywhere, the
// same pack under another tree-pack name, another key, or a tree whose bytes
// do not hash to its id are DataLoss. A snapshot record round-trips, and is
// DataLoss under another object name, truncated, under another key or when
// its contents do not fit its name. Names parse only when well formed.
#include "server/recovery/tier_metadata.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/v1/types.pb.h"
#include "common/chunk_id.h"
#include "common/codec.h"
#include "common/le_coding.h"
#include "common/pack_format.h"
#include "common/seal.h"
#include "common/secret_key.h"
#include "common/tree_id.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/catalog/records.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/pack_index.h"
#include "tests/server/server_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kTenant[] = "tenant-acme-corp";

// A tree of one file "file-<n>.bin" with one chunk; distinct per `n`.
TreeRow Tree(uint64_t n) {
  TreeRow row;
  row.tenant = 1;
  row.data = TreeBytes({FileEntry(absl::StrCat("file-", n, ".bin"), {TestChunkId(n)}, 100)});
  row.id = TreeId(row.data);
  row.created_ms = 1000 + static_cast<int64_t>(n);
  return row;
}

v1::TierSnapshotRecord Record(const std::string& snapshot_id) {
  v1::TierSnapshotRecord record;
  v1::Snapshot* s = record.mutable_snapshot();
  s->set_id(snapshot_id);
  s->set_agent("gpu-secret-agent-name");
  s->set_tenant(kTenant);
  s->add_roots("/data");
  s->set_level(v1::BACKUP_LEVEL_FULL);
  s->set_root_tree_id(Tree(1).id);
  s->set_created_unix_ms(1'700'000'000'000);
  s->set_job_id("j-00000000000000a1");
  s->mutable_stats()->set_bytes_scanned(4096);
  v1::Job* job = record.mutable_job();
  job->set_id("j-00000000000000a1");
  job->set_kind(v1::JOB_KIND_BACKUP);
  job->set_state(v1::JOB_STATE_SUCCEEDED);
  job->set_agent("gpu-secret-agent-name");
  job->set_snapshot_id(snapshot_id);
  record.set_tenant_key_check("key check value");
  return record;
}

class TierMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("tier_metadata");
    ASSERT_OK_AND_ASSIGN(tier_, OpenLocalTier("t", dir_ + "/tier"));
  }

  void TearDown() override {
    tier_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  // Everything a read of `object` hands over: (tenant, id, bytes) per tree.
  struct ReadBack {
    absl::Status status;
    std::vector<std::pair<std::string, std::string>> trees;  // (id, bytes)
    std::vector<std::string> tenants;                        // per tree
  };
  ReadBack ReadAll(const std::string& object, const SecretKey& key) {
    ReadBack out;
    out.status =
        ReadTreePack(tier_.get(), object, key,
                     [&](const std::string& tenant, const std::string& id, std::string bytes) {
                       out.tenants.push_back(tenant);
                       out.trees.emplace_back(id, std::move(bytes));
                       return absl::OkStatus();
                     });
    return out;
  }

  std::string ObjectBytes(const std::string& object) {
    absl::StatusOr<uint64_t> size = tier_->Size(object);
    EXPECT_TRUE(size.ok()) << size.status();
    std::string bytes;
    if (size.ok()) {
      absl::Status read = tier_->Read(object, 0, *size, &bytes);
      EXPECT_TRUE(read.ok()) << read;
    }
    return bytes;
  }

  // Flips every bit of the byte at `offset` of `object` in the tier's directory.
  void FlipByte(const std::string& object, uint64_t offset) {
    const std::string path = absl::StrCat(dir_, "/tier/", object);
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    char c = 0;
    ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
    c = static_cast<char>(~c);
    ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
    ::close(fd);
  }

  void WriteBlobs(const std::string& object,
                  const std::vector<std::pair<ChunkId, std::string>>& blobs);

  std::string dir_;
  std::unique_ptr<Tier> tier_;
  SecretKey key_ = SecretKey::Random();
  const std::vector<TreeRow> trees_ = {Tree(1), Tree(2), Tree(3)};
};

TEST_F(TierMetadataTest, TreePackNamesAreWellFormedAndUnique) {
  const std::string a = NewTreePackName();
  const std::string b = NewTreePackName();
  EXPECT_NE(a, b);
  for (const std::string& name : {a, b}) {
    EXPECT_TRUE(std::regex_match(name, std::regex(R"(trees-\d{13}-[0-9a-f]{24}\.ctp)"))) << name;
    EXPECT_TRUE(IsTreePackName(name)) << name;
    EXPECT_EQ(SnapshotIdOfRecord(name), "") << name;
    EXPECT_OK(ValidateObjectName(name));
  }
}

TEST_F(TierMetadataTest, IsTreePackNameOnGoodAndBadNames) {
  EXPECT_TRUE(IsTreePackName("trees-1700000000000-0123456789abcdef01234567.ctp"));
  EXPECT_TRUE(IsTreePackName("trees-x.ctp"));
  EXPECT_FALSE(IsTreePackName("trees-1700000000000-0123456789abcdef01234567.ctp~tmp"));
  EXPECT_FALSE(IsTreePackName("xtrees-1.ctp"));
  EXPECT_FALSE(IsTreePackName("trees-1.csr"));
  EXPECT_FALSE(IsTreePackName("trees-1"));
  EXPECT_FALSE(IsTreePackName("snap-s-1.csr"));
  EXPECT_FALSE(IsTreePackName("pack-1700000000000-0123456789abcdef01234567"));
  EXPECT_FALSE(IsTreePackName("catalog-1700000000000.cbk"));
  EXPECT_FALSE(IsTreePackName(""));
}

TEST_F(TierMetadataTest, SnapshotIdOfRecordOnGoodAndBadNames) {
  EXPECT_EQ(SnapshotRecordName("s-0123456789abcdef"), "snap-s-0123456789abcdef.csr");
  EXPECT_EQ(SnapshotIdOfRecord(SnapshotRecordName("s-0123456789abcdef")), "s-0123456789abcdef");
  EXPECT_EQ(SnapshotIdOfRecord("snap-x.csr"), "x");
  EXPECT_EQ(SnapshotIdOfRecord("snap-.csr"), "");
  EXPECT_EQ(SnapshotIdOfRecord("snap-s-1"), "");
  EXPECT_EQ(SnapshotIdOfRecord("s-1.csr"), "");
  EXPECT_EQ(SnapshotIdOfRecord("snap-s-1.csr.bak"), "");
  EXPECT_EQ(SnapshotIdOfRecord("xsnap-s-1.csr"), "");
  EXPECT_EQ(SnapshotIdOfRecord("trees-1-ab.ctp"), "");
  EXPECT_EQ(SnapshotIdOfRecord("pack-1-ab"), "");
  EXPECT_EQ(SnapshotIdOfRecord(""), "");
}

TEST_F(TierMetadataTest, TreePackRoundTrip) {
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees_, key_));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> listed, tier_->List());
  EXPECT_THAT(listed, ElementsAre(object));

  ReadBack got = ReadAll(object, key_);
  ASSERT_OK(got.status);
  EXPECT_THAT(got.trees,
              ElementsAre(Pair(trees_[0].id, trees_[0].data), Pair(trees_[1].id, trees_[1].data),
                          Pair(trees_[2].id, trees_[2].data)));
  EXPECT_THAT(got.tenants, ElementsAre(kTenant, kTenant, kTenant));

  // Sealed: whoever holds the bucket reads neither the tenant nor a file name.
  const std::string bytes = ObjectBytes(object);
  EXPECT_FALSE(absl::StrContains(bytes, kTenant));
  EXPECT_FALSE(absl::StrContains(bytes, "file-1.bin"));
  // And the pack's index names the header blob and then one group for the
  // three trees.
  ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> entries, ReadPackIndex(tier_.get(), object));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].id, TreePackHeaderId(object));
  EXPECT_EQ(entries[1].id, TreePackGroupId(object, 1));
}

TEST_F(TierMetadataTest, TreesPastTheGroupSizeSpanSeveralGroups) {
  std::vector<TreeRow> trees;
  for (uint64_t n = 1; n <= 40; ++n) trees.push_back(Tree(n));
  const uint64_t group_bytes = 3 * (trees[0].data.size() + 36);
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees, key_, group_bytes));
  ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> entries, ReadPackIndex(tier_.get(), object));
  ASSERT_GT(entries.size(), 10u);
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_EQ(entries[i].id, TreePackGroupId(object, i));
  ReadBack got = ReadAll(object, key_);
  ASSERT_OK(got.status);
  ASSERT_EQ(got.trees.size(), trees.size());
  for (size_t i = 0; i < trees.size(); ++i) {
    EXPECT_EQ(got.trees[i], std::make_pair(trees[i].id, trees[i].data)) << i;
  }
}

// Grouped, the trees of a snapshot cost a fraction of one frame per tree:
// they share names, ids and times.
TEST_F(TierMetadataTest, GroupsStoreLessThanATreeAPiece) {
  std::vector<TreeRow> trees;
  for (uint64_t n = 1; n <= 200; ++n) trees.push_back(Tree(n));
  const std::string grouped = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), grouped, kTenant, trees, key_));
  const std::string one_each = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), one_each, kTenant, trees, key_, /*group_bytes=*/1));
  ASSERT_OK_AND_ASSIGN(uint64_t grouped_size, tier_->Size(grouped));
  ASSERT_OK_AND_ASSIGN(uint64_t one_each_size, tier_->Size(one_each));
  EXPECT_LT(grouped_size * 3, one_each_size) << grouped_size << " vs " << one_each_size;
}

TEST_F(TierMetadataTest, ATreePackWithoutTreesReads) {
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, {}, key_));
  ReadBack got = ReadAll(object, key_);
  ASSERT_OK(got.status);
  EXPECT_THAT(got.trees, IsEmpty());
}

TEST_F(TierMetadataTest, WhatTheCallbackReturnsEndsTheRead) {
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees_, key_));
  int calls = 0;
  absl::Status s = ReadTreePack(tier_.get(), object, key_,
                                [&](const std::string&, const std::string&, std::string) {
                                  ++calls;
                                  return absl::CancelledError("enough");
                                });
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(calls, 1);
}

TEST_F(TierMetadataTest, TreeIdsMustBe32Bytes) {
  std::vector<TreeRow> bad = {Tree(1)};
  bad[0].id.pop_back();
  absl::Status s = WriteTreePack(tier_.get(), NewTreePackName(), kTenant, bad, key_);
  EXPECT_FALSE(s.ok());
}

TEST_F(TierMetadataTest, ATamperedByteInAnyBlobIsDataLoss) {
  // The header blob (the tenant), the first group and the last group, each
  // group one tree.
  for (size_t blob : {size_t{0}, size_t{1}, size_t{3}}) {
    SCOPED_TRACE(absl::StrCat("blob ", blob));
    const std::string object = NewTreePackName();
    ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees_, key_, /*group_bytes=*/1));
    ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> entries, ReadPackIndex(tier_.get(), object));
    ASSERT_EQ(entries.size(), 4u);
    FlipByte(object, entries[blob].offset + entries[blob].length / 2);
    ReadBack got = ReadAll(object, key_);
    EXPECT_TRUE(absl::IsDataLoss(got.status)) << got.status;
    // Nothing of a tree at or after the damage is handed over.
    EXPECT_LT(got.trees.size(), std::max<size_t>(blob, 1));
  }
}

TEST_F(TierMetadataTest, ATamperedIndexOrFooterIsDataLoss) {
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees_, key_));
  ASSERT_OK_AND_ASSIGN(uint64_t size, tier_->Size(object));
  FlipByte(object, size - 40);  // in the last index entry
  ReadBack got = ReadAll(object, key_);
  EXPECT_TRUE(absl::IsDataLoss(got.status)) << got.status;
  EXPECT_THAT(got.trees, IsEmpty());
}

TEST_F(TierMetadataTest, APackCopiedUnderAnotherNameIsDataLoss) {
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees_, key_));
  const std::string renamed = NewTreePackName();
  ASSERT_NE(renamed, object);
  ASSERT_OK(tier_->Put(renamed, ObjectBytes(object)));

  ReadBack got = ReadAll(renamed, key_);
  EXPECT_TRUE(absl::IsDataLoss(got.status)) << got.status;
  EXPECT_THAT(got.status.message(), HasSubstr("renamed"));
  EXPECT_THAT(got.trees, IsEmpty());
  // The original still reads.
  EXPECT_OK(ReadAll(object, key_).status);
}

TEST_F(TierMetadataTest, AnotherKeyIsDataLoss) {
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees_, key_));
  ReadBack got = ReadAll(object, SecretKey::Random());
  EXPECT_TRUE(absl::IsDataLoss(got.status)) << got.status;
  EXPECT_THAT(got.status.message(), HasSubstr("key"));
  EXPECT_THAT(got.trees, IsEmpty());
}

TEST_F(TierMetadataTest, ATreeThatDoesNotHashToItsIdIsDataLoss) {
  // Written under the id of another tree, as a buggy or hostile writer might.
  std::vector<TreeRow> trees = {Tree(1), Tree(2)};
  trees[1].id = Tree(7).id;
  const std::string object = NewTreePackName();
  ASSERT_OK(WriteTreePack(tier_.get(), object, kTenant, trees, key_));
  ReadBack got = ReadAll(object, key_);
  EXPECT_TRUE(absl::IsDataLoss(got.status)) << got.status;
  EXPECT_THAT(got.status.message(), HasSubstr("does not hash"));
  // The good tree before it was handed over; the bad one was not.
  EXPECT_THAT(got.trees, ElementsAre(Pair(trees[0].id, trees[0].data)));
}

// Packs as another writer (an older cairn, or a hostile one holding the
// key) could lay them out: `blobs` of (id, plaintext), each sealed as the
// writer seals them, the header first.
void TierMetadataTest::WriteBlobs(const std::string& object,
                                  const std::vector<std::pair<ChunkId, std::string>>& blobs) {
  Sealer sealer(key_);
  PackBuilder builder;
  std::string pack = PackBuilder::Header();
  for (const auto& [id, plain] : blobs) {
    std::string framed;
    Compress(CodecChoice{.automatic = false, .codec = Codec::kZstd}, plain, &framed);
    std::string sealed;
    ASSERT_OK(sealer.Seal(TreePackSealId(object, ChunkIdBytes(id)), framed, &sealed));
    ASSERT_OK(builder.Add(id, static_cast<uint32_t>(plain.size()), sealed).status());
    pack += sealed;
  }
  pack += builder.Finish();
  ASSERT_OK(tier_->Put(object, pack));
}

std::string GroupRecord(const TreeRow& tree, int64_t lie = 0) {
  const uint32_t n = static_cast<uint32_t>(static_cast<int64_t>(tree.data.size()) + lie);
  std::string out = tree.id;
  AppendLe32(n, &out);
  return out + tree.data;
}

// A pack of one blob per tree, as cairn wrote them before groups, reads.
TEST_F(TierMetadataTest, PacksOfOneBlobPerTreeStillRead) {
  const std::string object = NewTreePackName();
  ASSERT_OK_AND_ASSIGN(ChunkId first, ChunkIdFromBytes(trees_[0].id));
  ASSERT_OK_AND_ASSIGN(ChunkId second, ChunkIdFromBytes(trees_[1].id));
  WriteBlobs(
      object,
      {{TreePackV1HeaderId(object), kTenant}, {first, trees_[0].data}, {second, trees_[1].data}});
  ReadBack got = ReadAll(object, key_);
  ASSERT_OK(got.status);
  EXPECT_THAT(got.trees,
              ElementsAre(Pair(trees_[0].id, trees_[0].data), Pair(trees_[1].id, trees_[1].data)));
  EXPECT_THAT(got.tenants, ElementsAre(kTenant, kTenant));
}

TEST_F(TierMetadataTest, GroupsWhoseRecordsLieAreDataLoss) {
  const std::string good = GroupRecord(trees_[0]);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a length past the end", good + GroupRecord(trees_[1], +1)},
      {"a length far past the end", good + GroupRecord(trees_[1], int64_t{1} << 31)},
      {"a record header cut short", good + trees_[1].id.substr(0, 20)},
      {"an id with no length", good + trees_[1].id},
      {"an empty group", ""},
      {"a tree under another's id",
       good + GroupRecord(TreeRow{.id = trees_[2].id, .data = trees_[1].data})},
  };
  for (const auto& [what, group] : cases) {
    SCOPED_TRACE(what);
    const std::string object = NewTreePackName();
    WriteBlobs(object, {{TreePackHeaderId(object), kTenant}, {TreePackGroupId(object, 1), group}});
    ReadBack got = ReadAll(object, key_);
    EXPECT_TRUE(absl::IsDataLoss(got.status)) << got.status;
    // Only whole records that hash to their ids were handed over.
    for (const auto& [id, bytes] : got.trees) EXPECT_EQ(TreeId(bytes), id);
    EXPECT_LE(got.trees.size(), 1u);
  }
}

TEST_F(TierMetadataTest, AGroupInAnotherPlaceIsDataLoss) {
  const std::string object = NewTreePackName();
  WriteBlobs(object, {{TreePackHeaderId(object), kTenant},
                      {TreePackGroupId(object, 2), GroupRecord(trees_[0])},
                      {TreePackGroupId(object, 1), GroupRecord(trees_[1])}});
  ReadBack got = ReadAll(object, key_);
  EXPECT_TRUE(absl::IsDataLoss(got.status)) << got.status;
  EXPECT_THAT(got.status.message(), HasSubstr("moved"));
  EXPECT_THAT(got.trees, IsEmpty());
}

TEST_F(TierMetadataTest, SnapshotRecordRoundTrip) {
  const v1::TierSnapshotRecord record = Record("s-00000000000000a1");
  const std::string object = SnapshotRecordName("s-00000000000000a1");
  ASSERT_OK_AND_ASSIGN(std::string sealed, EncodeSnapshotRecord(record, object, key_));
  EXPECT_FALSE(absl::StrContains(sealed, "gpu-secret-agent-name"));
  EXPECT_FALSE(absl::StrContains(sealed, kTenant));
  ASSERT_OK_AND_ASSIGN(v1::TierSnapshotRecord decoded, DecodeSnapshotRecord(sealed, object, key_));
  EXPECT_TRUE(MessageDifferencer::Equals(decoded, record)) << decoded.DebugString();
  // Through a tier too.
  ASSERT_OK(tier_->Put(object, sealed));
  EXPECT_EQ(ObjectBytes(object), sealed);
}

TEST_F(TierMetadataTest, ARecordUnderAnotherObjectNameIsDataLoss) {
  const std::string object = SnapshotRecordName("s-00000000000000a1");
  ASSERT_OK_AND_ASSIGN(std::string sealed,
                       EncodeSnapshotRecord(Record("s-00000000000000a1"), object, key_));
  absl::StatusOr<v1::TierSnapshotRecord> decoded =
      DecodeSnapshotRecord(sealed, SnapshotRecordName("s-00000000000000a2"), key_);
  EXPECT_TRUE(absl::IsDataLoss(decoded.status())) << decoded.status();
}

TEST_F(TierMetadataTest, ARecordSealedUnderANameNotItsSnapshotsIsDataLoss) {
  // Sealed (by the key's holder) under the name of another snapshot: it
  // opens, but would overwrite that snapshot's record.
  const std::string object = SnapshotRecordName("s-00000000000000a2");
  ASSERT_OK_AND_ASSIGN(std::string sealed,
                       EncodeSnapshotRecord(Record("s-00000000000000a1"), object, key_));
  absl::StatusOr<v1::TierSnapshotRecord> decoded = DecodeSnapshotRecord(sealed, object, key_);
  EXPECT_TRUE(absl::IsDataLoss(decoded.status())) << decoded.status();
}

TEST_F(TierMetadataTest, MalformedRecordContentsAreDataLoss) {
  const std::string id = "s-00000000000000a1";
  const std::string object = SnapshotRecordName(id);
  std::vector<std::pair<std::string, v1::TierSnapshotRecord>> cases;
  cases.emplace_back("short root tree id", Record(id));
  cases.back().second.mutable_snapshot()->mutable_root_tree_id()->pop_back();
  cases.emplace_back("no tenant", Record(id));
  cases.back().second.mutable_snapshot()->clear_tenant();
  cases.emplace_back("another job", Record(id));
  cases.back().second.mutable_job()->set_id("j-00000000000000ff");
  for (const auto& [what, record] : cases) {
    SCOPED_TRACE(what);
    ASSERT_OK_AND_ASSIGN(std::string sealed, EncodeSnapshotRecord(record, object, key_));
    absl::StatusOr<v1::TierSnapshotRecord> decoded = DecodeSnapshotRecord(sealed, object, key_);
    EXPECT_TRUE(absl::IsDataLoss(decoded.status())) << decoded.status();
  }
}

TEST_F(TierMetadataTest, ATruncatedDamagedOrForeignRecordIsDataLoss) {
  const std::string object = SnapshotRecordName("s-00000000000000a1");
  ASSERT_OK_AND_ASSIGN(std::string sealed,
                       EncodeSnapshotRecord(Record("s-00000000000000a1"), object, key_));
  ASSERT_GT(sealed.size(), 2u);
  for (size_t keep : {size_t{0}, size_t{1}, sealed.size() / 2, sealed.size() - 1}) {
    SCOPED_TRACE(absl::StrCat("first ", keep, " bytes"));
    absl::StatusOr<v1::TierSnapshotRecord> decoded =
        DecodeSnapshotRecord(absl::string_view(sealed).substr(0, keep), object, key_);
    EXPECT_TRUE(absl::IsDataLoss(decoded.status())) << decoded.status();
  }
  std::string flipped = sealed;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_TRUE(absl::IsDataLoss(DecodeSnapshotRecord(flipped, object, key_).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeSnapshotRecord(sealed, object, SecretKey::Random()).status()));
  // The untouched record still decodes.
  EXPECT_OK(DecodeSnapshotRecord(sealed, object, key_).status());
}

}  // namespace
}  // namespace cairn

// How trees are kept in the catalog's rows: compressed behind a 0x00 byte
// when smaller, else as they are; anything that does not decode, or whose
// frame checksum fails, is DataLoss.
#include "server/catalog/tree_blob.h"

#include <string>

#include "absl/random/random.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

std::string SerializedTree(int entries) {
  v1::Tree tree;
  for (int i = 0; i < entries; ++i) {
    v1::TreeEntry* e = tree.add_entries();
    e->set_name("train-" + std::to_string(i) + ".log");
    e->set_type(v1::ENTRY_TYPE_FILE);
    e->set_mode(0644);
    e->set_size(4096 + i);
    e->set_mtime_ns(1764000000000000000 + i);
    e->add_chunks()->set_id(std::string(32, static_cast<char>(i)));
  }
  return tree.SerializeAsString();
}

TEST(TreeBlobTest, ATreeRoundTripsAndNamesCompress) {
  const std::string serialized = SerializedTree(500);
  ASSERT_NE(serialized[0], '\0') << "a serialized tree never starts with 0x00";
  const std::string blob = PackTreeBlob(serialized);
  EXPECT_EQ(blob[0], '\0');
  EXPECT_LT(blob.size(), serialized.size());
  absl::StatusOr<std::string> back = UnpackTreeBlob(blob);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, serialized);
}

TEST(TreeBlobTest, WhatDoesNotShrinkIsKeptAsItIs) {
  for (const std::string& raw : {std::string(), std::string("\x0a\x01x", 3)}) {
    EXPECT_EQ(PackTreeBlob(raw), raw);
    absl::StatusOr<std::string> back = UnpackTreeBlob(raw);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, raw);
  }
  absl::BitGen gen;
  std::string noise(5000, '\0');
  for (char& c : noise) c = static_cast<char>(absl::Uniform<int>(gen, 1, 256));
  EXPECT_EQ(PackTreeBlob(noise), noise);
}

TEST(TreeBlobTest, DamagedCompressedBlobsAreDataLoss) {
  const std::string blob = PackTreeBlob(SerializedTree(200));
  ASSERT_EQ(blob[0], '\0');
  std::string cut = blob.substr(0, blob.size() / 2);
  std::string flipped = blob;
  flipped[blob.size() / 2] ^= 0x5a;
  for (const std::string& bad : {std::string(1, '\0'), std::string("\0garbage", 8), cut, flipped}) {
    absl::StatusOr<std::string> back = UnpackTreeBlob(bad);
    EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss) << back.status();
  }
}

// A frame that claims more than the largest tree is refused before anything
// is allocated.
TEST(TreeBlobTest, AFrameClaimingMoreThanTheLargestTreeIsRefused) {
  std::string huge(kMaxTreeBlobBytes + 1, 'a');
  std::string blob = PackTreeBlob(huge);
  ASSERT_EQ(blob[0], '\0');
  absl::StatusOr<std::string> back = UnpackTreeBlob(blob);
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss) << back.status();
}

}  // namespace
}  // namespace cairn

// Snapshot manifest MACs (common/manifest_mac): a MAC verifies under the key
// that made it and for exactly the manifest it was made for; another key, any
// changed field, a field boundary moved (the encoding is length-prefixed), an
// empty, truncated, extended or bit-flipped MAC are all DataLoss. The MAC
// itself is pinned by a known answer: changing it would orphan every snapshot.
#include "common/manifest_mac.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/secret_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

const std::string kTreeId(32, '\x5a');

constexpr char kSnapshotId[] = "s-0123456789abcdef";

SnapshotManifest Manifest() { return {"t1", "gpu-07", "/data", kTreeId, kSnapshotId}; }

void ExpectDataLoss(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
}

TEST(ManifestMacTest, RoundTrip) {
  SecretKey meta = SecretKey::Random();
  ManifestKey key(meta);
  const std::string mac = key.Mac(Manifest());
  EXPECT_EQ(mac.size(), kManifestMacBytes);
  EXPECT_EQ(mac, key.Mac(Manifest()));
  EXPECT_OK(key.Verify(Manifest(), mac));
  // Another ManifestKey over a copy of the same key verifies it too (another agent).
  EXPECT_OK(ManifestKey(meta.Clone()).Verify(Manifest(), mac));
}

TEST(ManifestMacTest, KnownAnswer) {
  // BLAKE2b-256 keyed with 32 x 0x42 over, for the domain string and each
  // field, its length (8 bytes, little-endian) and bytes; computed with
  // Python's hashlib.blake2b, not with libsodium.
  SecretKey meta = *SecretKey::FromBytes(std::string(32, '\x42'));
  EXPECT_EQ(absl::BytesToHexString(ManifestKey(meta).Mac(Manifest())),
            "7a342dbd73e7dfb6c0f37504dd868493b0b2ccd966df7c630f59e22095d42035");
}

TEST(ManifestMacTest, AnyChangedFieldIsDataLoss) {
  ManifestKey key(SecretKey::Random());
  const std::string mac = key.Mac(Manifest());
  std::string other_tree = kTreeId;
  other_tree.back() ^= 1;
  SnapshotManifest changed[] = {
      {"t2", "gpu-07", "/data", kTreeId, kSnapshotId},
      {"", "gpu-07", "/data", kTreeId, kSnapshotId},
      {"t1", "gpu-08", "/data", kTreeId, kSnapshotId},
      {"t1", "", "/data", kTreeId, kSnapshotId},
      {"t1", "gpu-07", "/data/", kTreeId, kSnapshotId},
      {"t1", "gpu-07", "/", kTreeId, kSnapshotId},
      {"t1", "gpu-07", "/data", other_tree, kSnapshotId},
      {"t1", "gpu-07", "/data", "", kSnapshotId},
      {"t1", "gpu-07", "/data", absl::string_view(kTreeId).substr(1), kSnapshotId},
      {"t1", "gpu-07", "/data", kTreeId, "s-0123456789abcdee"},  // an older snapshot's
      {"t1", "gpu-07", "/data", kTreeId, ""},
  };
  for (const SnapshotManifest& m : changed) {
    SCOPED_TRACE(absl::StrCat(m.tenant, "|", m.agent, "|", m.root, "|", m.root_tree_id.size()));
    absl::Status status = key.Verify(m, mac);
    ExpectDataLoss(status);
    EXPECT_THAT(status.message(), HasSubstr("does not verify"));
    EXPECT_NE(key.Mac(m), mac);
  }
}

TEST(ManifestMacTest, FieldBoundariesCount) {
  ManifestKey key(SecretKey::Random());
  // Without length prefixes each pair would be the same byte string.
  const SnapshotManifest pairs[][2] = {
      {{"ab", "c", "/r", kTreeId}, {"a", "bc", "/r", kTreeId}},
      {{"t", "ab", "c", kTreeId}, {"t", "a", "bc", kTreeId}},
      {{"t", "a", "/rx", "y"}, {"t", "a", "/r", "xy"}},
      {{"", "ta", "/r", kTreeId}, {"ta", "", "/r", kTreeId}},
  };
  for (const auto& pair : pairs) {
    const std::string mac = key.Mac(pair[0]);
    EXPECT_NE(mac, key.Mac(pair[1]));
    ExpectDataLoss(key.Verify(pair[1], mac));
    EXPECT_OK(key.Verify(pair[0], mac));
  }
}

TEST(ManifestMacTest, AnotherKeyIsDataLoss) {
  ManifestKey ours(SecretKey::Random());
  ManifestKey theirs(SecretKey::Random());
  ExpectDataLoss(theirs.Verify(Manifest(), ours.Mac(Manifest())));
  EXPECT_NE(theirs.Mac(Manifest()), ours.Mac(Manifest()));
}

TEST(ManifestMacTest, SubkeysOfOneMasterAreNotInterchangeable) {
  SecretKey master = SecretKey::Random();
  TenantKeys keys = DeriveTenantKeys(master);
  const std::string mac = ManifestKey(keys.meta_key).Mac(Manifest());
  EXPECT_OK(ManifestKey(DeriveTenantKeys(master).meta_key).Verify(Manifest(), mac));
  ExpectDataLoss(ManifestKey(keys.id_key).Verify(Manifest(), mac));
  ExpectDataLoss(ManifestKey(keys.seal_key).Verify(Manifest(), mac));
  ExpectDataLoss(ManifestKey(master).Verify(Manifest(), mac));
}

TEST(ManifestMacTest, EmptyMacIsDataLossSayingWhy) {
  ManifestKey key(SecretKey::Random());
  absl::Status status = key.Verify(Manifest(), "");
  ExpectDataLoss(status);
  EXPECT_THAT(status.message(), HasSubstr("no manifest MAC"));
}

TEST(ManifestMacTest, DamagedMacIsDataLoss) {
  ManifestKey key(SecretKey::Random());
  const std::string mac = key.Mac(Manifest());
  for (size_t length = 0; length < mac.size(); ++length) {
    ExpectDataLoss(key.Verify(Manifest(), mac.substr(0, length)));
  }
  ExpectDataLoss(key.Verify(Manifest(), mac + '\0'));
  ExpectDataLoss(key.Verify(Manifest(), mac + mac));
  ExpectDataLoss(key.Verify(Manifest(), std::string(kManifestMacBytes, '\0')));
  for (size_t bit = 0; bit < mac.size() * 8; ++bit) {
    std::string flipped = mac;
    flipped[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    ExpectDataLoss(key.Verify(Manifest(), flipped));
  }
}

TEST(ManifestMacTest, RootIsRawBytes) {
  ManifestKey key(SecretKey::Random());
  const std::string latin1 = "/caf\xe9";
  const std::string with_nul("/a\0b", 4);
  const std::string mac = key.Mac({"t1", "a", latin1, kTreeId});
  EXPECT_OK(key.Verify({"t1", "a", latin1, kTreeId}, mac));
  ExpectDataLoss(key.Verify({"t1", "a", "/caf\xc3\xa9", kTreeId}, mac));
  const std::string nul_mac = key.Mac({"t1", "a", with_nul, kTreeId});
  EXPECT_OK(key.Verify({"t1", "a", with_nul, kTreeId}, nul_mac));
  ExpectDataLoss(key.Verify({"t1", "a", "/a", kTreeId}, nul_mac));
}

}  // namespace
}  // namespace cairn

// State bundles on a real local tier: several files (one spanning frames,
// one empty) come back byte for byte; a wrong key, a flipped byte anywhere, a
// truncation, frames reordered or dropped, another object name or bytes after
// the last frame are all DataLoss; names that could reach outside the state
// directory are refused on both the writing and (for a hand-made hostile
// bundle) the reading side.
#include "server/recovery/state_bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/chunk_id.h"
#include "common/codec.h"
#include "common/file_util.h"
#include "common/le_coding.h"
#include "common/seal.h"
#include "common/secret_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tiers/local_tier.h"
#include "tests/server/server_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kObject[] = "catalog-0001700000000000.cbk";

// Incompressible bytes derived from `seed` (so zstd cannot shrink a frame).
std::string RandomBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

// Where each frame of a well-formed bundle starts, parsed from the layout
// the header documents ("CAIRNSB1", then flags | u32 LE length | sealed).
struct Frame {
  size_t offset;  // of its flags byte
  size_t sealed_len;
  bool last;
};
std::vector<Frame> ParseFrames(const std::string& bytes) {
  std::vector<Frame> frames;
  size_t at = 8;
  while (at + 5 <= bytes.size()) {
    Frame f{at, LoadLe32(bytes.data() + at + 1), (bytes[at] & 1) != 0};
    frames.push_back(f);
    at += 5 + f.sealed_len;
    if (f.last) break;
  }
  EXPECT_EQ(at, bytes.size()) << "the bundle is not a sequence of frames";
  return frames;
}

class StateBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = Dir("state_bundle");
    ASSERT_OK_AND_ASSIGN(tier_, OpenLocalTier("t", dir_ + "/tier"));
    src_ = dir_ + "/src";
    ASSERT_OK(MakeDirectories(src_, 0700));
    // The catalog spans two frames (4 MiB + a bit); the credential is empty.
    contents_ = {
        {"catalog.db", RandomBytes(kBundleFrameBytes + 300000, 1)},
        {"admin.credentials", ""},
        {"tls/ca.key", "-----BEGIN PRIVATE KEY-----\nnot really\n"},
        {"tls/server.crt", RandomBytes(1500, 2)},
    };
    for (const auto& [name, data] : contents_) {
      const std::string path = absl::StrCat(src_, "/f", files_.size());
      ASSERT_OK(WriteFileAtomically(path, data, 0600));
      files_.push_back({name, path});
    }
  }

  void TearDown() override {
    for (const std::string& dir : dirs_) RemoveTestDirUnlessFailed(dir);
  }

  // A new empty directory, removed after the test unless it failed.
  std::string Dir(const std::string& label) {
    dirs_.push_back(NewTempDir(label));
    return dirs_.back();
  }

  absl::Status Write(const std::string& object, const SecretKey& key) {
    absl::StatusOr<std::unique_ptr<TierWriter>> writer = tier_->Create(object);
    if (!writer.ok()) return writer.status();
    absl::Status s = WriteBundle(files_, key, object, writer->get());
    if (!s.ok()) return s;
    return (*writer)->Commit();
  }

  std::string ReadObject(const std::string& object) {
    absl::StatusOr<uint64_t> size = tier_->Size(object);
    EXPECT_TRUE(size.ok()) << size.status();
    std::string out;
    EXPECT_OK(tier_->Read(object, 0, size.value_or(0), &out));
    return out;
  }

  // ReadBundle into a fresh, empty directory.
  absl::StatusOr<std::vector<std::string>> ReadInto(const std::string& object, const SecretKey& key,
                                                    std::string* into) {
    *into = Dir("bundle_out");
    return ReadBundle(tier_.get(), object, key, *into);
  }

  // Stores `bytes` as `object` and expects ReadBundle to refuse it as DataLoss.
  void ExpectDataLoss(const std::string& bytes, const std::string& what,
                      const std::string& object = kObject) {
    ASSERT_OK(tier_->Put(object, bytes));
    std::string out;
    absl::StatusOr<std::vector<std::string>> read = ReadInto(object, key_, &out);
    EXPECT_TRUE(absl::IsDataLoss(read.status()))
        << what << ": " << (read.ok() ? "read fine" : read.status().ToString());
  }

  std::vector<std::string> dirs_;
  std::string dir_;
  std::string src_;
  std::unique_ptr<Tier> tier_;
  SecretKey key_ = SecretKey::Random();
  std::map<std::string, std::string> contents_;
  std::vector<BundleFile> files_;
};

TEST_F(StateBundleTest, RoundTripsSeveralFilesAcrossFrames) {
  ASSERT_OK(Write(kObject, key_));
  const std::string bytes = ReadObject(kObject);
  EXPECT_EQ(bytes.substr(0, 8), "CAIRNSB1");
  std::vector<Frame> frames = ParseFrames(bytes);
  ASSERT_GE(frames.size(), 2u) << "a file over 4 MiB must span frames";
  EXPECT_TRUE(frames.back().last);
  for (size_t i = 0; i + 1 < frames.size(); ++i) EXPECT_FALSE(frames[i].last) << i;
  // Sealed: no file's bytes show through.
  EXPECT_EQ(bytes.find(contents_["tls/ca.key"]), std::string::npos);
  EXPECT_EQ(bytes.find("tls/ca.key"), std::string::npos) << "names are sealed too";

  std::string out;
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, ReadInto(kObject, key_, &out));
  EXPECT_THAT(names, UnorderedElementsAre("catalog.db", "admin.credentials", "tls/ca.key",
                                          "tls/server.crt"));
  for (const auto& [name, data] : contents_) {
    const std::string path = absl::StrCat(out, "/", name);
    ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(path, 64 << 20));
    EXPECT_EQ(got.size(), data.size()) << name;
    EXPECT_TRUE(got == data) << name << " came back different";
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

TEST_F(StateBundleTest, EmptyFileListStillMakesAReadableBundle) {
  files_.clear();
  ASSERT_OK(Write(kObject, key_));
  std::string out;
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, ReadInto(kObject, key_, &out));
  EXPECT_TRUE(names.empty());
}

// The entry stream ends exactly on a frame boundary: the last frame is empty.
TEST_F(StateBundleTest, StreamEndingOnAFrameBoundaryRoundTrips) {
  // 4 (name length) + 10 ("catalog.db") + 8 (size) + data + 4 (end marker).
  const std::string data = RandomBytes(kBundleFrameBytes - 26, 7);
  ASSERT_OK(WriteFileAtomically(src_ + "/exact", data, 0600));
  files_ = {{"catalog.db", src_ + "/exact"}};
  ASSERT_OK(Write(kObject, key_));
  std::vector<Frame> frames = ParseFrames(ReadObject(kObject));
  EXPECT_EQ(frames.size(), 2u);
  std::string out;
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, ReadInto(kObject, key_, &out));
  EXPECT_THAT(names, UnorderedElementsAre("catalog.db"));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(out + "/catalog.db", 64 << 20));
  EXPECT_TRUE(got == data);
}

TEST_F(StateBundleTest, WrongKeyIsDataLoss) {
  ASSERT_OK(Write(kObject, key_));
  std::string out;
  absl::StatusOr<std::vector<std::string>> read = ReadInto(kObject, SecretKey::Random(), &out);
  ASSERT_TRUE(absl::IsDataLoss(read.status())) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("key"));
}

TEST_F(StateBundleTest, FlippedByteAnywhereIsDataLoss) {
  ASSERT_OK(Write(kObject, key_));
  const std::string good = ReadObject(kObject);
  std::vector<Frame> frames = ParseFrames(good);
  ASSERT_GE(frames.size(), 2u);
  const Frame& f0 = frames[0];
  const Frame& f1 = frames[1];
  const std::vector<std::pair<size_t, std::string>> positions = {
      {0, "magic, first byte"},
      {7, "magic, last byte"},
      {f0.offset, "frame 0 flags"},
      {f0.offset + 1, "frame 0 length, low byte"},
      {f0.offset + 4, "frame 0 length, high byte"},
      {f0.offset + 5, "frame 0 seal format byte"},
      {f0.offset + 5 + 10, "frame 0 salt"},
      {f0.offset + 5 + 20, "frame 0 nonce"},
      {f0.offset + 5 + f0.sealed_len / 2, "frame 0 ciphertext"},
      {f0.offset + 5 + f0.sealed_len - 1, "frame 0 tag"},
      {f1.offset, "frame 1 flags"},
      {f1.offset + 2, "frame 1 length"},
      {f1.offset + 5 + f1.sealed_len / 2, "frame 1 ciphertext"},
      {good.size() - 1, "last byte"},
  };
  for (const auto& [at, what] : positions) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ mask);
      ExpectDataLoss(bad, absl::StrCat(what, " (offset ", at, ", mask ", mask, ")"));
    }
  }
}

TEST_F(StateBundleTest, TruncatedAnywhereIsDataLoss) {
  ASSERT_OK(Write(kObject, key_));
  const std::string good = ReadObject(kObject);
  std::vector<Frame> frames = ParseFrames(good);
  ASSERT_GE(frames.size(), 2u);
  const size_t end_of_frame0 = frames[1].offset;
  for (size_t keep :
       {size_t{0}, size_t{3}, size_t{8}, size_t{10}, size_t{13}, size_t{200}, end_of_frame0 - 1,
        end_of_frame0, end_of_frame0 + 3, end_of_frame0 + 5, good.size() - 17, good.size() - 1}) {
    ExpectDataLoss(good.substr(0, keep), absl::StrCat("truncated to ", keep, " of ", good.size()));
  }
}

TEST_F(StateBundleTest, ReorderedOrDroppedFramesAreDataLoss) {
  ASSERT_OK(Write(kObject, key_));
  const std::string good = ReadObject(kObject);
  std::vector<Frame> frames = ParseFrames(good);
  ASSERT_EQ(frames.size(), 2u);
  const std::string magic = good.substr(0, 8);
  const std::string f0 = good.substr(frames[0].offset, frames[1].offset - frames[0].offset);
  const std::string f1 = good.substr(frames[1].offset);
  ExpectDataLoss(magic + f1 + f0, "frames swapped");
  ExpectDataLoss(magic + f1, "first frame dropped");
  // The first frame with its flag saying "last": its seal binds the flag.
  std::string f0_last = f0;
  f0_last[0] = 1;
  ExpectDataLoss(magic + f0_last, "first frame relabelled as the last");
}

TEST_F(StateBundleTest, BytesUnderAnotherNameAreDataLoss) {
  ASSERT_OK(Write(kObject, key_));
  const std::string good = ReadObject(kObject);
  ExpectDataLoss(good, "the same bytes under another name", "catalog-0001700000000001.cbk");
  // And the original still reads.
  std::string out;
  EXPECT_OK(ReadInto(kObject, key_, &out).status());
}

TEST_F(StateBundleTest, BytesAfterTheLastFrameAreDataLoss) {
  ASSERT_OK(Write(kObject, key_));
  const std::string good = ReadObject(kObject);
  std::vector<Frame> frames = ParseFrames(good);
  ExpectDataLoss(good + "x", "one byte appended");
  ExpectDataLoss(good + std::string(5, '\0'), "an empty frame header appended");
  ExpectDataLoss(good + good.substr(frames.back().offset), "the last frame repeated");
}

TEST_F(StateBundleTest, ValidateBundleName) {
  for (const char* bad : {"../x", "/etc/passwd", "tls/../x", "tls/a/b", "other", "", "tls/",
                          "tls/..", "tls/.", "catalog.db/", "./catalog.db", "TLS/ca.key"}) {
    absl::Status s = ValidateBundleName(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << "\"" << bad << "\": " << s;
  }
  for (const char* good : {"catalog.db", "admin.credentials", "tls/ca.key", "tls/server.crt"}) {
    EXPECT_OK(ValidateBundleName(good));
  }
}

TEST_F(StateBundleTest, WriteRefusesNamesOutsideTheStateDir) {
  files_ = {{"../escape", files_[0].path}};
  absl::Status s = Write(kObject, key_);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_FALSE(tier_->Size(kObject).ok()) << "nothing committed";
}

// A hostile bundle, sealed with the right key (whoever had it), whose entry
// names point outside the state directory. Made by hand from the documented
// layout; the frame ids follow state_bundle.cc's FrameId (checked first by a
// hand-made bundle that does open).
class HandMadeBundle {
 public:
  HandMadeBundle(const SecretKey& key, std::string object) : sealer_(key), object_(object) {}

  void AddEntry(const std::string& name, const std::string& data) {
    AppendLe32(static_cast<uint32_t>(name.size()), &plain_);
    plain_ += name;
    AppendLe64(data.size(), &plain_);
    plain_ += data;
  }
  std::string Finish() {
    AppendLe32(0, &plain_);
    std::string compressed;
    Compress(CodecChoice{.automatic = false, .codec = Codec::kZstd, .level = 3}, plain_,
             &compressed);
    std::string sealed;
    EXPECT_OK(sealer_.Seal(FrameId(0, true), compressed, &sealed));
    std::string out = "CAIRNSB1";
    out.push_back(1);
    AppendLe32(static_cast<uint32_t>(sealed.size()), &out);
    return out + sealed;
  }

 private:
  ChunkId FrameId(uint64_t index, bool last) { return BundleFrameId(object_, index, last); }

  Sealer sealer_;
  std::string object_;
  std::string plain_;
};

TEST_F(StateBundleTest, HostileEntryNamesWriteNothingOutside) {
  {
    HandMadeBundle benign(key_, kObject);
    benign.AddEntry("catalog.db", "db");
    ASSERT_OK(tier_->Put(kObject, benign.Finish()));
    std::string out;
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, ReadInto(kObject, key_, &out));
    ASSERT_THAT(names, UnorderedElementsAre("catalog.db")) << "the hand-made format is off";
  }
  for (const char* name : {"../escape", "tls/../../escape", "/tmp/escape", "tls/a/b", "x"}) {
    HandMadeBundle hostile(key_, kObject);
    hostile.AddEntry("catalog.db", "db");
    hostile.AddEntry(name, "gotcha");
    ASSERT_OK(tier_->Put(kObject, hostile.Finish()));
    const std::string parent = Dir("bundle_parent");
    const std::string out = parent + "/state";
    ASSERT_OK(MakeDirectories(out, 0700));
    absl::StatusOr<std::vector<std::string>> read = ReadBundle(tier_.get(), kObject, key_, out);
    EXPECT_FALSE(read.ok()) << name;
    EXPECT_NE(::access((parent + "/escape").c_str(), F_OK), 0) << name;
    EXPECT_NE(::access((out + "/escape").c_str(), F_OK), 0) << name;
  }
  // The same name twice is refused too (a second copy cannot replace the first).
  HandMadeBundle twice(key_, kObject);
  twice.AddEntry("catalog.db", "one");
  twice.AddEntry("catalog.db", "two");
  ASSERT_OK(tier_->Put(kObject, twice.Finish()));
  std::string out;
  EXPECT_FALSE(ReadInto(kObject, key_, &out).ok());
}

}  // namespace
}  // namespace cairn

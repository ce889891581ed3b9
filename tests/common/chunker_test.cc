#include "common/chunker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/byte_source.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn {
namespace {

// Small sizes so a few MiB give hundreds of chunks.
constexpr ChunkerParams kSmall{.min_size = 2048, .avg_size = 8192, .max_size = 32768};
constexpr ChunkerParams kMedium{.min_size = 16 << 10, .avg_size = 64 << 10, .max_size = 256 << 10};

std::string RandomData(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t state = seed;
  for (size_t i = 0; i < size; i += 8) {
    uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    z ^= z >> 31;
    std::memcpy(&out[i], &z, std::min<size_t>(8, size - i));
  }
  return out;
}

struct Cut {
  uint64_t offset;
  std::string data;
};

std::vector<Cut> ChunkAll(const ChunkerParams& params, ByteSource* source) {
  Chunker chunker(params, source);
  std::vector<Cut> cuts;
  Chunk chunk;
  while (true) {
    absl::StatusOr<bool> more = chunker.Next(&chunk);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    cuts.push_back({chunk.offset, std::string(chunk.data)});
  }
  return cuts;
}

std::vector<Cut> ChunkString(const ChunkerParams& params, const std::string& data) {
  StringSource source(data);
  return ChunkAll(params, &source);
}

std::vector<size_t> Lengths(const std::vector<Cut>& cuts) {
  std::vector<size_t> out;
  for (const Cut& c : cuts) out.push_back(c.data.size());
  return out;
}

size_t ChunkId(const std::string& data) { return std::hash<std::string_view>()(data); }

// Fraction of the edited data's chunk ids that the original already had.
double UnchangedFraction(const ChunkerParams& params, const std::string& before,
                         const std::string& after) {
  std::set<size_t> old_ids;
  for (const Cut& c : ChunkString(params, before)) old_ids.insert(ChunkId(c.data));
  std::vector<Cut> cuts = ChunkString(params, after);
  size_t kept = 0;
  for (const Cut& c : cuts) kept += old_ids.count(ChunkId(c.data));
  return static_cast<double>(kept) / cuts.size();
}

// Returns 1 to 7 bytes per call, like a pipe or a slow network file system.
class TinyReadSource final : public ByteSource {
 public:
  explicit TinyReadSource(absl::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    n = std::min({n, data_.size(), size_t{1} + (calls_++ % 7)});
    std::memcpy(buf, data_.data(), n);
    data_.remove_prefix(n);
    return n;
  }

 private:
  absl::string_view data_;
  size_t calls_ = 0;
};

class FailingSource final : public ByteSource {
 public:
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (served_ >= 100000) return absl::DataLossError("disk on fire");
    n = std::min<size_t>(n, 100000 - served_);
    std::memset(buf, 'x', n);
    served_ += n;
    return n;
  }

 private:
  size_t served_ = 0;
};

void ExpectWellFormed(const ChunkerParams& params, const std::string& data,
                      const std::vector<Cut>& cuts) {
  std::string joined;
  for (size_t i = 0; i < cuts.size(); ++i) {
    EXPECT_EQ(cuts[i].offset, joined.size());
    if (i + 1 < cuts.size()) {
      EXPECT_GE(cuts[i].data.size(), params.min_size) << "chunk " << i;
    }
    EXPECT_GT(cuts[i].data.size(), 0u);
    EXPECT_LE(cuts[i].data.size(), params.max_size) << "chunk " << i;
    joined += cuts[i].data;
  }
  EXPECT_TRUE(joined == data) << "concatenated chunks differ from the input";
}

TEST(ChunkerParamsTest, DefaultIsValid) { EXPECT_TRUE(ChunkerParams::Default().Validate().ok()); }

TEST(ChunkerParamsTest, InvalidParamsAreRefused) {
  const ChunkerParams bad[] = {
      {.min_size = 63, .avg_size = 128, .max_size = 256},                      // min below window
      {.min_size = 4096, .avg_size = 4096, .max_size = 8192},                  // min == avg
      {.min_size = 4096, .avg_size = 8192, .max_size = 8192},                  // avg == max
      {.min_size = 8192, .avg_size = 4096, .max_size = 16384},                 // min > avg
      {.min_size = 1 << 20, .avg_size = 4 << 20, .max_size = (16 << 20) + 1},  // over kMaxChunkSize
      {.min_size = 0, .avg_size = 0, .max_size = 0},
  };
  for (const ChunkerParams& p : bad) {
    absl::Status status = p.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << p.min_size << "/" << p.avg_size << "/" << p.max_size;
    StringSource source("some data");
    Chunker chunker(p, &source);
    Chunk chunk;
    EXPECT_EQ(chunker.Next(&chunk).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ChunkerParams({.min_size = 64, .avg_size = 65, .max_size = 66}).Validate().ok());
  EXPECT_TRUE(ChunkerParams({.min_size = 1000, .avg_size = 3000, .max_size = kMaxChunkSize})
                  .Validate()
                  .ok());
}

TEST(ChunkerTest, EmptyInputHasNoChunks) {
  EXPECT_TRUE(ChunkString(kSmall, "").empty());
  EXPECT_TRUE(ChunkString(ChunkerParams::Default(), "").empty());
}

TEST(ChunkerTest, InputUpToMinIsOneChunk) {
  for (size_t size : {size_t{1}, size_t{100}, size_t{kSmall.min_size}}) {
    const std::string data = RandomData(size, 1);
    std::vector<Cut> cuts = ChunkString(kSmall, data);
    ASSERT_EQ(cuts.size(), 1u) << size;
    EXPECT_EQ(cuts[0].offset, 0u);
    EXPECT_EQ(cuts[0].data, data);
  }
}

TEST(ChunkerTest, ChunksAreWithinBoundsAndConcatenateToInput) {
  for (const ChunkerParams& params : {kSmall, kMedium}) {
    const std::string data = RandomData(8 << 20, 2);
    ExpectWellFormed(params, data, ChunkString(params, data));
  }
}

TEST(ChunkerTest, ConstantDataIsCutAtMaxOrConsistently) {
  for (char fill : {'\0', 'A'}) {
    const std::string data(10 * kSmall.max_size + 123, fill);
    std::vector<Cut> cuts = ChunkString(kSmall, data);
    ExpectWellFormed(kSmall, data, cuts);
    // The same window everywhere: every chunk but the last has one length.
    for (size_t i = 1; i + 1 < cuts.size(); ++i) EXPECT_EQ(cuts[i].data, cuts[0].data);
  }
}

TEST(ChunkerTest, MeanSizeIsNearAverage) {
  for (const ChunkerParams& params : {kSmall, kMedium}) {
    const std::string data = RandomData(32 << 20, 3);
    std::vector<Cut> cuts = ChunkString(params, data);
    double mean = static_cast<double>(data.size()) / cuts.size();
    EXPECT_GT(mean, 0.75 * params.avg_size);
    EXPECT_LT(mean, 1.5 * params.avg_size);
  }
}

TEST(ChunkerTest, IsDeterministic) {
  const std::string data = RandomData(4 << 20, 4);
  std::vector<size_t> first = Lengths(ChunkString(kSmall, data));
  EXPECT_EQ(Lengths(ChunkString(kSmall, data)), first);
  EXPECT_GT(first.size(), 100u);
}

// Pins the boundaries: a change to the gear table, the masks or the scan
// would make every existing backup's chunks stop deduplicating.
TEST(ChunkerTest, BoundariesAreStable) {
  const std::string data = RandomData(256 << 10, 42);
  std::vector<size_t> lengths = Lengths(ChunkString(kSmall, data));
  std::string got;
  for (size_t n : lengths) got += std::to_string(n) + ",";
  EXPECT_EQ(
      got,
      "17953,9096,9431,9305,9593,10622,10647,14880,8530,11043,8835,18030,17436,10083,2169,4946,"
      "3711,11615,8663,8941,9795,11518,8179,11451,10223,5449,");
}

TEST(FindChunkBoundaryTest, CutDoesNotDependOnHowMuchFollows) {
  const std::string data = RandomData(4 * kSmall.max_size, 5);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(data.data());
  size_t offset = 0;
  for (int chunk = 0; chunk < 20; ++chunk) {
    const size_t full = FindChunkBoundary(kSmall, bytes + offset, data.size() - offset);
    // Every prefix length, odd and even: shorter prefixes have no cut, longer
    // ones find the same cut.
    for (size_t n = 1; n <= full + 100 && offset + n <= data.size(); ++n) {
      const size_t cut = FindChunkBoundary(kSmall, bytes + offset, n);
      ASSERT_EQ(cut, std::min(n, full)) << "chunk " << chunk << " prefix " << n;
    }
    offset += full;
  }
}

TEST(FindChunkBoundaryTest, CutsAtMaxWithoutBoundary) {
  const std::string zeros(3 * kSmall.max_size, '\0');
  const size_t cut =
      FindChunkBoundary(kSmall, reinterpret_cast<const uint8_t*>(zeros.data()), zeros.size());
  EXPECT_GT(cut, kSmall.min_size);
  EXPECT_LE(cut, kSmall.max_size);
}

TEST(ChunkerTest, InsertAndDeleteKeepMostChunks) {
  const std::string data = RandomData(64 << 20, 6);
  const size_t middle = data.size() / 2 + 12345;
  std::string inserted = data;
  inserted.insert(middle, "a few new bytes");
  std::string deleted = data;
  deleted.erase(middle, 7);
  std::string overwritten = data;
  overwritten[middle] ^= 1;
  for (const ChunkerParams& params : {kMedium, ChunkerParams::Default()}) {
    EXPECT_GE(UnchangedFraction(params, data, inserted), 0.9) << params.avg_size;
    EXPECT_GE(UnchangedFraction(params, data, deleted), 0.9) << params.avg_size;
    EXPECT_GE(UnchangedFraction(params, data, overwritten), 0.9) << params.avg_size;
  }
}

TEST(ChunkerTest, TinyReadsGiveTheSameChunks) {
  const std::string data = RandomData(3 << 20, 7);
  TinyReadSource tiny(data);
  std::vector<Cut> got = ChunkAll(kSmall, &tiny);
  std::vector<Cut> want = ChunkString(kSmall, data);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].offset, want[i].offset);
    EXPECT_TRUE(got[i].data == want[i].data) << "chunk " << i;
  }
}

TEST(ChunkerTest, LargeInputWithDefaultParams) {
  const std::string data = RandomData(40 << 20, 8);
  ExpectWellFormed(ChunkerParams::Default(), data, ChunkString(ChunkerParams::Default(), data));
}

TEST(ChunkerTest, ReadsAFileRange) {
  const std::string data = RandomData(3 << 20, 9);
  const std::filesystem::path dir = NewTempDir("chunker");
  const std::string path = (dir / "file").string();
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
  std::fclose(f);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);

  const uint64_t offset = 100000, length = 2 << 20;
  FdRangeSource source(fd, offset, length, path);
  std::vector<Cut> got = ChunkAll(kSmall, &source);
  ::close(fd);
  std::filesystem::remove_all(dir);

  const std::string range = data.substr(offset, length);
  ExpectWellFormed(kSmall, range, got);
  EXPECT_EQ(Lengths(got), Lengths(ChunkString(kSmall, range)));
}

TEST(ChunkerTest, ResetStartsOverOnAnotherSource) {
  const std::string first = RandomData(5 << 20, 10);
  const std::string second = RandomData(3 << 20, 11);
  StringSource source1(first);
  Chunker chunker(kMedium, &source1);
  Chunk chunk;
  ASSERT_TRUE(*chunker.Next(&chunk));  // stop in the middle of the first
  StringSource source2(second);
  chunker.Reset(&source2);
  std::vector<Cut> got;
  while (*chunker.Next(&chunk)) got.push_back({chunk.offset, std::string(chunk.data)});
  EXPECT_EQ(Lengths(got), Lengths(ChunkString(kMedium, second)));
  ExpectWellFormed(kMedium, second, got);

  // A reset also clears a read error.
  FailingSource failing;
  chunker.Reset(&failing);
  while (chunker.Next(&chunk).ok()) {
  }
  StringSource source3(first);
  chunker.Reset(&source3);
  got.clear();
  while (*chunker.Next(&chunk)) got.push_back({chunk.offset, std::string(chunk.data)});
  ExpectWellFormed(kMedium, first, got);
}

TEST(ChunkerTest, ReadErrorIsSticky) {
  FailingSource source;
  Chunker chunker(kSmall, &source);
  Chunk chunk;
  absl::Status status;
  for (int i = 0; i < 1000 && status.ok(); ++i) {
    absl::StatusOr<bool> more = chunker.Next(&chunk);
    ASSERT_TRUE(!more.ok() || *more) << "ended without reporting the error";
    status = more.status();
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(chunker.Next(&chunk).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cairn

// The change journal's record format on its own: records are framed as
// documented (length, type, payload, check) and round-trip; the check catches
// every single-bit flip anywhere in a record; HasRecordAfterStart finds an
// intact record only past the first byte; BlockReader peeks and skips records
// across its 1 MiB read blocks, stops at the end and names the file on error.
#include "agent/journal_records.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/le_coding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn::journal {
namespace {

using ::testing::HasSubstr;

std::string Dirty(uint64_t sequence, absl::Time when, absl::string_view path) {
  std::string out;
  AppendDirty(sequence, when, path, &out);
  return out;
}
std::string Sequence(RecordType type, uint64_t sequence) {
  std::string out;
  AppendSequence(type, sequence, &out);
  return out;
}

TEST(JournalRecordsTest, ADirtyRecordIsFramedAsDocumented) {
  const absl::Time when = absl::FromUnixNanos(1'700'000'000'123'456'789);
  const std::string record = Dirty(42, when, "dir/file name");
  ASSERT_EQ(record.size(), kRecordOverhead + kDirtyFixedBytes + 13);
  EXPECT_EQ(LoadLe32(record.data()), kDirtyFixedBytes + 13);
  EXPECT_EQ(static_cast<uint8_t>(record[kLengthBytes]), kDirty);
  EXPECT_EQ(LoadLe64(record.data() + kLengthBytes + 1), 42u);
  EXPECT_EQ(static_cast<int64_t>(LoadLe64(record.data() + kLengthBytes + 9)),
            absl::ToUnixNanos(when));
  EXPECT_EQ(record.substr(kLengthBytes + kDirtyFixedBytes, 13), "dir/file name");
  EXPECT_TRUE(CheckRecord(record));
  // "" (everything) is a record with an empty path.
  const std::string everything = Dirty(7, when, "");
  EXPECT_EQ(everything.size(), kRecordOverhead + kDirtyFixedBytes);
  EXPECT_TRUE(CheckRecord(everything));
}

TEST(JournalRecordsTest, SequenceAndRawRecordsRoundTrip) {
  for (RecordType type : {kCommit, kBase}) {
    const std::string record = Sequence(type, 0x0102030405060708ull);
    ASSERT_EQ(record.size(), kRecordOverhead + 1 + 8);
    EXPECT_EQ(LoadLe32(record.data()), 9u);
    EXPECT_EQ(static_cast<uint8_t>(record[kLengthBytes]), type);
    EXPECT_EQ(LoadLe64(record.data() + kLengthBytes + 1), 0x0102030405060708ull);
    EXPECT_TRUE(CheckRecord(record));
  }
  // AppendRecord appends: records follow one another in one buffer.
  std::string two;
  AppendRecord(kCommit, "abc", &two);
  const size_t first = two.size();
  AppendRecord(kBase, std::string(1000, 'z'), &two);
  EXPECT_TRUE(CheckRecord(absl::string_view(two).substr(0, first)));
  EXPECT_TRUE(CheckRecord(absl::string_view(two).substr(first)));
  EXPECT_EQ(LoadLe32(two.data() + first), 1001u);
}

TEST(JournalRecordsTest, TheCheckCatchesEveryBitFlip) {
  const std::vector<std::string> records = {
      Dirty(1, absl::FromUnixSeconds(1), "a/b"), Dirty(2, absl::FromUnixSeconds(2), ""),
      Sequence(kCommit, 3), Sequence(kBase, 4),
      Dirty(5, absl::FromUnixSeconds(5), std::string(kMaxPathBytes, 'p'))};
  for (const std::string& record : records) {
    ASSERT_TRUE(CheckRecord(record));
    // Every bit of the shorter records; of the longest, the frame and a stride.
    for (size_t byte = 0; byte < record.size(); ++byte) {
      if (record.size() > 1000 && byte > 64 && byte + 64 < record.size() && byte % 97 != 0) {
        continue;
      }
      for (int bit = 0; bit < 8; ++bit) {
        std::string flipped = record;
        flipped[byte] ^= static_cast<char>(1 << bit);
        EXPECT_FALSE(CheckRecord(flipped)) << "byte " << byte << " bit " << bit;
      }
    }
  }
}

TEST(JournalRecordsTest, HasRecordAfterStartLooksPastTheFirstByteOnly) {
  const std::string record = Dirty(9, absl::FromUnixSeconds(9), "x");
  EXPECT_FALSE(HasRecordAfterStart("")) << "nothing";
  EXPECT_FALSE(HasRecordAfterStart(record)) << "a record at offset 0 is not after the start";
  EXPECT_TRUE(HasRecordAfterStart("g" + record));
  EXPECT_TRUE(HasRecordAfterStart(std::string(300, '\0') + record + "tail"));
  EXPECT_FALSE(HasRecordAfterStart(std::string(4096, '\0'))) << "zeros hold no record";
  // Cut by one byte, or damaged, it is no record.
  EXPECT_FALSE(HasRecordAfterStart("g" + record.substr(0, record.size() - 1)));
  std::string damaged = "g" + record;
  damaged[8] ^= 0x04;
  EXPECT_FALSE(HasRecordAfterStart(damaged));
  // A torn record followed by an intact one: found.
  EXPECT_TRUE(HasRecordAfterStart(record.substr(0, 10) + Sequence(kCommit, 1)));
}

class BlockReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTestDir("block_reader"); }
  void TearDown() override {
    if (!HasFailure()) RemoveTree(dir_);
  }

  std::string dir_;
};

TEST_F(BlockReaderTest, ReadsRecordsAcrossBlockBoundaries) {
  // About 2.6 MiB of records of varied length, after a magic: several
  // records straddle the 1 MiB read blocks.
  std::string file(kMagic, kMagicBytes);
  std::vector<std::string> paths;
  for (int i = 0; file.size() < (5u << 19); ++i) {
    paths.push_back(absl::StrCat("d/", std::string(static_cast<size_t>(i * 37 % 4000), 'n'), i));
    AppendDirty(static_cast<uint64_t>(i), absl::FromUnixSeconds(i), paths.back(), &file);
  }
  const std::string path = dir_ + "/journal";
  ASSERT_OK(WriteFile(path, file));
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, OpenFile(path, O_RDONLY));

  BlockReader reader(fd.get(), kMagicBytes, file.size(), path);
  size_t records = 0;
  while (reader.remaining() > 0) {
    SCOPED_TRACE(records);
    const uint64_t at = reader.offset();
    absl::string_view length;
    ASSERT_OK_AND_ASSIGN(bool have_length, reader.Peek(kLengthBytes, &length));
    ASSERT_TRUE(have_length);
    const uint32_t n = LoadLe32(length.data());
    absl::string_view record;
    ASSERT_OK_AND_ASSIGN(bool have_record, reader.Peek(kRecordOverhead + n, &record));
    ASSERT_TRUE(have_record);
    ASSERT_TRUE(CheckRecord(record));
    EXPECT_EQ(record, absl::string_view(file).substr(at, kRecordOverhead + n));
    EXPECT_EQ(record.substr(kLengthBytes + kDirtyFixedBytes, n - kDirtyFixedBytes), paths[records]);
    reader.Skip(record.size());
    EXPECT_EQ(reader.offset(), at + record.size());
    ++records;
  }
  EXPECT_EQ(records, paths.size());
  EXPECT_EQ(reader.offset(), file.size());
  absl::string_view none;
  ASSERT_OK_AND_ASSIGN(bool more, reader.Peek(1, &none));
  EXPECT_FALSE(more);
}

TEST_F(BlockReaderTest, PeekPastTheEndIsFalseAndAReadErrorNamesTheFile) {
  const std::string path = dir_ + "/short";
  ASSERT_OK(WriteFile(path, "0123456789"));
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, OpenFile(path, O_RDONLY));
  BlockReader reader(fd.get(), 4, 10, path);
  EXPECT_EQ(reader.remaining(), 6u);
  absl::string_view out;
  ASSERT_OK_AND_ASSIGN(bool fits, reader.Peek(7, &out));
  EXPECT_FALSE(fits);
  ASSERT_OK_AND_ASSIGN(fits, reader.Peek(6, &out));
  ASSERT_TRUE(fits);
  EXPECT_EQ(out, "456789");
  ASSERT_OK_AND_ASSIGN(fits, reader.Peek(2, &out));  // peeking again consumes nothing
  EXPECT_EQ(out, "45");
  reader.Skip(2);
  ASSERT_OK_AND_ASSIGN(fits, reader.Peek(4, &out));
  EXPECT_EQ(out, "6789");

  // The file is shorter than the reader was told: the read fails, naming it.
  const std::string told = dir_ + "/told-longer";
  ASSERT_OK(WriteFile(told, "abc"));
  ASSERT_OK_AND_ASSIGN(UniqueFd short_fd, OpenFile(told, O_RDONLY));
  BlockReader longer(short_fd.get(), 0, 100, told);
  absl::StatusOr<bool> failed = longer.Peek(50, &out);
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr(told));
}

}  // namespace
}  // namespace cairn::journal

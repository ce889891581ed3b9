#include "common/byte_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn {
namespace {

std::string Pattern(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + (i >> 8)) & 0xff);
  return out;
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    dir_ = NewTempDir(absl::StrCat(
        "byte_source_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    path_ = (dir_ / "data").string();
    FILE* f = std::fopen(path_.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(std::fwrite(contents.data(), 1, contents.size(), f), contents.size());
    std::fclose(f);
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd_, 0);
  }
  ~TempFile() {
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
  int fd_ = -1;
};

std::string ReadAll(ByteSource& source, size_t step) {
  std::string out;
  std::string buf(step, '\0');
  while (true) {
    absl::StatusOr<size_t> got = source.Read(buf.data(), buf.size());
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || *got == 0) break;
    out.append(buf.data(), *got);
  }
  return out;
}

TEST(StringSourceTest, ServesAllBytesThenZero) {
  const std::string data = Pattern(1000);
  StringSource source(data);
  EXPECT_EQ(ReadAll(source, 7), data);
  char c;
  EXPECT_EQ(*source.Read(&c, 1), 0u);
}

TEST(StringSourceTest, EmptyAndZeroLengthReads) {
  StringSource source("");
  char c;
  EXPECT_EQ(*source.Read(&c, 1), 0u);
  StringSource other("abc");
  EXPECT_EQ(*other.Read(&c, 0), 0u);
  EXPECT_EQ(ReadAll(other, 2), "abc");
}

TEST(FdRangeSourceTest, ReadsExactlyTheRange) {
  const std::string data = Pattern(100000);
  TempFile file(data);
  FdRangeSource source(file.fd(), 12345, 50000, file.path());
  EXPECT_EQ(source.remaining(), 50000u);
  EXPECT_EQ(ReadAll(source, 4096), data.substr(12345, 50000));
  EXPECT_EQ(source.remaining(), 0u);
}

TEST(FdRangeSourceTest, FullReadsAreNotShort) {
  const std::string data = Pattern(10000);
  TempFile file(data);
  FdRangeSource source(file.fd(), 0, data.size(), file.path());
  std::string buf(30000, '\0');
  EXPECT_EQ(*source.Read(buf.data(), 6000), 6000u);
  // Asking for more than is left returns what is left, then 0.
  EXPECT_EQ(*source.Read(buf.data(), buf.size()), 4000u);
  EXPECT_EQ(*source.Read(buf.data(), buf.size()), 0u);
}

TEST(FdRangeSourceTest, DoesNotMoveTheFilePosition) {
  const std::string data = Pattern(5000);
  TempFile file(data);
  FdRangeSource source(file.fd(), 100, 200, file.path());
  ReadAll(source, 64);
  EXPECT_EQ(::lseek(file.fd(), 0, SEEK_CUR), 0);
}

TEST(FdRangeSourceTest, EmptyRange) {
  TempFile file(Pattern(10));
  FdRangeSource source(file.fd(), 10, 0, file.path());
  char c;
  EXPECT_EQ(*source.Read(&c, 1), 0u);
}

TEST(FdRangeSourceTest, FileShorterThanRangeIsAborted) {
  TempFile file(Pattern(1000));
  FdRangeSource source(file.fd(), 500, 1000, file.path());
  std::string buf(2000, '\0');
  absl::StatusOr<size_t> got = source.Read(buf.data(), buf.size());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(got.status().message().find(file.path()), std::string::npos) << got.status();
}

TEST(FdRangeSourceTest, BadFdNamesThePath) {
  FdRangeSource source(-1, 0, 10, "/no/such/file");
  char buf[10];
  absl::StatusOr<size_t> got = source.Read(buf, sizeof(buf));
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("/no/such/file"), std::string::npos) << got.status();
}

}  // namespace
}  // namespace cairn

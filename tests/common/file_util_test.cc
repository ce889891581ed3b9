#include "common/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir(absl::StrCat(
        "file_util_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }
  std::string dir_;
};

TEST_F(FileUtilTest, WriteAtomicallyThenRead) {
  const std::string path = dir_ + "/f";
  ASSERT_TRUE(WriteFileAtomically(path, "hello", 0600).ok());
  EXPECT_EQ(*ReadFileToString(path, 100), "hello");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("x\0y", 3)).ok());
  EXPECT_EQ(*ReadFileToString(path, 100), std::string("x\0y", 3));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_THAT(ListDir(dir_), ElementsAre("f"));  // no temp file left behind
  ASSERT_TRUE(WriteFileAtomically(path, "", 0600).ok());
  EXPECT_EQ(*ReadFileToString(path, 0), "");
}

TEST_F(FileUtilTest, WriteAtomicallyIntoMissingDirFails) {
  absl::Status status = WriteFileAtomically(dir_ + "/missing/f", "x");
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
}

TEST_F(FileUtilTest, ReadRespectsLimit) {
  const std::string path = dir_ + "/big";
  ASSERT_TRUE(WriteFileAtomically(path, std::string(1000, 'b')).ok());
  EXPECT_TRUE(ReadFileToString(path, 1000).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(ReadFileToString(path, 999).status()));
  EXPECT_TRUE(absl::IsNotFound(ReadFileToString(dir_ + "/nope", 10).status()));
}

TEST_F(FileUtilTest, MakeDirectoriesNested) {
  const std::string deep = dir_ + "/a/b//c/";
  ASSERT_TRUE(MakeDirectories(deep).ok());
  ASSERT_TRUE(MakeDirectories(deep).ok());  // again: already there
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/file", "x").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(MakeDirectories(dir_ + "/file/sub")));
  EXPECT_TRUE(absl::IsInvalidArgument(MakeDirectories("")));
  EXPECT_TRUE(FsyncDirectory(dir_ + "/a/b").ok());
  EXPECT_TRUE(absl::IsNotFound(FsyncDirectory(dir_ + "/nope")));
}

TEST_F(FileUtilTest, WriteFullyAndPreadFully) {
  const std::string path = dir_ + "/data";
  absl::StatusOr<UniqueFd> fd = OpenFile(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(fd.ok()) << fd.status();
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(WriteFully(fd->get(), data, path).ok());
  std::string out;
  ASSERT_TRUE(PreadFully(fd->get(), 12345, 1000, &out, path).ok());
  EXPECT_EQ(out, data.substr(12345, 1000));
  ASSERT_TRUE(PreadFully(fd->get(), data.size(), 0, &out, path).ok());
  EXPECT_EQ(out, "");
  absl::Status past = PreadFully(fd->get(), data.size() - 10, 11, &out, path);
  EXPECT_TRUE(absl::IsOutOfRange(past)) << past;
  EXPECT_TRUE(absl::IsOutOfRange(PreadFully(fd->get(), data.size() + 5, 1, &out, path)));
}

TEST_F(FileUtilTest, UniqueFdOwnership) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  UniqueFd a(raw);
  EXPECT_TRUE(a.valid());
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is documented empty
  EXPECT_EQ(b.get(), raw);
  UniqueFd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  int released = c.release();
  EXPECT_EQ(released, raw);
  EXPECT_FALSE(c.valid());
  UniqueFd d(released);
  EXPECT_TRUE(d.Close("/dev/null").ok());
  EXPECT_FALSE(d.valid());
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed
}

TEST(DirNameTest, Cases) {
  EXPECT_EQ(DirName("a/b"), "a");
  EXPECT_EQ(DirName("b"), ".");
  EXPECT_EQ(DirName("/b"), "/");
  EXPECT_EQ(DirName("/x/y/z"), "/x/y");
}

TEST_F(FileUtilTest, ListRegularFilesSkipsDirectoriesAndSymlinks) {
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/a", "abc", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/b", "", 0600).ok());
  ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("a", (dir_ + "/link").c_str()), 0);
  absl::StatusOr<std::vector<DirFile>> files = ListRegularFiles(dir_);
  ASSERT_TRUE(files.ok()) << files.status();
  std::vector<std::string> seen;
  for (const DirFile& f : *files) seen.push_back(absl::StrCat(f.name, ":", f.size));
  std::sort(seen.begin(), seen.end());
  EXPECT_THAT(seen, ElementsAre("a:3", "b:0"));
  EXPECT_EQ(ListRegularFiles(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(ListRegularFiles(dir_ + "/a").ok()) << "a file is not a directory";
}

}  // namespace
}  // namespace cairn

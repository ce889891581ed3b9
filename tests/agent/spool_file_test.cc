// SpoolFile in real temp directories: records come back by index, in any
// order, byte for byte; a record that is not there is OutOfRange; the file
// never has a name, so nothing is left in the directory, during or after.
#include "agent/spool_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::IsEmpty;

class SpoolFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTestDir("spool"); }
  void TearDown() override {
    if (!HasFailure()) RemoveTree(dir_);
  }
  std::string dir_;
};

TEST_F(SpoolFileTest, RecordsComeBackByIndexInAnyOrder) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SpoolFile> spool, SpoolFile::Create(dir_));
  EXPECT_EQ(spool->size(), 0u);
  std::vector<std::string> records = {"first", "", std::string("\0\xff\n binary", 10),
                                      RandomBytes(1 << 20, 7), "last"};
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(size_t index, spool->Append(records[i]));
    EXPECT_EQ(index, i);
  }
  EXPECT_EQ(spool->size(), records.size());
  for (size_t i = records.size(); i-- > 0;) {
    ASSERT_OK_AND_ASSIGN(std::string back, spool->Read(i));
    EXPECT_EQ(back, records[i]) << "record " << i;
  }
  // Reading does not disturb appending.
  ASSERT_OK_AND_ASSIGN(size_t more, spool->Append("more"));
  EXPECT_EQ(more, records.size());
  ASSERT_OK_AND_ASSIGN(std::string back, spool->Read(more));
  EXPECT_EQ(back, "more");
  ASSERT_OK_AND_ASSIGN(back, spool->Read(3));
  EXPECT_EQ(back, records[3]);
}

TEST_F(SpoolFileTest, ARecordThatIsNotThereIsOutOfRange) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SpoolFile> spool, SpoolFile::Create(dir_));
  EXPECT_EQ(spool->Read(0).status().code(), absl::StatusCode::kOutOfRange);
  ASSERT_OK(spool->Append("one").status());
  EXPECT_EQ(spool->Read(1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(spool->Read(static_cast<size_t>(-1)).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(SpoolFileTest, TheFileNeverHasAName) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SpoolFile> spool, SpoolFile::Create(dir_));
    for (int i = 0; i < 100; ++i) ASSERT_OK(spool->Append(RandomBytes(1000, i)).status());
    EXPECT_THAT(ListDir(dir_), IsEmpty());
  }
  EXPECT_THAT(ListDir(dir_), IsEmpty());
}

TEST_F(SpoolFileTest, CreateMakesAMissingDirectoryPrivate) {
  const std::string nested = dir_ + "/a/b/spool";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SpoolFile> spool, SpoolFile::Create(nested));
  struct stat st;
  ASSERT_EQ(stat(nested.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_OK(spool->Append("x").status());
  EXPECT_THAT(ListDir(nested), IsEmpty());
}

TEST_F(SpoolFileTest, CreateAtUsesAnOpenDirectory) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  UniqueFd dir_fd(fd);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SpoolFile> spool,
                       SpoolFile::CreateAt(dir_fd.get(), "<restore target>"));
  dir_fd.reset();  // the spool keeps its own descriptor
  ASSERT_OK_AND_ASSIGN(size_t i, spool->Append("kept"));
  ASSERT_OK_AND_ASSIGN(std::string back, spool->Read(i));
  EXPECT_EQ(back, "kept");
  EXPECT_THAT(ListDir(dir_), IsEmpty());
}

TEST_F(SpoolFileTest, CreateFailsWhereNoDirectoryCanBe) {
  ASSERT_OK(WriteFile(dir_ + "/file", "not a directory"));
  absl::StatusOr<std::unique_ptr<SpoolFile>> spool = SpoolFile::Create(dir_ + "/file");
  EXPECT_FALSE(spool.ok());
  spool = SpoolFile::Create(dir_ + "/file/below");
  EXPECT_FALSE(spool.ok());
  EXPECT_FALSE(SpoolFile::CreateAt(-1, "bad fd").ok());
}

TEST_F(SpoolFileTest, TwoSpoolsInOneDirectoryAreIndependent) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SpoolFile> a, SpoolFile::Create(dir_));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SpoolFile> b, SpoolFile::Create(dir_));
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(a->Append(absl::StrCat("a", i)).status());
    ASSERT_OK(b->Append(absl::StrCat("b", i * i)).status());
  }
  ASSERT_OK_AND_ASSIGN(std::string a7, a->Read(7));
  ASSERT_OK_AND_ASSIGN(std::string b7, b->Read(7));
  EXPECT_EQ(a7, "a7");
  EXPECT_EQ(b7, "b49");
}

}  // namespace
}  // namespace cairn

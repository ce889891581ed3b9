// FileWindow in a real temp directory, fed chunks as the fetcher would feed
// them: a file is created with O_EXCL at its name when it joins the window;
// complete files get their mode and times; a chunk shared by several places
// is written to all of them; a file missing a chunk (or given a bad one) at
// Close is removed and reported; an existing file (or a planted symlink)
// without overwrite is refused and left untouched, and with overwrite is
// replaced through a temp file only once complete.
#include "agent/restore_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMtimeNs = 1'650'000'000'250'000'000;

std::string Id(int n) { return absl::StrCat("chunk-", n, std::string(32, '.')).substr(0, 32); }

// A file entry whose chunks are `sizes` long, back to back from offset 0.
v1::TreeEntry File(const std::string& name, const std::vector<std::pair<int, uint32_t>>& chunks,
                   uint32_t mode = 0640) {
  v1::TreeEntry e;
  e.set_name(name);
  e.set_type(v1::ENTRY_TYPE_FILE);
  e.set_mode(mode);
  e.set_uid(getuid());
  e.set_gid(getgid());
  e.set_mtime_ns(kMtimeNs);
  uint64_t offset = 0;
  for (const auto& [n, size] : chunks) {
    v1::ChunkRef* c = e.add_chunks();
    c->set_id(Id(n));
    c->set_offset(offset);
    c->set_size(size);
    offset += size;
  }
  e.set_size(offset);
  return e;
}

// The plaintext of chunk `n`, `size` bytes.
std::string Plain(int n, uint32_t size) { return RandomBytes(size, 1000 + n); }

class RestoreFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = MakeTestDir("restore_files");
    dir_ = base_ + "/target";
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
    int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    dir_fd_ = std::make_shared<const UniqueFd>(fd);
  }
  void TearDown() override {
    if (!HasFailure()) RemoveTree(base_);
  }

  std::unique_ptr<FileWindow> Window(bool overwrite = false) {
    FileWindow::Settings settings;
    settings.overwrite = overwrite;
    return std::make_unique<FileWindow>(settings, &log_);
  }
  absl::Status Add(FileWindow& window, const v1::TreeEntry& entry) {
    return window.Add(dir_fd_, entry.name(), "sub/" + entry.name(), entry);
  }
  std::string At(const std::string& name) const { return dir_ + "/" + name; }
  struct stat Stat(const std::string& name) const {
    struct stat st = {};
    EXPECT_EQ(lstat(At(name).c_str(), &st), 0) << name;
    return st;
  }
  bool Exists(const std::string& name) const {
    struct stat st;
    return lstat(At(name).c_str(), &st) == 0;
  }
  std::string Errors() { return DescribeErrors(log_.TakeErrors()); }

  std::string base_;
  std::string dir_;  // the directory files are restored into, inside base_
  std::shared_ptr<const UniqueFd> dir_fd_;
  RestoreLog log_;
};

TEST_F(RestoreFilesTest, AFileIsCreatedAtItsNameAndCompletedWithItsMetadata) {
  std::unique_ptr<FileWindow> window = Window();
  ASSERT_OK(Add(*window, File("f", {{1, 1000}, {2, 500}})));
  // Created at once, at its own name, before any data arrives.
  EXPECT_THAT(ListDir(dir_), ElementsAre("f"));
  EXPECT_THAT(window->ChunkIds(), ElementsAre(Id(1), Id(2)));
  window->Deliver(Id(2), absl::OkStatus(), Plain(2, 500));
  window->Deliver(Id(1), absl::OkStatus(), Plain(1, 1000));
  window->Close(absl::OkStatus());
  EXPECT_EQ(log_.failures(), 0u) << Errors();
  EXPECT_EQ(log_.files.load(), 1u);
  EXPECT_EQ(log_.bytes.load(), 1500u);
  ASSERT_OK_AND_ASSIGN(std::string content, ReadFile(At("f")));
  EXPECT_EQ(content, Plain(1, 1000) + Plain(2, 500));
  struct stat st = Stat("f");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, kMtimeNs / 1'000'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, kMtimeNs % 1'000'000'000);
  EXPECT_THAT(ListDir(dir_), ElementsAre("f"));  // no temp file anywhere
}

TEST_F(RestoreFilesTest, ModesTheUmaskWouldStripAreSetAtTheEnd) {
  // The window reads the umask once; files are created under the same one.
  struct UmaskGuard {
    mode_t old = umask(022);
    ~UmaskGuard() { umask(old); }
  } umask_022;
  std::unique_ptr<FileWindow> window = Window();
  ASSERT_OK(Add(*window, File("open", {{1, 10}}, 0666)));
  ASSERT_OK(Add(*window, File("empty", {}, 0604)));  // no data: done at once
  EXPECT_EQ(Stat("empty").st_mode & 07777, 0604u);
  EXPECT_EQ(Stat("empty").st_mtim.tv_sec, kMtimeNs / 1'000'000'000);
  window->Deliver(Id(1), absl::OkStatus(), Plain(1, 10));
  window->Close(absl::OkStatus());
  EXPECT_EQ(log_.failures(), 0u) << Errors();
  EXPECT_EQ(Stat("open").st_mode & 07777, 0666u);
  EXPECT_EQ(log_.files.load(), 2u);
}

TEST_F(RestoreFilesTest, HolesAndSharedChunksAreWrittenEverywhere) {
  // One file with chunk 1 twice and a hole between, and another with chunk 1 too.
  v1::TreeEntry holes = File("holes", {{1, 100}, {1, 100}});
  holes.mutable_chunks(1)->set_offset(5000);
  holes.set_size(10000);
  std::unique_ptr<FileWindow> window = Window();
  ASSERT_OK(Add(*window, holes));
  ASSERT_OK(Add(*window, File("copy", {{3, 7}, {1, 100}})));
  EXPECT_THAT(window->ChunkIds(), ElementsAre(Id(1), Id(3)));  // distinct, first use first
  window->Deliver(Id(1), absl::OkStatus(), Plain(1, 100));
  window->Deliver(Id(3), absl::OkStatus(), Plain(3, 7));
  window->Close(absl::OkStatus());
  EXPECT_EQ(log_.failures(), 0u) << Errors();
  ASSERT_OK_AND_ASSIGN(std::string content, ReadFile(At("holes")));
  std::string want(10000, '\0');
  want.replace(0, 100, Plain(1, 100));
  want.replace(5000, 100, Plain(1, 100));
  EXPECT_EQ(content, want);
  ASSERT_OK_AND_ASSIGN(content, ReadFile(At("copy")));
  EXPECT_EQ(content, Plain(3, 7) + Plain(1, 100));
}

TEST_F(RestoreFilesTest, AFileMissingAChunkAtCloseIsRemovedAndReported) {
  std::unique_ptr<FileWindow> window = Window();
  ASSERT_OK(Add(*window, File("partial", {{1, 10}, {2, 10}})));
  ASSERT_OK(Add(*window, File("whole", {{1, 10}})));
  window->Deliver(Id(1), absl::OkStatus(), Plain(1, 10));
  window->Close(absl::OkStatus());
  EXPECT_THAT(ListDir(dir_), ElementsAre("whole"));
  std::vector<v1::FileError> errors = log_.TakeErrors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path(), "sub/partial");
  EXPECT_THAT(errors[0].error(), HasSubstr("did not send all its chunks"));
  EXPECT_TRUE(window->empty());
}

TEST_F(RestoreFilesTest, ABadChunkFailsOnlyTheFilesThatNeedIt) {
  std::unique_ptr<FileWindow> window = Window();
  ASSERT_OK(Add(*window, File("a", {{1, 10}, {2, 10}})));
  ASSERT_OK(Add(*window, File("b", {{3, 10}})));
  ASSERT_OK(Add(*window, File("c", {{4, 10}})));
  window->Deliver(Id(1), absl::DataLossError("chunk 1 failed authentication"), "");
  window->Deliver(Id(2), absl::OkStatus(), Plain(2, 10));
  window->Deliver(Id(3), absl::OkStatus(), Plain(3, 9));  // one byte short
  window->Deliver(Id(4), absl::OkStatus(), Plain(4, 10));
  window->Deliver(Id(99), absl::OkStatus(), "not asked for: ignored");
  window->Close(absl::OkStatus());
  EXPECT_THAT(ListDir(dir_), ElementsAre("c"));
  std::vector<v1::FileError> errors = log_.TakeErrors();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path(), "sub/a");
  EXPECT_THAT(errors[0].error(), HasSubstr("failed authentication"));
  EXPECT_EQ(errors[1].path(), "sub/b");
  EXPECT_THAT(errors[1].error(), HasSubstr("has 9 bytes, the file expects 10"));
}

// Small files stored in one bundle (agent/file_bundles.h): each takes its
// slice of the bundle's bytes; a bundle of another length, or a slice a
// hostile tree puts past the bundle's end, fails only the files naming it.
TEST_F(RestoreFilesTest, BundledFilesTakeTheirSliceOfTheBundle) {
  const std::string bundle = Plain(7, 300);
  auto slice = [](const std::string& name, int n, uint32_t offset, uint32_t size,
                  uint32_t bundle_size) {
    v1::TreeEntry e = File(name, {{n, size}});
    e.mutable_chunks(0)->set_bundle_offset(offset);
    e.mutable_chunks(0)->set_bundle_size(bundle_size);
    return e;
  };
  std::unique_ptr<FileWindow> window = Window();
  ASSERT_OK(Add(*window, slice("a", 7, 0, 100, 300)));
  ASSERT_OK(Add(*window, slice("b", 7, 100, 150, 300)));
  ASSERT_OK(Add(*window, slice("c", 7, 250, 50, 300)));
  ASSERT_OK(Add(*window, slice("past-the-end", 7, 290, 50, 300)));
  ASSERT_OK(Add(*window, slice("wraps", 7, UINT32_MAX, 2, 300)));
  ASSERT_OK(Add(*window, slice("other-length", 8, 0, 10, 400)));
  EXPECT_THAT(window->ChunkIds(), ElementsAre(Id(7), Id(8)));  // one fetch per bundle
  window->Deliver(Id(7), absl::OkStatus(), bundle);
  window->Deliver(Id(8), absl::OkStatus(), Plain(8, 399));
  window->Close(absl::OkStatus());
  EXPECT_THAT(ListDir(dir_), ElementsAre("a", "b", "c"));
  for (const auto& [name, offset, size] : std::vector<std::tuple<std::string, size_t, size_t>>{
           {"a", 0, 100}, {"b", 100, 150}, {"c", 250, 50}}) {
    ASSERT_OK_AND_ASSIGN(std::string content, ReadFile(At(name)));
    EXPECT_EQ(content, bundle.substr(offset, size)) << name;
  }
  std::vector<v1::FileError> errors = log_.TakeErrors();
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path(), "sub/past-the-end");
  EXPECT_THAT(errors[0].error(), HasSubstr("in a bundle of 300"));
  EXPECT_EQ(errors[1].path(), "sub/wraps");
  EXPECT_EQ(errors[2].path(), "sub/other-length");
  EXPECT_THAT(errors[2].error(), HasSubstr("has 399 bytes"));
}

TEST_F(RestoreFilesTest, AnExistingFileWithoutOverwriteIsRefusedAndUntouched) {
  ASSERT_OK(WriteFile(At("f"), "the user's own file", 0600));
  ASSERT_OK(SetMtime(At("f"), 1'400'000'000));
  ASSERT_EQ(symlink("../outside", At("link").c_str()), 0);
  std::unique_ptr<FileWindow> window = Window(/*overwrite=*/false);
  for (const char* name : {"f", "link"}) {
    absl::Status added = Add(*window, File(name, {{1, 10}}));
    EXPECT_EQ(added.code(), absl::StatusCode::kAlreadyExists) << added;
    EXPECT_THAT(added.message(), HasSubstr("restore with overwrite"));
  }
  EXPECT_TRUE(window->empty());
  EXPECT_THAT(window->ChunkIds(), IsEmpty());
  window->Close(absl::OkStatus());
  ASSERT_OK_AND_ASSIGN(std::string content, ReadFile(At("f")));
  EXPECT_EQ(content, "the user's own file");
  EXPECT_EQ(Stat("f").st_mtim.tv_sec, 1'400'000'000);
  EXPECT_TRUE(S_ISLNK(Stat("link").st_mode));
  EXPECT_FALSE(Exists("../outside"));  // base_/outside was never created
  EXPECT_THAT(ListDir(dir_), ElementsAre("f", "link"));
}

TEST_F(RestoreFilesTest, WithOverwriteTheFileIsReplacedOnlyOnceComplete) {
  ASSERT_OK(WriteFile(At("f"), "old content", 0600));
  ASSERT_OK(WriteFile(base_ + "/victim", "victim"));
  ASSERT_EQ(symlink("../victim", At("link").c_str()), 0);
  std::unique_ptr<FileWindow> window = Window(/*overwrite=*/true);
  ASSERT_OK(Add(*window, File("f", {{1, 10}, {2, 10}}, 0644)));
  ASSERT_OK(Add(*window, File("link", {{2, 10}})));
  window->Deliver(Id(1), absl::OkStatus(), Plain(1, 10));
  // Half written: the old file is still whole, the new one lives in a temp file.
  ASSERT_OK_AND_ASSIGN(std::string content, ReadFile(At("f")));
  EXPECT_EQ(content, "old content");
  std::vector<std::string> names = ListDir(dir_);
  ASSERT_EQ(names.size(), 4u);
  EXPECT_THAT(names[0], HasSubstr(".cairn-restore-"));
  EXPECT_THAT(names[1], HasSubstr(".cairn-restore-"));
  window->Deliver(Id(2), absl::OkStatus(), Plain(2, 10));
  window->Close(absl::OkStatus());
  EXPECT_EQ(log_.failures(), 0u) << Errors();
  EXPECT_THAT(ListDir(dir_), ElementsAre("f", "link"));
  ASSERT_OK_AND_ASSIGN(content, ReadFile(At("f")));
  EXPECT_EQ(content, Plain(1, 10) + Plain(2, 10));
  EXPECT_EQ(Stat("f").st_mode & 07777, 0644u);
  EXPECT_TRUE(S_ISREG(Stat("link").st_mode));  // the link itself was replaced
  ASSERT_OK_AND_ASSIGN(std::string victim, ReadFile(base_ + "/victim"));
  EXPECT_EQ(victim, "victim");
}

TEST_F(RestoreFilesTest, AnIncompleteOverwriteKeepsTheOldFile) {
  ASSERT_OK(WriteFile(At("f"), "old content", 0600));
  {
    std::unique_ptr<FileWindow> window = Window(/*overwrite=*/true);
    ASSERT_OK(Add(*window, File("f", {{1, 10}, {2, 10}})));
    window->Deliver(Id(1), absl::OkStatus(), Plain(1, 10));
  }  // destroyed without Close: cancelled
  ASSERT_OK_AND_ASSIGN(std::string content, ReadFile(At("f")));
  EXPECT_EQ(content, "old content");
  EXPECT_THAT(ListDir(dir_), ElementsAre("f"));
  std::vector<v1::FileError> errors = log_.TakeErrors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].error(), HasSubstr("the restore ended"));
}

TEST_F(RestoreFilesTest, TheWindowIsBoundedByFilesAndReferences) {
  FileWindow::Settings settings;
  settings.max_files = 2;
  settings.max_refs = 3;
  FileWindow by_files(settings, &log_);
  ASSERT_OK(by_files.Add(dir_fd_, "a", "a", File("a", {{1, 1}})));
  EXPECT_FALSE(by_files.full());
  ASSERT_OK(by_files.Add(dir_fd_, "b", "b", File("b", {{1, 1}})));
  EXPECT_TRUE(by_files.full());
  by_files.Deliver(Id(1), absl::OkStatus(), Plain(1, 1));
  by_files.Close(absl::OkStatus());
  EXPECT_TRUE(by_files.empty());
  EXPECT_FALSE(by_files.full());
  FileWindow by_refs(settings, &log_);
  ASSERT_OK(by_refs.Add(dir_fd_, "c", "c", File("c", {{1, 1}, {2, 1}, {3, 1}})));
  EXPECT_TRUE(by_refs.full());
  by_refs.Close(absl::CancelledError("stop"));
  EXPECT_FALSE(Exists("c"));
  EXPECT_EQ(log_.failures(), 1u);
}

// Regression: a file that could be created but not sized (ftruncate
// failed) was left behind, with its temp file when overwriting.
TEST_F(RestoreFilesTest, AFileThatCannotBeSizedLeavesNothingBehind) {
  v1::TreeEntry huge = File("huge", {{1, 10}});
  huge.set_size(UINT64_MAX);  // negative as an off_t: ftruncate fails (EINVAL)
  std::unique_ptr<FileWindow> window = Window();
  EXPECT_FALSE(Add(*window, huge).ok());
  ASSERT_OK(WriteFile(At("mine"), "the user's"));
  std::unique_ptr<FileWindow> overwriting = Window(/*overwrite=*/true);
  v1::TreeEntry over = huge;
  over.set_name("mine");
  EXPECT_FALSE(Add(*overwriting, over).ok());
  window->Close(absl::OkStatus());
  overwriting->Close(absl::OkStatus());
  EXPECT_THAT(ListDir(dir_), ElementsAre("mine"));
}

}  // namespace
}  // namespace cairn

// WindowPipeline against a real in-process server: files of a real backup,
// added window by window (tiny windows, so there are many), are each written
// once with their content; each window fetches each distinct chunk it needs
// once; Drain writes what is still filling and leaves the pipeline usable;
// a window whose fetch fails fails its own files and no other window's.
#include "agent/window_pipeline.h"

#include <fcntl.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::IsEmpty;

constexpr int kFiles = 23;
constexpr size_t kWindowFiles = 4;

class WindowPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("window_pipeline"));
    src_ = env_->base() + "/src";
    target_ = env_->base() + "/target";
    CAIRN_ASSERT_OK(MakeDirectories(src_));
    CAIRN_ASSERT_OK(MakeDirectories(target_));
    // Every third file has the content of the one before it (shared chunks),
    // every seventh is empty.
    for (int i = 0; i < kFiles; ++i) {
      std::string data;
      if (i % 7 == 3) {
        data = "";
      } else if (i % 3 == 2) {
        data = contents_[Name(i - 1)];
      } else {
        data = RandomBytes(1000 + 517 * static_cast<size_t>(i), 40 + i);
      }
      contents_[Name(i)] = data;
      CAIRN_ASSERT_OK(WriteFile(JoinName(src_, i), data));
    }
    CAIRN_ASSERT_OK_AND_ASSIGN(BackupResult backup, env_->Backup(src_, v1::BACKUP_LEVEL_FULL));
    ASSERT_TRUE(backup.errors.empty()) << DescribeErrors(backup.errors);
    snapshot_ = backup.snapshot.id();
    CAIRN_ASSERT_OK_AND_ASSIGN(entries_, env_->ReadDirectory(backup.snapshot.root_tree_id()));
    ASSERT_EQ(entries_.size(), static_cast<size_t>(kFiles));
    CAIRN_ASSERT_OK_AND_ASSIGN(UniqueFd dir, OpenFile(target_, O_RDONLY | O_DIRECTORY));
    dir_ = std::make_shared<const UniqueFd>(std::move(dir));
  }
  void TearDown() override {
    dir_.reset();
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  static std::string Name(int i) { return absl::StrCat("file-", 100 + i); }
  static std::string JoinName(const std::string& dir, int i) { return dir + "/" + Name(i); }

  std::unique_ptr<WindowPipeline> NewPipeline(RestoreLog* log) {
    FileWindow::Settings settings;
    settings.max_files = kWindowFiles;
    return std::make_unique<WindowPipeline>(settings, log, env_->connection(),
                                            env_->agent().crypto.get(), snapshot_, 2);
  }
  // Adds `entries` to the pipeline, submitting every full window; returns
  // how many windows were submitted.
  int AddAll(WindowPipeline& pipeline, const std::vector<v1::TreeEntry>& entries) {
    int submitted = 0;
    for (const v1::TreeEntry& e : entries) {
      EXPECT_OK(pipeline.filling().Add(dir_, e.name(), e.name(), e));
      if (pipeline.filling().full()) {
        pipeline.Submit();
        ++submitted;
      }
    }
    return submitted;
  }
  // Distinct chunk ids per window of `entries`, summed: what the fetcher
  // must get.
  static uint64_t DistinctPerWindow(const std::vector<v1::TreeEntry>& entries) {
    uint64_t total = 0;
    for (size_t start = 0; start < entries.size(); start += kWindowFiles) {
      std::set<std::string> ids;
      for (size_t i = start; i < std::min(entries.size(), start + kWindowFiles); ++i) {
        for (const v1::ChunkRef& c : entries[i].chunks()) ids.insert(c.id());
      }
      total += ids.size();
    }
    return total;
  }
  void ExpectRestored(const std::vector<v1::TreeEntry>& entries) {
    for (const v1::TreeEntry& e : entries) {
      absl::StatusOr<std::string> got = ReadFile(target_ + "/" + e.name());
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_TRUE(*got == contents_[e.name()]) << e.name();
    }
  }

  std::unique_ptr<AgentTestEnv> env_;
  std::string src_, target_, snapshot_;
  std::map<std::string, std::string> contents_;
  std::vector<v1::TreeEntry> entries_;
  std::shared_ptr<const UniqueFd> dir_;
};

TEST_F(WindowPipelineTest, ManyWindowsWriteEveryFileOnceWithItsContent) {
  RestoreLog log;
  std::unique_ptr<WindowPipeline> pipeline = NewPipeline(&log);
  EXPECT_EQ(AddAll(*pipeline, entries_), kFiles / static_cast<int>(kWindowFiles));
  pipeline->Drain();
  EXPECT_EQ(log.failures(), 0u) << DescribeErrors(log.TakeErrors());
  EXPECT_EQ(log.files.load(), static_cast<uint64_t>(kFiles));
  uint64_t bytes = 0;
  for (const auto& [name, data] : contents_) bytes += data.size();
  EXPECT_EQ(log.bytes.load(), bytes) << "every byte written once";
  EXPECT_EQ(pipeline->stats().chunks, DistinctPerWindow(entries_))
      << "each distinct chunk once per window";
  EXPECT_EQ(ListDir(target_).size(), static_cast<size_t>(kFiles));
  ExpectRestored(entries_);
}

TEST_F(WindowPipelineTest, DrainWritesWhatIsFillingAndThePipelineGoesOn) {
  RestoreLog log;
  std::unique_ptr<WindowPipeline> pipeline = NewPipeline(&log);
  pipeline->Drain();  // nothing yet: returns at once
  EXPECT_EQ(pipeline->stats().calls, 0u);
  const std::vector<v1::TreeEntry> first(entries_.begin(), entries_.begin() + 2);
  const std::vector<v1::TreeEntry> rest(entries_.begin() + 2, entries_.end());
  EXPECT_EQ(AddAll(*pipeline, first), 0) << "no window filled";
  pipeline->Drain();
  EXPECT_TRUE(pipeline->filling().empty());
  EXPECT_EQ(log.files.load(), first.size());
  ExpectRestored(first);
  AddAll(*pipeline, rest);
  pipeline->Drain();
  EXPECT_EQ(log.failures(), 0u) << DescribeErrors(log.TakeErrors());
  EXPECT_EQ(log.files.load(), static_cast<uint64_t>(kFiles));
  ExpectRestored(entries_);
}

TEST_F(WindowPipelineTest, DestroyingThePipelineDrainsIt) {
  RestoreLog log;
  {
    std::unique_ptr<WindowPipeline> pipeline = NewPipeline(&log);
    AddAll(*pipeline, entries_);
  }
  EXPECT_EQ(log.failures(), 0u) << DescribeErrors(log.TakeErrors());
  EXPECT_EQ(log.files.load(), static_cast<uint64_t>(kFiles));
  ExpectRestored(entries_);
}

TEST_F(WindowPipelineTest, AWindowWhoseFetchFailsFailsOnlyItsOwnFiles) {
  // The second window holds a file naming a chunk the tenant does not have:
  // the server refuses that window's read; the windows around it restore.
  std::vector<v1::TreeEntry> entries = entries_;
  v1::TreeEntry ghost = entries_[0];
  ghost.set_name("ghost");
  ghost.mutable_chunks(0)->set_id(std::string(32, '\x33'));
  ASSERT_GT(ghost.chunks_size(), 0);
  entries.insert(entries.begin() + kWindowFiles, ghost);
  std::set<std::string> second_window;
  for (size_t i = kWindowFiles; i < 2 * kWindowFiles; ++i) second_window.insert(entries[i].name());

  RestoreLog log;
  std::unique_ptr<WindowPipeline> pipeline = NewPipeline(&log);
  AddAll(*pipeline, entries);
  pipeline->Drain();
  std::vector<v1::FileError> errors = log.TakeErrors();
  std::set<std::string> failed;
  for (const v1::FileError& e : errors) failed.insert(e.path());
  // Files without data are done when added; the rest of the window fails.
  std::set<std::string> want_failed;
  for (const std::string& name : second_window) {
    if (!contents_.count(name) || !contents_[name].empty()) want_failed.insert(name);
  }
  EXPECT_EQ(failed, want_failed) << DescribeErrors(errors);
  for (const v1::TreeEntry& e : entries) {
    if (want_failed.count(e.name())) {
      EXPECT_FALSE(ReadFile(target_ + "/" + e.name()).ok()) << e.name() << " was left behind";
    } else {
      absl::StatusOr<std::string> got = ReadFile(target_ + "/" + e.name());
      ASSERT_TRUE(got.ok()) << e.name() << ": " << got.status();
      EXPECT_TRUE(*got == contents_[e.name()]) << e.name();
    }
  }
}

}  // namespace
}  // namespace cairn

// ReadFileChunks against a real in-process server and real files: chunk
// boundaries are the chunker's over the whole file, each chunk hashed and
// handed to the uploader (the server has them after Finish); sparse files are
// read by their data extents only; a file changed while it is read is read
// again, and one that keeps changing is reported. The change happens at a
// point the test controls: the server's clock is called inside the
// FindMissingChunks call the uploader makes in the middle of the read.
#include "agent/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/byte_source.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Small chunks, so a few hundred KiB make hundreds of them (the uploader
// asks the server about every 256).
const ChunkerParams kSmall{256, 1024, 4096};

// Runs `action` inside the server's clock while armed (`times` calls). The
// action is set before arming and owns what it touches: a server thread may
// still be in it when the test moves on.
struct ClockHook {
  std::atomic<int> times{0};
  std::function<void()> action;
};

class FileReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hook_ = std::make_shared<ClockHook>();
    CoreOptions options;
    options.clock = [hook = hook_] {
      int left = hook->times.load();
      while (left > 0 && !hook->times.compare_exchange_weak(left, left - 1)) {
      }
      if (left > 0) hook->action();
      return absl::Now();
    };
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("file_reader", std::move(options)));
    dir_ = env_->base() + "/files";
    CAIRN_ASSERT_OK(MakeDirectories(dir_));
    v1::BeginBackupRequest begin;
    begin.set_agent(AgentTestEnv::kAgentName);
    begin.add_roots(dir_);
    begin.set_level(v1::BACKUP_LEVEL_FULL);
    CAIRN_ASSERT_OK_AND_ASSIGN(
        v1::BeginBackupResponse job,
        env_->connection()->Call(&v1::AgentService::Stub::BeginBackup, begin));
    job_ = job.job_id();
    uploader_ = std::make_unique<ChunkUploader>(env_->connection(), &crypto(), job_, 2, 64 << 20);
  }
  void TearDown() override {
    uploader_.reset();
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  const AgentCrypto& crypto() const { return *env_->agent().crypto; }

  absl::StatusOr<FileContent> Read(const std::string& path, Chunker* chunker) {
    absl::StatusOr<UniqueFd> fd = OpenFile(path, O_RDONLY);
    if (!fd.ok()) return fd.status();
    return ReadFileChunks(fd->get(), path, crypto(), chunker, uploader_.get());
  }
  // The chunks a fresh chunker with `params` cuts `data` into, as refs.
  std::vector<v1::ChunkRef> Expected(const std::string& data, const ChunkerParams& params,
                                     uint64_t base = 0) {
    StringSource source(data);
    Chunker chunker(params, &source);
    std::vector<v1::ChunkRef> refs;
    Chunk chunk;
    while (true) {
      absl::StatusOr<bool> more = chunker.Next(&chunk);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      v1::ChunkRef& ref = refs.emplace_back();
      ref.set_id(std::string(ChunkIdBytes(crypto().hasher.Hash(chunk.data))));
      ref.set_offset(base + chunk.offset);
      ref.set_size(static_cast<uint32_t>(chunk.data.size()));
    }
    return refs;
  }
  static std::string Describe(const std::vector<v1::ChunkRef>& refs) {
    std::string out;
    for (const v1::ChunkRef& r : refs) absl::StrAppend(&out, r.offset(), "+", r.size(), " ");
    return out;
  }
  static bool Same(const std::vector<v1::ChunkRef>& a, const std::vector<v1::ChunkRef>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
    }
    return true;
  }
  // The indexes of `refs` the server does not have.
  std::vector<uint32_t> Missing(const std::vector<v1::ChunkRef>& refs) {
    v1::FindMissingChunksRequest request;
    request.set_job_id(job_);
    for (const v1::ChunkRef& r : refs) request.add_ids(r.id());
    absl::StatusOr<v1::FindMissingChunksResponse> response =
        env_->connection()->Call(&v1::AgentService::Stub::FindMissingChunks, request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    return std::vector<uint32_t>(response->missing().begin(), response->missing().end());
  }

  std::shared_ptr<ClockHook> hook_;
  std::unique_ptr<AgentTestEnv> env_;
  std::string dir_;
  std::string job_;
  std::unique_ptr<ChunkUploader> uploader_;
};

TEST_F(FileReaderTest, ChunksAreTheChunkersAndReachTheServer) {
  const std::string data = RandomBytes(12u << 20, 1);  // more than the largest chunk
  const std::string path = dir_ + "/whole";
  CAIRN_ASSERT_OK(WriteFile(path, data));
  Chunker chunker(ChunkerParams::Default(), nullptr);
  CAIRN_ASSERT_OK_AND_ASSIGN(FileContent content, Read(path, &chunker));
  const std::vector<v1::ChunkRef> want = Expected(data, ChunkerParams::Default());
  EXPECT_GT(want.size(), 1u);
  EXPECT_TRUE(Same(content.chunks, want))
      << Describe(content.chunks) << "\nwant " << Describe(want);
  EXPECT_EQ(content.bytes_read, data.size());
  EXPECT_EQ(content.reads, 1);
  EXPECT_EQ(content.st.st_size, static_cast<off_t>(data.size()));

  // The same chunker, reused for a second file, cuts it as a fresh one would.
  const std::string other = RandomBytes(700000, 2);
  CAIRN_ASSERT_OK(WriteFile(dir_ + "/other", other));
  CAIRN_ASSERT_OK_AND_ASSIGN(FileContent second, Read(dir_ + "/other", &chunker));
  EXPECT_TRUE(Same(second.chunks, Expected(other, ChunkerParams::Default())));

  CAIRN_ASSERT_OK(uploader_->Finish().status());
  EXPECT_THAT(Missing(content.chunks), IsEmpty());
  EXPECT_THAT(Missing(second.chunks), IsEmpty());
}

TEST_F(FileReaderTest, AnEmptyFileHasNoChunks) {
  CAIRN_ASSERT_OK(WriteFile(dir_ + "/empty", ""));
  Chunker chunker(kSmall, nullptr);
  CAIRN_ASSERT_OK_AND_ASSIGN(FileContent content, Read(dir_ + "/empty", &chunker));
  EXPECT_THAT(content.chunks, IsEmpty());
  EXPECT_EQ(content.bytes_read, 0u);
  EXPECT_EQ(content.reads, 1);
}

TEST_F(FileReaderTest, ASparseFileIsReadByItsDataExtentsOnly) {
  const std::string path = dir_ + "/sparse";
  const std::string head = RandomBytes(64 << 10, 3);
  const std::string tail = RandomBytes(128 << 10, 4);
  const uint64_t tail_at = 64u << 20;
  {
    CAIRN_ASSERT_OK_AND_ASSIGN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ASSERT_EQ(::pwrite(fd.get(), head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    ASSERT_EQ(::pwrite(fd.get(), tail.data(), tail.size(), static_cast<off_t>(tail_at)),
              static_cast<ssize_t>(tail.size()));
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(tail_at + tail.size() + (1u << 20))), 0);
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  if (static_cast<uint64_t>(st.st_blocks) * 512 >= static_cast<uint64_t>(st.st_size)) {
    GTEST_SKIP() << "this file system stores no holes";
  }
  Chunker chunker(kSmall, nullptr);
  CAIRN_ASSERT_OK_AND_ASSIGN(FileContent content, Read(path, &chunker));
  std::vector<v1::ChunkRef> want = Expected(head, kSmall);
  for (v1::ChunkRef& r : Expected(tail, kSmall, tail_at)) want.push_back(std::move(r));
  EXPECT_TRUE(Same(content.chunks, want))
      << Describe(content.chunks) << "\nwant " << Describe(want);
  EXPECT_EQ(content.bytes_read, head.size() + tail.size()) << "the holes are not read";
  EXPECT_EQ(content.st.st_size, st.st_size);

  // All hole: no chunks at all.
  const std::string holes = dir_ + "/holes";
  {
    CAIRN_ASSERT_OK_AND_ASSIGN(UniqueFd fd, OpenFile(holes, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ASSERT_EQ(::ftruncate(fd.get(), 8 << 20), 0);
  }
  CAIRN_ASSERT_OK_AND_ASSIGN(FileContent empty, Read(holes, &chunker));
  EXPECT_THAT(empty.chunks, IsEmpty());
  EXPECT_EQ(empty.bytes_read, 0u);
}

TEST_F(FileReaderTest, AFileChangedWhileReadIsReadAgain) {
  const std::string path = dir_ + "/changing";
  const std::string before = RandomBytes(600 << 10, 5);
  const std::string after = before + RandomBytes(5000, 6);  // grows: the size tells
  CAIRN_ASSERT_OK(WriteFile(path, before));
  hook_->action = [path, more = after.substr(before.size())] { ASSERT_OK(AppendFile(path, more)); };
  hook_->times = 1;
  Chunker chunker(kSmall, nullptr);
  CAIRN_ASSERT_OK_AND_ASSIGN(FileContent content, Read(path, &chunker));
  EXPECT_EQ(hook_->times.load(), 0) << "the change was never made";
  EXPECT_EQ(content.reads, 2);
  EXPECT_TRUE(Same(content.chunks, Expected(after, kSmall))) << "the chunks of the new version";
  EXPECT_EQ(content.st.st_size, static_cast<off_t>(after.size()));
  CAIRN_ASSERT_OK(uploader_->Finish().status());
  EXPECT_THAT(Missing(content.chunks), IsEmpty());
}

TEST_F(FileReaderTest, AFileThatKeepsChangingIsReported) {
  const std::string path = dir_ + "/churning";
  CAIRN_ASSERT_OK(WriteFile(path, RandomBytes(600 << 10, 7)));
  // Each read sees all-new content (so each makes a FindMissingChunks call),
  // and one byte more (so the size tells). Written in place: never shorter.
  auto versions = std::make_shared<std::atomic<int>>(0);
  hook_->action = [path, versions] {
    const int version = ++*versions;
    std::string data = RandomBytes((600 << 10) + version, 100 + version);
    absl::StatusOr<UniqueFd> fd = OpenFile(path, O_WRONLY);
    ASSERT_TRUE(fd.ok()) << fd.status();
    ASSERT_EQ(::pwrite(fd->get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  };
  hook_->times = 1000;
  Chunker chunker(kSmall, nullptr);
  absl::StatusOr<FileContent> content = Read(path, &chunker);
  hook_->times = 0;
  EXPECT_EQ(content.status().code(), absl::StatusCode::kAborted) << content.status();
  EXPECT_THAT(std::string(content.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(content.status().message()), HasSubstr("kept changing"));
  EXPECT_GE(versions->load(), kMaxFileReads);
}

TEST_F(FileReaderTest, AnUnreadableDescriptorIsAnErrorNamingThePath) {
  Chunker chunker(kSmall, nullptr);
  absl::StatusOr<FileContent> content =
      ReadFileChunks(-1, "/no/such/fd", crypto(), &chunker, uploader_.get());
  EXPECT_FALSE(content.ok());
  EXPECT_THAT(std::string(content.status().message()), HasSubstr("/no/such/fd"));
}

// ReadSmallFile (files for bundles, agent/file_bundles.h): the whole file,
// its probe and stat; a file larger than the limit is OutOfRange (the walk
// then cuts it into chunks), and an empty one reads as empty.
TEST(ReadSmallFileTest, ReadsAFileWholeOrSaysItIsTooLarge) {
  const std::string dir = MakeTestDir("read_small_file");
  const std::string data = RandomBytes(5000, 7);
  CAIRN_ASSERT_OK(WriteFile(dir + "/f", data));
  CAIRN_ASSERT_OK(WriteFile(dir + "/empty", ""));
  int fd = open((dir + "/f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  UniqueFd file(fd);
  CAIRN_ASSERT_OK_AND_ASSIGN(SmallFileContent small, ReadSmallFile(fd, "f", 5000));
  EXPECT_EQ(small.data, data);
  EXPECT_EQ(small.st.st_size, 5000);
  EXPECT_EQ(small.reads, 1);
  EXPECT_EQ(small.probe.kind, FileKind::kUnknown) << "random bytes";
  CAIRN_ASSERT_OK(WriteFile(dir + "/notes.txt", "step 1 loss 0.5\nstep 2 loss 0.4\n"));
  int text_fd = open((dir + "/notes.txt").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(text_fd, 0);
  UniqueFd text(text_fd);
  CAIRN_ASSERT_OK_AND_ASSIGN(SmallFileContent notes, ReadSmallFile(text_fd, "logs/notes.txt", 100));
  EXPECT_EQ(notes.probe.kind, FileKind::kText) << "sniffed from the bytes read";
  absl::StatusOr<SmallFileContent> too_large = ReadSmallFile(fd, "f", 4999);
  EXPECT_EQ(too_large.status().code(), absl::StatusCode::kOutOfRange) << too_large.status();
  int empty_fd = open((dir + "/empty").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(empty_fd, 0);
  UniqueFd empty(empty_fd);
  CAIRN_ASSERT_OK_AND_ASSIGN(SmallFileContent none, ReadSmallFile(empty_fd, "empty", 5000));
  EXPECT_TRUE(none.data.empty());
  RemoveTree(dir);
}

}  // namespace
}  // namespace cairn

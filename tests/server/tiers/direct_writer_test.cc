// DirectWriter: files written around the page cache hold exactly the bytes
// appended, whatever the sizes of the pieces, on a file system that takes
// O_DIRECT and on one written through the page cache; a full disk is an
// error, never a short file that looks whole.
#include "server/tiers/direct_writer.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "server/tiers/local_tier.h"
#include "tests/server/tiers/tier_test_dir.h"

namespace cairn {
namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string ReadAll(const std::string& path) {
  absl::StatusOr<std::string> out = ReadFileToString(path, 64 << 20);
  EXPECT_TRUE(out.ok()) << path << ": " << out.status();
  return out.ok() ? *out : std::string();
}

// Writes `pieces` (sizes) of one random stream; checks the file against it.
void WriteAndCheck(const std::string& path, const std::vector<size_t>& pieces, bool direct,
                   bool expect_direct) {
  size_t total = 0;
  for (size_t n : pieces) total += n;
  const std::string data = RandomBytes(total, total + pieces.size());
  absl::StatusOr<DirectWriter> out = DirectWriter::Open(path, O_EXCL, 0640, direct);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->direct(), expect_direct);
  size_t at = 0;
  for (size_t n : pieces) {
    ASSERT_TRUE(out->Append(absl::string_view(data).substr(at, n)).ok());
    at += n;
    EXPECT_EQ(out->size(), at);
  }
  ASSERT_TRUE(out->Finish().ok());
  ASSERT_TRUE(out->Finish().ok());  // idempotent
  EXPECT_TRUE(absl::IsFailedPrecondition(out->Append("late")));
  EXPECT_EQ(ReadAll(path), data) << path << ": " << pieces.size() << " pieces, " << total
                                 << " bytes";
}

const std::vector<std::vector<size_t>>& Shapes() {
  constexpr size_t kBlock = DirectWriter::kAlignment;
  constexpr size_t kBuf = DirectWriter::kBufferBytes;
  static const std::vector<std::vector<size_t>> shapes = {
      {},
      {0},
      {1},
      {kBlock - 1},
      {kBlock},
      {kBlock + 1},
      {kBuf},
      {kBuf + 1},
      {kBuf - 1, 2},
      {8, kBuf * 3 + 17, 0, 5},
      {kBlock - 3, kBlock, kBlock + 3, kBuf - 7, 1, 1, 1},
  };
  return shapes;
}

TEST(DirectWriterTest, FileHoldsExactlyTheBytesAppendedAroundThePageCache) {
  const std::string dir = NewTempDir("direct_writer");
  // The test directory's file system (ext4 on the machines we run on) takes O_DIRECT.
  int probe = ::open((dir + "/probe").c_str(), O_WRONLY | O_CREAT | O_DIRECT, 0600);
  if (probe < 0) GTEST_SKIP() << "O_DIRECT is refused here: " << std::strerror(errno);
  ::close(probe);
  int i = 0;
  for (const std::vector<size_t>& shape : Shapes()) {
    WriteAndCheck(dir + "/f" + std::to_string(i++), shape, /*direct=*/true, /*expect_direct=*/true);
  }
}

TEST(DirectWriterTest, BufferedWritesHoldTheSameBytes) {
  const std::string dir = NewTempDir("direct_writer");
  int i = 0;
  for (const std::vector<size_t>& shape : Shapes()) {
    WriteAndCheck(dir + "/f" + std::to_string(i++), shape, /*direct=*/false,
                  /*expect_direct=*/false);
  }
}

TEST(DirectWriterTest, ExistingFileIsNotOverwritten) {
  const std::string dir = NewTempDir("direct_writer");
  ASSERT_TRUE(WriteFileAtomically(dir + "/taken", "mine").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(DirectWriter::Open(dir + "/taken", O_EXCL, 0640).status()));
  EXPECT_EQ(ReadAll(dir + "/taken"), "mine");
  EXPECT_TRUE(absl::IsNotFound(DirectWriter::Open(dir + "/no/such/dir", O_EXCL, 0640).status()));
}

// On a full file system the writer fails with ResourceExhausted, in Append
// or at the latest in Finish; it never reports a short file as written.
TEST(DirectWriterTest, FullDiskIsAnErrorNotAShortFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const std::string dir = NewTempDir("direct_writer") + "/small";
  ASSERT_TRUE(MakeDirectories(dir).ok());
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a 2 MiB tmpfs: " << std::strerror(errno);
  }
  absl::Cleanup unmount = [&dir] { ::umount2(dir.c_str(), MNT_DETACH); };
  for (bool direct : {true, false}) {
    const std::string path = dir + (direct ? "/direct" : "/buffered");
    absl::StatusOr<DirectWriter> out = DirectWriter::Open(path, O_EXCL, 0640, direct);
    ASSERT_TRUE(out.ok()) << out.status();
    const std::string data = RandomBytes(3 << 20, 7);
    absl::Status status = out->Append(data);
    if (status.ok()) status = out->Finish();
    EXPECT_TRUE(absl::IsResourceExhausted(status))
        << (direct ? "direct: " : "buffered: ") << status;
    out->Abandon();
    ASSERT_EQ(::unlink(path.c_str()), 0);
  }
}

// ramfs takes no O_DIRECT: the writer and the local tier write through the
// page cache there, with nothing asked of the operator and no temp file left.
TEST(DirectWriterTest, AFileSystemWithoutDirectIoIsWrittenBuffered) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a ramfs needs root";
  const std::string dir = NewTempDir("direct_writer") + "/ram";
  ASSERT_TRUE(MakeDirectories(dir).ok());
  if (::mount("ramfs", dir.c_str(), "ramfs", 0, nullptr) != 0) {
    GTEST_SKIP() << "cannot mount a ramfs: " << std::strerror(errno);
  }
  absl::Cleanup unmount = [&dir] { ::umount2(dir.c_str(), MNT_DETACH); };
  int i = 0;
  for (const std::vector<size_t>& shape : Shapes()) {
    WriteAndCheck(dir + "/f" + std::to_string(i++), shape, /*direct=*/true,
                  /*expect_direct=*/false);
  }
  const std::string tier_dir = dir + "/tier";
  absl::StatusOr<std::unique_ptr<Tier>> tier = OpenLocalTier("hot", tier_dir);
  ASSERT_TRUE(tier.ok()) << tier.status();
  const std::string data = RandomBytes((3 << 20) + 5, 9);
  ASSERT_TRUE((*tier)->Put("pack-1", data).ok());
  std::string back;
  ASSERT_TRUE((*tier)->Read("pack-1", 0, data.size(), &back).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(RawDirListing(tier_dir), std::vector<std::string>{"pack-1"});
}

}  // namespace
}  // namespace cairn

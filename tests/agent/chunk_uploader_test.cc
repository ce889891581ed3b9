// ChunkUploader against a real in-process server: repeated chunks go once,
// Finish means durable, an abandoned upload leaves nothing behind, data
// the tenant already has is never sent again, chunks another backup is
// uploading at that moment are waited for instead of sent twice, and a
// holder of claims that goes away hands them on.
#include "agent/chunk_uploader.h"

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/server/tiers/fault_injection_tier.h"

namespace cairn {
namespace {

struct TestChunk {
  ChunkId id;
  std::string data;
};

class ChunkUploaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server's tier is wrapped, so a test can wait for what the server
    // does with an upload instead of polling the disk.
    CoreOptions options;
    options.wrap_tier = [this](std::unique_ptr<Tier> tier) -> std::unique_ptr<Tier> {
      std::unique_ptr<FaultInjectionTier> wrapped = WrapWithFaults(std::move(tier));
      tier_ = wrapped.get();
      return wrapped;
    };
    CAIRN_ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("uploader", std::move(options)));
  }

  void TearDown() override {
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  const AgentCrypto& crypto() const { return *env_->agent().crypto; }

  absl::StatusOr<std::string> BeginJob() {
    v1::BeginBackupRequest begin;
    begin.set_agent(AgentTestEnv::kAgentName);
    begin.add_roots("/uploader-test");
    begin.set_level(v1::BACKUP_LEVEL_FULL);
    absl::StatusOr<v1::BeginBackupResponse> job =
        env_->connection()->Call(&v1::AgentService::Stub::BeginBackup, begin);
    if (!job.ok()) return job.status();
    return job->job_id();
  }

  std::vector<TestChunk> MakeChunks(size_t count, size_t size, uint64_t seed) const {
    std::vector<TestChunk> chunks;
    for (size_t i = 0; i < count; ++i) {
      std::string data = RandomBytes(size, seed * 1000003 + i);
      chunks.push_back(TestChunk{crypto().hasher.Hash(data), std::move(data)});
    }
    return chunks;
  }

  // Indexes of `chunks` the server does not have for this tenant.
  absl::StatusOr<std::vector<uint32_t>> Missing(const std::string& job_id,
                                                const std::vector<TestChunk>& chunks) {
    v1::FindMissingChunksRequest request;
    request.set_job_id(job_id);
    for (const TestChunk& c : chunks) request.add_ids(std::string(ChunkIdBytes(c.id)));
    absl::StatusOr<v1::FindMissingChunksResponse> response =
        env_->connection()->Call(&v1::AgentService::Stub::FindMissingChunks, request);
    if (!response.ok()) return response.status();
    return std::vector<uint32_t>(response->missing().begin(), response->missing().end());
  }

  // Files under the server's pack tier: (temp files, committed files).
  std::pair<int, int> PackFiles(uint64_t* temp_bytes = nullptr) const {
    int temp = 0;
    int committed = 0;
    if (temp_bytes != nullptr) *temp_bytes = 0;
    std::error_code error;
    for (auto it = std::filesystem::recursive_directory_iterator(
             env_->server_state_dir() + "/packs", error);
         !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
      // Packs only: the server's catalog bundles live beside them.
      if (!it->is_regular_file() || it->path().filename().string().rfind("pack-", 0) != 0) {
        continue;
      }
      if (it->path().filename().string().find('~') != std::string::npos) {
        ++temp;
        if (temp_bytes != nullptr) *temp_bytes += it->file_size();
      } else {
        ++committed;
      }
    }
    return {temp, committed};
  }

  std::unique_ptr<AgentTestEnv> env_;
  FaultInjectionTier* tier_ = nullptr;  // the server's, owned by it
};

TEST_F(ChunkUploaderTest, RepeatedChunksInOneJobAreSentOnce) {
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job, BeginJob());
  std::vector<TestChunk> chunks = MakeChunks(10, 5000, 1);
  ChunkUploader uploader(env_->connection(), &crypto(), job, 2, 8u << 20);
  for (int round = 0; round < 2; ++round) {
    for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(uploader.Add(c.id, c.data));
  }
  CAIRN_ASSERT_OK(uploader.Add(chunks[3].id, chunks[3].data));
  CAIRN_ASSERT_OK_AND_ASSIGN(UploadStats stats, uploader.Finish());
  EXPECT_EQ(stats.chunks_checked, 21u);
  EXPECT_EQ(stats.chunks_uploaded, 10u);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(job, chunks));
  EXPECT_TRUE(missing.empty());
}

TEST_F(ChunkUploaderTest, EveryChunkIsPresentAfterFinish) {
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job, BeginJob());
  // Several FindMissingChunks batches and more data than the in-flight bound.
  std::vector<TestChunk> chunks = MakeChunks(700, 16384, 2);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> before, Missing(job, chunks));
  EXPECT_EQ(before.size(), chunks.size());
  ChunkUploader uploader(env_->connection(), &crypto(), job, 2, 1u << 20);
  for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(uploader.Add(c.id, c.data));
  CAIRN_ASSERT_OK_AND_ASSIGN(UploadStats stats, uploader.Finish());
  EXPECT_EQ(stats.chunks_uploaded, chunks.size());
  EXPECT_GT(stats.bytes_uploaded, 0u);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(job, chunks));
  EXPECT_TRUE(missing.empty()) << missing.size() << " chunks missing after Finish";
  EXPECT_EQ(PackFiles().first, 0) << "temp pack files left after a finished upload";
}

TEST_F(ChunkUploaderTest, FinishWithNothingAddedStoresNothing) {
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job, BeginJob());
  ChunkUploader uploader(env_->connection(), &crypto(), job, 2, 8u << 20);
  CAIRN_ASSERT_OK_AND_ASSIGN(UploadStats stats, uploader.Finish());
  EXPECT_EQ(stats.chunks_uploaded, 0u);
  EXPECT_EQ(PackFiles(), std::make_pair(0, 0));
}

TEST_F(ChunkUploaderTest, UploaderDestroyedWithoutFinishStoresNothingDurable) {
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job, BeginJob());
  // 300 chunks of 64 KiB: the first batch of checks is full at 256, so those
  // are sealed and streamed while the rest wait for Finish. The server's
  // pack (64 MiB target) stays open.
  std::vector<TestChunk> chunks = MakeChunks(300, 65536, 3);
  {
    ChunkUploader uploader(env_->connection(), &crypto(), job, 2, 64u << 20);
    for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(uploader.Add(c.id, c.data));
    // Wait until the server has written 16 chunks (1 MiB) into the open
    // pack, so the abandonment really cuts an upload in progress.
    // (The header and 16 chunks: this test's server has written nothing else.)
    ASSERT_TRUE(tier_->WaitForCalls(TierOp::kAppend, 17, absl::Seconds(60)))
        << "the upload never reached the server";
    ASSERT_EQ(tier_->open_writers(), 1);
  }
  // The server drops the open pack when it sees the stream cancelled.
  ASSERT_TRUE(tier_->WaitForOpenWriters(0, absl::Seconds(60)))
      << "the server kept the abandoned pack open";
  EXPECT_EQ(PackFiles(), std::make_pair(0, 0)) << "an abandoned upload left pack files";
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(job, chunks));
  EXPECT_EQ(missing.size(), chunks.size()) << "chunks of an abandoned upload count as stored";
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs,
                             env_->server()->catalog()->chunks().ListPacks());
  EXPECT_TRUE(packs.empty());

  // The same job can still upload them properly afterwards.
  ChunkUploader retry(env_->connection(), &crypto(), job, 2, 64u << 20);
  for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(retry.Add(c.id, c.data));
  CAIRN_ASSERT_OK_AND_ASSIGN(UploadStats stats, retry.Finish());
  EXPECT_EQ(stats.chunks_uploaded, chunks.size());
  CAIRN_ASSERT_OK_AND_ASSIGN(missing, Missing(job, chunks));
  EXPECT_TRUE(missing.empty());
}

TEST_F(ChunkUploaderTest, SecondJobWithTheSameDataUploadsNothing) {
  std::vector<TestChunk> chunks = MakeChunks(300, 20000, 4);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string first_job, BeginJob());
  {
    ChunkUploader uploader(env_->connection(), &crypto(), first_job, 2, 8u << 20);
    for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(uploader.Add(c.id, c.data));
    CAIRN_ASSERT_OK_AND_ASSIGN(UploadStats stats, uploader.Finish());
    EXPECT_EQ(stats.chunks_uploaded, chunks.size());
  }
  std::pair<int, int> files_before = PackFiles();
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string second_job, BeginJob());
  ChunkUploader again(env_->connection(), &crypto(), second_job, 2, 8u << 20);
  for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(again.Add(c.id, c.data));
  CAIRN_ASSERT_OK_AND_ASSIGN(UploadStats stats, again.Finish());
  EXPECT_EQ(stats.chunks_checked, chunks.size());
  EXPECT_EQ(stats.chunks_uploaded, 0u);
  EXPECT_EQ(stats.bytes_uploaded, 0u);
  EXPECT_EQ(PackFiles(), files_before) << "a second job wrote packs for data already stored";
}

// 256 chunks fill one FindMissingChunks batch: Add() asks about them (and
// claims the missing ones) at once, and they are streamed into a pack that
// stays open (64 MiB target) until Finish.
constexpr size_t kOneBatch = 256;

TEST_F(ChunkUploaderTest, ChunksAnotherJobIsUploadingAreWaitedForNotSent) {
  std::vector<TestChunk> chunks = MakeChunks(kOneBatch, 16384, 5);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job_a, BeginJob());
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job_b, BeginJob());
  ChunkUploader a(env_->connection(), &crypto(), job_a, 2, 32u << 20);
  for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(a.Add(c.id, c.data));
  // A's batch question (and its claims) may still be on its way when Add
  // returns: B asks only once the server holds them, as it would on a busy
  // cluster where A asked first.
  ASSERT_TRUE(e2e::WaitFor(
      [&] { return env_->server()->core()->ingest().claim_counters().live == chunks.size(); },
      absl::Seconds(30)));
  ChunkUploader b(env_->connection(), &crypto(), job_b, 2, 32u << 20);
  for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(b.Add(c.id, c.data));
  // B's Finish waits for A's upload to be durable.
  absl::StatusOr<UploadStats> b_stats;
  std::thread finish_b([&] { b_stats = b.Finish(); });
  CAIRN_ASSERT_OK_AND_ASSIGN(UploadStats a_stats, a.Finish());
  finish_b.join();
  CAIRN_ASSERT_OK(b_stats.status());
  EXPECT_EQ(a_stats.chunks_uploaded, chunks.size());
  EXPECT_EQ(b_stats->chunks_uploaded, 0u) << "B sent what A was sending";
  EXPECT_EQ(b_stats->bytes_uploaded, 0u);
  EXPECT_EQ(b_stats->chunks_waited, chunks.size());
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(job_b, chunks));
  EXPECT_TRUE(missing.empty());
  EXPECT_EQ(env_->server()->core()->ingest().claim_counters().live, 0u);
}

TEST_F(ChunkUploaderTest, AHolderThatGoesAwayHandsItsClaimsOn) {
  std::vector<TestChunk> chunks = MakeChunks(kOneBatch, 16384, 6);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job_a, BeginJob());
  CAIRN_ASSERT_OK_AND_ASSIGN(std::string job_b, BeginJob());
  auto a = std::make_unique<ChunkUploader>(env_->connection(), &crypto(), job_a, 2, 32u << 20);
  for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(a->Add(c.id, c.data));
  ChunkUploader b(env_->connection(), &crypto(), job_b, 2, 32u << 20);
  for (const TestChunk& c : chunks) CAIRN_ASSERT_OK(b.Add(c.id, c.data));
  absl::StatusOr<UploadStats> b_stats;
  std::thread finish_b([&] { b_stats = b.Finish(); });
  a.reset();  // A's agent goes away: its stream is cancelled, nothing stored
  finish_b.join();
  CAIRN_ASSERT_OK(b_stats.status());
  EXPECT_EQ(b_stats->chunks_uploaded, chunks.size()) << "B took the claims over and sent all";
  EXPECT_EQ(b_stats->chunks_waited, 0u);
  CAIRN_ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, Missing(job_b, chunks));
  EXPECT_TRUE(missing.empty());
}

}  // namespace
}  // namespace cairn

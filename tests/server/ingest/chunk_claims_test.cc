// ChunkClaims on its own (a clock the test moves): the first asker of a
// missing chunk holds its claim and the others hear "in flight"; a claim
// ends when its chunk is stored, when its job's stream or job ends, or when
// its holder is quiet for the ttl (then the next asker takes it over);
// tenants do not share claims; past max_claims a chunk is answered missing
// without a claim; a long backup's ended claims do not pile up. Then through
// IngestService with a real catalog and tier: FindMissingChunks answers
// in_flight only to agents that wait for claims, a holder's durable pack
// turns "in flight" into "present", and a holder whose stream ends without
// the chunk hands the claim on.
#include "server/ingest/chunk_claims.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/ingest_service.h"
#include "tests/server/ingest/ingest_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ChunkClaimsTest : public ::testing::Test {
 protected:
  ChunkClaims::Options Options() {
    ChunkClaims::Options options;
    options.ttl = absl::Seconds(60);
    options.clock = [now = now_ms_] { return absl::FromUnixMillis(now->load()); };
    return options;
  }
  void Advance(absl::Duration d) { *now_ms_ += absl::ToInt64Milliseconds(d); }

  struct Answer {
    std::vector<uint32_t> granted, held;
  };
  // Asks about all of `ids` as missing.
  static Answer Ask(ChunkClaims& claims, int64_t tenant, const std::string& job,
                    const std::vector<std::string>& ids) {
    std::vector<uint32_t> missing;
    for (uint32_t i = 0; i < ids.size(); ++i) missing.push_back(i);
    Answer a;
    claims.Claim(tenant, job, ids, missing, &a.granted, &a.held);
    return a;
  }

  std::shared_ptr<std::atomic<int64_t>> now_ms_ =
      std::make_shared<std::atomic<int64_t>>(1'700'000'000'000);
  const std::vector<std::string> ids_{TestChunkId(1), TestChunkId(2), TestChunkId(3)};
};

TEST_F(ChunkClaimsTest, FirstAskerHoldsTheClaimOthersHearInFlight) {
  ChunkClaims claims(Options());
  Answer a = Ask(claims, 1, "j-a", {ids_[0], ids_[1]});
  EXPECT_THAT(a.granted, ElementsAre(0, 1));
  EXPECT_THAT(a.held, IsEmpty());
  Answer b = Ask(claims, 1, "j-b", ids_);
  EXPECT_THAT(b.granted, ElementsAre(2)) << "the third chunk was nobody's";
  EXPECT_THAT(b.held, ElementsAre(0, 1));
  // The holder asking again (a retried call) keeps its claims.
  Answer again = Ask(claims, 1, "j-a", {ids_[1], ids_[2]});
  EXPECT_THAT(again.granted, ElementsAre(0));
  EXPECT_THAT(again.held, ElementsAre(1)) << "j-b holds the third";
  ChunkClaims::Counters c = claims.counters();
  EXPECT_EQ(c.granted, 3u);
  EXPECT_EQ(c.held, 3u);
  EXPECT_EQ(c.live, 3u);
}

TEST_F(ChunkClaimsTest, StoredChunksAndEndedJobsEndTheirClaims) {
  ChunkClaims claims(Options());
  Ask(claims, 1, "j-a", ids_);
  claims.Stored(1, {ids_[0]});
  Answer b = Ask(claims, 1, "j-b", ids_);
  EXPECT_THAT(b.granted, ElementsAre(0)) << "stored (a later lookup says present), claim over";
  EXPECT_THAT(b.held, ElementsAre(1, 2));
  claims.ReleaseJob("j-a");
  Answer c = Ask(claims, 1, "j-c", ids_);
  EXPECT_THAT(c.granted, ElementsAre(1, 2));
  EXPECT_THAT(c.held, ElementsAre(0)) << "j-b took the first";
  claims.ReleaseJob("j-b");
  claims.ReleaseJob("j-c");
  EXPECT_EQ(claims.counters().live, 0u);
  claims.ReleaseJob("j-never-asked");  // harmless
}

TEST_F(ChunkClaimsTest, AQuietHolderLosesItsClaimsAfterTheTtl) {
  ChunkClaims claims(Options());
  Ask(claims, 1, "j-a", ids_);
  Advance(absl::Seconds(50));
  claims.Touch("j-a");  // still sending
  Advance(absl::Seconds(50));
  EXPECT_THAT(Ask(claims, 1, "j-b", ids_).held, ElementsAre(0, 1, 2))
      << "touched 50 s ago, within the ttl";
  Advance(absl::Seconds(11));
  Answer b = Ask(claims, 1, "j-b", ids_);
  EXPECT_THAT(b.granted, ElementsAre(0, 1, 2)) << "quiet for 61 s: taken over";
  EXPECT_EQ(claims.counters().taken_over, 3u);
  // The old holder coming back finds them held by the new one.
  EXPECT_THAT(Ask(claims, 1, "j-a", ids_).held, ElementsAre(0, 1, 2));
  // Its late release must not end the new holder's claims.
  claims.ReleaseJob("j-a");
  EXPECT_THAT(Ask(claims, 1, "j-c", ids_).held, ElementsAre(0, 1, 2));
}

TEST_F(ChunkClaimsTest, TenantsDoNotShareClaims) {
  ChunkClaims claims(Options());
  Ask(claims, 1, "j-a", ids_);
  Answer other = Ask(claims, 2, "j-b", ids_);
  EXPECT_THAT(other.granted, ElementsAre(0, 1, 2));
  EXPECT_THAT(other.held, IsEmpty());
  claims.Stored(2, ids_);
  EXPECT_THAT(Ask(claims, 1, "j-c", ids_).held, ElementsAre(0, 1, 2))
      << "tenant 2 storing its copies ends none of tenant 1's claims";
}

TEST_F(ChunkClaimsTest, PastTheCapChunksAreAnsweredMissingWithoutAClaim) {
  ChunkClaims::Options options = Options();
  options.max_claims = 2;
  ChunkClaims claims(options);
  EXPECT_THAT(Ask(claims, 1, "j-a", ids_).granted, ElementsAre(0, 1, 2));
  EXPECT_EQ(claims.counters().live, 2u);
  Answer b = Ask(claims, 1, "j-b", ids_);
  EXPECT_THAT(b.held, ElementsAre(0, 1));
  EXPECT_THAT(b.granted, ElementsAre(2)) << "never recorded: a duplicate upload, never a wait";
}

TEST_F(ChunkClaimsTest, ALongBackupsEndedClaimsDoNotPileUp) {
  ChunkClaims claims(Options());
  for (uint64_t round = 0; round < 100; ++round) {
    std::vector<std::string> batch;
    for (uint64_t i = 0; i < 100; ++i) batch.push_back(TestChunkId(round * 100 + i));
    Ask(claims, 1, "j-long", batch);
    claims.Stored(1, batch);
  }
  EXPECT_EQ(claims.counters().live, 0u);
  EXPECT_EQ(claims.counters().granted, 10'000u);
  // The holder's list was compacted as its claims ended; asking again works.
  EXPECT_THAT(Ask(claims, 1, "j-other", {TestChunkId(5)}).granted, ElementsAre(0));
}

// Through the service: two backups of tenant t1 (job_ from the fixture and
// a second agent's).
class IngestClaimsTest : public IngestServiceTest {
 protected:
  void SetUp() override {
    IngestServiceTest::SetUp();
    ASSERT_OK_AND_ASSIGN(other_, StartBackup(calls(), "a2", "t1", "/data", v1::BACKUP_LEVEL_FULL));
  }
  absl::StatusOr<v1::FindMissingChunksResponse> Find(const std::string& job,
                                                     const std::vector<std::string>& ids,
                                                     bool wait = true) {
    v1::FindMissingChunksRequest request;
    request.set_job_id(job);
    request.set_wait_for_claims(wait);
    for (const std::string& id : ids) request.add_ids(id);
    return calls().FindMissingChunks(request);
  }
  std::string other_;
};

TEST_F(IngestClaimsTest, TheSecondAskerWaitsForTheFirstsDurablePack) {
  const std::vector<std::string> ids{stored_[0], TestChunkId(100), TestChunkId(101)};
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse first, Find(job_, ids));
  EXPECT_THAT(first.missing(), ElementsAre(1, 2));
  EXPECT_THAT(first.in_flight(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse second, Find(other_, ids));
  EXPECT_THAT(second.missing(), IsEmpty());
  EXPECT_THAT(second.in_flight(), ElementsAre(1, 2));
  // An agent that does not know claims is told what it always was.
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse old, Find(other_, ids, /*wait=*/false));
  EXPECT_THAT(old.missing(), ElementsAre(1, 2));
  EXPECT_THAT(old.in_flight(), IsEmpty());

  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackIngest> upload, calls().StartUpload(job_));
    ASSERT_OK(upload->Add(ids[1], 1000, TestSealed(100, 1000)));
    ASSERT_OK_AND_ASSIGN(second, Find(other_, ids));
    EXPECT_THAT(second.in_flight(), ElementsAre(1, 2)) << "in the open pack: not durable yet";
    ASSERT_OK(upload->Add(ids[2], 1000, TestSealed(101, 1000)));
    ASSERT_OK(upload->Finish());
  }
  ASSERT_OK_AND_ASSIGN(second, Find(other_, ids));
  EXPECT_THAT(second.missing(), IsEmpty());
  EXPECT_THAT(second.in_flight(), IsEmpty()) << "stored: present";
  EXPECT_EQ(repo_->core->ingest().claim_counters().live, 0u);
}

TEST_F(IngestClaimsTest, AStreamThatEndsWithoutTheChunkHandsTheClaimOn) {
  const std::vector<std::string> ids{TestChunkId(200), TestChunkId(201)};
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse first, Find(job_, ids));
  ASSERT_THAT(first.missing(), ElementsAre(0, 1));
  {
    // The holder's stream carries one of the two, then breaks (no Finish).
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackIngest> upload, calls().StartUpload(job_));
    ASSERT_OK(upload->Add(ids[0], 1000, TestSealed(200, 1000)));
    ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse waiting, Find(other_, ids));
    EXPECT_THAT(waiting.in_flight(), ElementsAre(0, 1));
  }
  ASSERT_OK_AND_ASSIGN(v1::FindMissingChunksResponse second, Find(other_, ids));
  EXPECT_THAT(second.missing(), ElementsAre(0, 1)) << "nothing stored, both claims now ours";
  EXPECT_THAT(second.in_flight(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(first, Find(job_, ids));
  EXPECT_THAT(first.in_flight(), ElementsAre(0, 1)) << "the old holder waits now";
}

}  // namespace
}  // namespace cairn

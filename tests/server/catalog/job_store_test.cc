// JobStore on a real catalog file, beyond catalog_test.cc: leases (never
// shortened; only_if_live refuses an expired or missing job), LiveBackups
// (running backups with a live lease only), the state column following
// Update, WriteJobRow/ReadJobRow, and damaged rows.
#include "server/catalog/job_store.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class JobStoreTest : public StoreTest {
 protected:
  JobStore& jobs() { return catalog().jobs(); }

  static v1::Job Job(const std::string& id, v1::JobKind kind, v1::JobState state,
                     int64_t created_ms, const std::string& agent = "a1") {
    v1::Job job;
    job.set_id(id);
    job.set_kind(kind);
    job.set_state(state);
    job.set_agent(agent);
    job.set_created_unix_ms(created_ms);
    return job;
  }
  absl::StatusOr<int64_t> Lease(const std::string& id) {
    return RawInt("SELECT lease_expires_ms FROM jobs WHERE id = '" + id + "'");
  }
};

TEST_F(JobStoreTest, ExtendLeaseNeverShortens) {
  ASSERT_OK(jobs().Insert(Job("j-1", v1::JOB_KIND_BACKUP, v1::JOB_STATE_RUNNING, 1), 5000));
  ASSERT_OK_AND_ASSIGN(bool extended, jobs().ExtendLease("j-1", 1000, 9000, false));
  EXPECT_TRUE(extended);
  ASSERT_OK_AND_ASSIGN(int64_t lease, Lease("j-1"));
  EXPECT_EQ(lease, 9000);
  // A shorter expiry matches the job (true) but keeps the later one.
  ASSERT_OK_AND_ASSIGN(extended, jobs().ExtendLease("j-1", 1000, 3000, false));
  EXPECT_TRUE(extended);
  ASSERT_OK_AND_ASSIGN(lease, Lease("j-1"));
  EXPECT_EQ(lease, 9000);
  ASSERT_OK_AND_ASSIGN(extended, jobs().ExtendLease("j-1", 1000, 3000, true));
  EXPECT_TRUE(extended);
  ASSERT_OK_AND_ASSIGN(lease, Lease("j-1"));
  EXPECT_EQ(lease, 9000);
}

TEST_F(JobStoreTest, ExtendLeaseOnlyIfLiveRefusesAnExpiredLease) {
  ASSERT_OK(jobs().Insert(Job("j-1", v1::JOB_KIND_BACKUP, v1::JOB_STATE_RUNNING, 1), 5000));
  // Expired at 5000 exactly: the lease is live only strictly before its expiry.
  ASSERT_OK_AND_ASSIGN(bool extended, jobs().ExtendLease("j-1", 5000, 20000, true));
  EXPECT_FALSE(extended);
  ASSERT_OK_AND_ASSIGN(int64_t lease, Lease("j-1"));
  EXPECT_EQ(lease, 5000);
  ASSERT_OK_AND_ASSIGN(extended, jobs().ExtendLease("j-1", 4999, 20000, true));
  EXPECT_TRUE(extended);
  ASSERT_OK_AND_ASSIGN(lease, Lease("j-1"));
  EXPECT_EQ(lease, 20000);
  // Without only_if_live an expired lease is revived.
  ASSERT_OK_AND_ASSIGN(extended, jobs().ExtendLease("j-1", 30000, 40000, false));
  EXPECT_TRUE(extended);
  ASSERT_OK_AND_ASSIGN(lease, Lease("j-1"));
  EXPECT_EQ(lease, 40000);
}

TEST_F(JobStoreTest, ExtendLeaseOfAMissingJobIsFalse) {
  ASSERT_OK_AND_ASSIGN(bool extended, jobs().ExtendLease("j-nope", 0, 1000, false));
  EXPECT_FALSE(extended);
  ASSERT_OK_AND_ASSIGN(extended, jobs().ExtendLease("j-nope", 0, 1000, true));
  EXPECT_FALSE(extended);
  ASSERT_OK_AND_ASSIGN(int64_t rows, RawInt("SELECT count(*) FROM jobs"));
  EXPECT_EQ(rows, 0);
}

TEST_F(JobStoreTest, LiveBackupsAreRunningBackupsWithALiveLease) {
  ASSERT_OK(jobs().Insert(Job("j-live", v1::JOB_KIND_BACKUP, v1::JOB_STATE_RUNNING, 11), 2000));
  ASSERT_OK(jobs().Insert(Job("j-late", v1::JOB_KIND_BACKUP, v1::JOB_STATE_RUNNING, 12), 1000));
  ASSERT_OK(jobs().Insert(Job("j-queued", v1::JOB_KIND_BACKUP, v1::JOB_STATE_QUEUED, 13), 2000));
  ASSERT_OK(jobs().Insert(Job("j-restore", v1::JOB_KIND_RESTORE, v1::JOB_STATE_RUNNING, 14), 2000));
  ASSERT_OK(jobs().Insert(Job("j-done", v1::JOB_KIND_BACKUP, v1::JOB_STATE_RUNNING, 15), 2000));
  ASSERT_OK(jobs().Update(Job("j-done", v1::JOB_KIND_BACKUP, v1::JOB_STATE_SUCCEEDED, 15)));

  ASSERT_OK_AND_ASSIGN(auto live, jobs().LiveBackups(500));
  EXPECT_THAT(live, UnorderedElementsAre(Pair("j-live", 11), Pair("j-late", 12)));
  ASSERT_OK_AND_ASSIGN(live, jobs().LiveBackups(1000));
  EXPECT_THAT(live, ElementsAre(Pair("j-live", 11)));
  ASSERT_OK_AND_ASSIGN(live, jobs().LiveBackups(2000));
  EXPECT_THAT(live, IsEmpty());
  // A renewed lease makes the job live again.
  ASSERT_OK(jobs().ExtendLease("j-late", 2000, 3000, false).status());
  ASSERT_OK_AND_ASSIGN(live, jobs().LiveBackups(2000));
  EXPECT_THAT(live, ElementsAre(Pair("j-late", 12)));
}

TEST_F(JobStoreTest, UpdateMovesTheStateColumnWithTheRecord) {
  ASSERT_OK(jobs().Insert(Job("j-1", v1::JOB_KIND_RESTORE, v1::JOB_STATE_QUEUED, 1), 0));
  ASSERT_OK(jobs().Insert(Job("j-2", v1::JOB_KIND_RESTORE, v1::JOB_STATE_QUEUED, 2), 0));
  v1::Job running = Job("j-1", v1::JOB_KIND_RESTORE, v1::JOB_STATE_RUNNING, 1);
  running.mutable_progress()->set_files_done(3);
  ASSERT_OK(jobs().Update(running));

  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> queued, jobs().Queued("a1"));
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].id(), "j-2");
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> busy, jobs().List("a1", 10, true));
  EXPECT_EQ(busy.size(), 2u);  // queued and running both count
  ASSERT_OK(jobs().Update(Job("j-1", v1::JOB_KIND_RESTORE, v1::JOB_STATE_CANCELLED, 1)));
  ASSERT_OK_AND_ASSIGN(busy, jobs().List("a1", 10, true));
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0].id(), "j-2");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> got, jobs().Get("j-1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(got->progress().files_done(), 0u);  // the whole record was replaced
}

// Jobs made in the same millisecond come out in the order they were made.
TEST_F(JobStoreTest, ListOrdersTiesByInsertionAndHonoursTheLimit) {
  for (const char* id : {"j-b", "j-a", "j-c"}) {
    ASSERT_OK(jobs().Insert(Job(id, v1::JOB_KIND_BACKUP, v1::JOB_STATE_QUEUED, 100), 0));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> all, jobs().List("", 10, false));
  std::vector<std::string> ids;
  for (const v1::Job& j : all) ids.push_back(j.id());
  EXPECT_THAT(ids, ElementsAre("j-c", "j-a", "j-b"));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> queued, jobs().Queued("a1"));
  ids.clear();
  for (const v1::Job& j : queued) ids.push_back(j.id());
  EXPECT_THAT(ids, ElementsAre("j-b", "j-a", "j-c"));
  ASSERT_OK_AND_ASSIGN(all, jobs().List("", 0, false));
  EXPECT_THAT(all, IsEmpty());
}

TEST_F(JobStoreTest, JobRowsThroughAnotherStoresConnection) {
  // WriteJobRow/ReadJobRow on a connection of their own, as the snapshot
  // store uses them inside its transaction.
  ASSERT_OK(jobs().Insert(Job("j-1", v1::JOB_KIND_BACKUP, v1::JOB_STATE_RUNNING, 1), 0));
  v1::Job changed = Job("j-1", v1::JOB_KIND_BACKUP, v1::JOB_STATE_FAILED, 1);
  changed.set_error("boom");
  ASSERT_OK(WriteJobRow(&raw(), changed));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> read, ReadJobRow(&raw(), "j-1"));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->error(), "boom");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> via_store, jobs().Get("j-1"));
  EXPECT_EQ(via_store->state(), v1::JOB_STATE_FAILED);

  EXPECT_EQ(WriteJobRow(&raw(), Job("j-nope", v1::JOB_KIND_BACKUP, v1::JOB_STATE_FAILED, 1)).code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(read, ReadJobRow(&raw(), "j-nope"));
  EXPECT_FALSE(read.has_value());
}

TEST_F(JobStoreTest, AnUnparsableRowIsDataLoss) {
  ASSERT_OK(jobs().Insert(Job("j-1", v1::JOB_KIND_BACKUP, v1::JOB_STATE_QUEUED, 1), 0));
  ASSERT_OK(RawExec("UPDATE jobs SET data = X'FF' WHERE id = 'j-1'"));
  EXPECT_EQ(jobs().Get("j-1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(jobs().Queued("a1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(jobs().List("", 5, false).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cairn

// Catalog on a real SQLite file: schema and reopen, tenants, agents, packs
// and chunks (per tenant, quarantine), trees, jobs, snapshot commits and
// their idempotence, totals and the integrity check.
#include "server/catalog/catalog.h"

#include <cstdio>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("catalog");
    ASSERT_OK(MakeDirectories(dir_, 0750));
    path_ = dir_ + "/catalog.db";
    Reopen();
  }

  void TearDown() override {
    catalog_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  void Reopen() {
    catalog_.reset();
    absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path_);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = *std::move(catalog);
  }

  v1::AgentInfo Agent(absl::string_view name, absl::string_view tenant) {
    v1::AgentInfo info;
    info.set_name(std::string(name));
    info.set_tenant(std::string(tenant));
    info.set_hostname(absl::StrCat(name, ".example"));
    info.set_last_seen_unix_ms(1000);
    return info;
  }

  std::vector<StoredChunk> Chunks(uint64_t first, uint64_t count, uint32_t salt = 0) {
    std::vector<StoredChunk> chunks;
    for (uint64_t i = 0; i < count; ++i) {
      chunks.push_back(StoredChunk{TestChunkId(first + i, salt), 8 + i * 100, 100,
                                   static_cast<uint32_t>(200 + i)});
    }
    return chunks;
  }

  static std::vector<std::string> Ids(const std::vector<StoredChunk>& chunks) {
    std::vector<std::string> ids;
    for (const StoredChunk& c : chunks) ids.push_back(c.id);
    return ids;
  }

  v1::Job Job(absl::string_view id, absl::string_view agent, v1::JobState state,
              int64_t created_ms) {
    v1::Job job;
    job.set_id(std::string(id));
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(state);
    job.set_agent(std::string(agent));
    job.set_created_unix_ms(created_ms);
    return job;
  }

  v1::Snapshot Snapshot(absl::string_view id, absl::string_view job_id, v1::BackupLevel level,
                        int64_t created_ms) {
    v1::Snapshot s;
    s.set_id(std::string(id));
    s.set_agent("a1");
    s.set_tenant("t1");
    s.add_roots("/data");
    s.set_level(level);
    s.set_root_tree_id(Sha256Of(id));
    s.set_created_unix_ms(created_ms);
    s.set_job_id(std::string(job_id));
    s.mutable_stats()->set_bytes_scanned(1000);
    return s;
  }

  // Inserts a running job `job_id` and commits snapshot `id` for it.
  absl::StatusOr<v1::Snapshot> CommitNew(absl::string_view id, absl::string_view job_id,
                                         v1::BackupLevel level, int64_t created_ms) {
    v1::Job job = Job(job_id, "a1", v1::JOB_STATE_RUNNING, created_ms);
    absl::Status inserted = catalog_->jobs().Insert(job, created_ms + 1000);
    if (!inserted.ok()) return inserted;
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    job.set_snapshot_id(std::string(id));
    return catalog_->snapshots().Commit(Snapshot(id, job_id, level, created_ms), job);
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, ReopenKeepsDataAndSchema) {
  ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog_->agents().TenantId("t1"));
  ASSERT_OK(catalog_->agents().Upsert(Agent("a1", "t1")));
  ASSERT_OK(catalog_->chunks().AddPack(tenant, "hot", "pack-1", 1000, Chunks(0, 3)).status());
  ASSERT_OK(catalog_->trees().Put(tenant, {{std::string(Sha256Of("tree")), std::string("tree")}}));
  ASSERT_OK(CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());

  Reopen();
  // A second handle on the same file while the first is open also works (WAL).
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> second, Catalog::Open(path_));
  for (Catalog* catalog : {catalog_.get(), second.get()}) {
    ASSERT_OK_AND_ASSIGN(int64_t again, catalog->agents().TenantId("t1"));
    EXPECT_EQ(again, tenant);
    ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> agent, catalog->agents().Get("a1"));
    ASSERT_TRUE(agent.has_value());
    EXPECT_EQ(agent->hostname(), "a1.example");
    ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                         catalog->chunks().FindMissing(tenant, Ids(Chunks(0, 3))));
    EXPECT_THAT(missing, IsEmpty());
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> tree,
                         catalog->trees().Get(tenant, Sha256Of("tree")));
    EXPECT_EQ(tree, "tree");
    ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> snapshot, catalog->snapshots().Get("s-1"));
    ASSERT_TRUE(snapshot.has_value());
    EXPECT_EQ(snapshot->job_id(), "j-1");
  }
}

TEST_F(CatalogTest, RefusesAnotherSchemaVersion) {
  catalog_.reset();
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path_));
    ASSERT_OK(db->Exec("UPDATE meta SET value='99' WHERE key='schema_version'"));
  }
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path_);
  EXPECT_EQ(catalog.status().code(), absl::StatusCode::kFailedPrecondition) << catalog.status();
  EXPECT_THAT(catalog.status().message(), ::testing::HasSubstr("99"));
}

TEST_F(CatalogTest, RefusesAFileThatIsNotADatabase) {
  std::string garbage_path = path_ + ".garbage";
  FILE* f = std::fopen(garbage_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::string junk(8192, 'x');
  std::fwrite(junk.data(), 1, junk.size(), f);
  std::fclose(f);
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(garbage_path);
  EXPECT_EQ(catalog.status().code(), absl::StatusCode::kDataLoss) << catalog.status();
}

TEST_F(CatalogTest, TenantsAreCreatedOnceAndDistinct) {
  ASSERT_OK_AND_ASSIGN(int64_t a, catalog_->agents().TenantId("alpha"));
  ASSERT_OK_AND_ASSIGN(int64_t b, catalog_->agents().TenantId("beta"));
  ASSERT_OK_AND_ASSIGN(int64_t a2, catalog_->agents().TenantId("alpha"));
  EXPECT_NE(a, b);
  EXPECT_EQ(a, a2);
}

TEST_F(CatalogTest, AgentsUpsertGetList) {
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> none, catalog_->agents().Get("nobody"));
  EXPECT_FALSE(none.has_value());

  v1::AgentInfo b = Agent("b-host", "t1");
  b.set_online(true);  // presence is not the catalog's to keep
  ASSERT_OK(catalog_->agents().Upsert(b));
  ASSERT_OK(catalog_->agents().Upsert(Agent("a-host", "t2")));
  v1::AgentInfo b2 = Agent("b-host", "t1");
  b2.set_hostname("renamed");
  b2.set_last_snapshot_id("s-7");
  ASSERT_OK(catalog_->agents().Upsert(b2));

  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> got, catalog_->agents().Get("b-host"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->hostname(), "renamed");
  EXPECT_EQ(got->last_snapshot_id(), "s-7");
  EXPECT_FALSE(got->online());

  ASSERT_OK(catalog_->agents().Touch("b-host", 424242));
  ASSERT_OK_AND_ASSIGN(got, catalog_->agents().Get("b-host"));
  EXPECT_EQ(got->last_seen_unix_ms(), 424242);

  ASSERT_OK_AND_ASSIGN(std::vector<v1::AgentInfo> agents, catalog_->agents().List());
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents[0].name(), "a-host");
  EXPECT_EQ(agents[0].tenant(), "t2");
  EXPECT_EQ(agents[1].name(), "b-host");
  EXPECT_EQ(agents[1].last_seen_unix_ms(), 424242);
}

TEST_F(CatalogTest, ChunksAreScopedPerTenant) {
  ASSERT_OK_AND_ASSIGN(int64_t a, catalog_->agents().TenantId("A"));
  ASSERT_OK_AND_ASSIGN(int64_t b, catalog_->agents().TenantId("B"));
  std::vector<StoredChunk> chunks = Chunks(0, 4);
  ASSERT_OK_AND_ASSIGN(uint64_t added, catalog_->chunks().AddPack(a, "hot", "pack-a", 4096, chunks));
  EXPECT_EQ(added, 4u);

  std::vector<std::string> ids = Ids(chunks);
  ids.push_back(TestChunkId(99));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing_a, catalog_->chunks().FindMissing(a, ids));
  EXPECT_THAT(missing_a, ElementsAre(4u));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing_b, catalog_->chunks().FindMissing(b, ids));
  EXPECT_THAT(missing_b, ElementsAre(0u, 1u, 2u, 3u, 4u));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> in_b, catalog_->chunks().Locate(b, ids[0]));
  EXPECT_FALSE(in_b.has_value());

  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc, catalog_->chunks().Locate(a, ids[2]));
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->tier, "hot");
  EXPECT_EQ(loc->pack_name, "pack-a");
  EXPECT_EQ(loc->offset, chunks[2].offset);
  EXPECT_EQ(loc->length, chunks[2].length);
  EXPECT_EQ(loc->raw_size, chunks[2].raw_size);

  // Tenant B storing the same ids gets its own rows; A's stay where they were.
  ASSERT_OK_AND_ASSIGN(added, catalog_->chunks().AddPack(b, "hot", "pack-b", 4096, chunks));
  EXPECT_EQ(added, 4u);
  ASSERT_OK_AND_ASSIGN(loc, catalog_->chunks().Locate(a, ids[2]));
  EXPECT_EQ(loc->pack_name, "pack-a");
  ASSERT_OK_AND_ASSIGN(loc, catalog_->chunks().Locate(b, ids[2]));
  EXPECT_EQ(loc->pack_name, "pack-b");
}

TEST_F(CatalogTest, AChunkAlreadyStoredKeepsItsFirstLocation) {
  ASSERT_OK_AND_ASSIGN(int64_t t, catalog_->agents().TenantId("t1"));
  ASSERT_OK(catalog_->chunks().AddPack(t, "hot", "pack-1", 1000, Chunks(0, 2)).status());
  ASSERT_OK_AND_ASSIGN(uint64_t added, catalog_->chunks().AddPack(t, "hot", "pack-2", 1000, Chunks(1, 2)));
  EXPECT_EQ(added, 1u);  // chunk 1 was there, chunk 2 is new
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc, catalog_->chunks().Locate(t, TestChunkId(1)));
  EXPECT_EQ(loc->pack_name, "pack-1");
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
  ASSERT_EQ(packs.size(), 2u);
  EXPECT_EQ(packs[1].name, "pack-2");
  EXPECT_EQ(packs[1].entries, 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> in_pack_2, catalog_->chunks().PackChunkIds(packs[1].id));
  EXPECT_THAT(in_pack_2, ElementsAre(TestChunkId(2)));
}

TEST_F(CatalogTest, APackNameIsRecordedOnce) {
  ASSERT_OK_AND_ASSIGN(int64_t t, catalog_->agents().TenantId("t1"));
  ASSERT_OK(catalog_->chunks().AddPack(t, "hot", "pack-1", 1000, Chunks(0, 2)).status());
  absl::StatusOr<uint64_t> again = catalog_->chunks().AddPack(t, "hot", "pack-1", 1000, Chunks(5, 2));
  EXPECT_FALSE(again.ok());
  // The failed transaction left nothing behind.
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       catalog_->chunks().FindMissing(t, Ids(Chunks(5, 2))));
  EXPECT_THAT(missing, ElementsAre(0u, 1u));
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
  EXPECT_EQ(packs.size(), 1u);
}

TEST_F(CatalogTest, QuarantinedChunksAreMissingUntilStoredAgain) {
  ASSERT_OK_AND_ASSIGN(int64_t t, catalog_->agents().TenantId("t1"));
  std::vector<StoredChunk> chunks = Chunks(0, 3);
  ASSERT_OK(catalog_->chunks().AddPack(t, "hot", "pack-bad", 1000, chunks).status());
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
  ASSERT_EQ(packs.size(), 1u);
  const int64_t bad = packs[0].id;
  ASSERT_OK(catalog_->chunks().Quarantine(bad));
  ASSERT_OK_AND_ASSIGN(packs, catalog_->chunks().ListPacks());
  EXPECT_TRUE(packs[0].quarantined);

  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing, catalog_->chunks().FindMissing(t, Ids(chunks)));
  EXPECT_THAT(missing, ElementsAre(0u, 1u, 2u));

  // The next backup uploads chunk 1 again: its location moves to the good pack.
  StoredChunk again = chunks[1];
  again.offset = 8;
  ASSERT_OK_AND_ASSIGN(uint64_t added, catalog_->chunks().AddPack(t, "hot", "pack-good", 500, {again}));
  EXPECT_EQ(added, 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc, catalog_->chunks().Locate(t, again.id));
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->pack_name, "pack-good");
  EXPECT_EQ(loc->offset, 8u);
  EXPECT_NE(loc->pack_id, bad);
  ASSERT_OK_AND_ASSIGN(missing, catalog_->chunks().FindMissing(t, Ids(chunks)));
  EXPECT_THAT(missing, ElementsAre(0u, 2u));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> left, catalog_->chunks().PackChunkIds(bad));
  EXPECT_THAT(left, ElementsAre(chunks[0].id, chunks[2].id));
}

TEST_F(CatalogTest, TreesPutGetMissing) {
  ASSERT_OK_AND_ASSIGN(int64_t a, catalog_->agents().TenantId("A"));
  ASSERT_OK_AND_ASSIGN(int64_t b, catalog_->agents().TenantId("B"));
  const std::string id1 = Sha256Of("one"), id2 = Sha256Of("two");
  ASSERT_OK(catalog_->trees().Put(a, {{std::string(id1), std::string("one")}}));
  // Content-addressed: a second put of the same id changes nothing.
  ASSERT_OK(catalog_->trees().Put(a, {{std::string(id1), std::string("other bytes")}}));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> got, catalog_->trees().Get(a, id1));
  EXPECT_EQ(got, "one");
  ASSERT_OK_AND_ASSIGN(got, catalog_->trees().Get(a, id2));
  EXPECT_FALSE(got.has_value());
  ASSERT_OK_AND_ASSIGN(got, catalog_->trees().Get(b, id1));
  EXPECT_FALSE(got.has_value());

  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       catalog_->trees().FindMissing(a, {id2, id1, id2}));
  EXPECT_THAT(missing, ElementsAre(0u, 2u));
  ASSERT_OK_AND_ASSIGN(missing, catalog_->trees().FindMissing(b, {id1}));
  EXPECT_THAT(missing, ElementsAre(0u));
  ASSERT_OK_AND_ASSIGN(missing, catalog_->trees().FindMissing(a, {}));
  EXPECT_THAT(missing, IsEmpty());
}

TEST_F(CatalogTest, JobsInsertUpdateListQueued) {
  ASSERT_OK(catalog_->jobs().Insert(Job("j-1", "a1", v1::JOB_STATE_QUEUED, 100), 0));
  ASSERT_OK(catalog_->jobs().Insert(Job("j-2", "a1", v1::JOB_STATE_RUNNING, 200), 0));
  ASSERT_OK(catalog_->jobs().Insert(Job("j-3", "a2", v1::JOB_STATE_QUEUED, 50), 0));
  ASSERT_OK(catalog_->jobs().Insert(Job("j-4", "a1", v1::JOB_STATE_QUEUED, 300), 0));
  // Ids are unique.
  EXPECT_FALSE(catalog_->jobs().Insert(Job("j-1", "a9", v1::JOB_STATE_QUEUED, 1), 0).ok());

  v1::Job done = Job("j-2", "a1", v1::JOB_STATE_FAILED, 200);
  done.set_error("disk on fire");
  ASSERT_OK(catalog_->jobs().Update(done));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> got, catalog_->jobs().Get("j-2"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(got->error(), "disk on fire");
  EXPECT_EQ(catalog_->jobs().Update(Job("j-nope", "a1", v1::JOB_STATE_FAILED, 1)).code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(got, catalog_->jobs().Get("j-nope"));
  EXPECT_FALSE(got.has_value());

  auto ids = [](const std::vector<v1::Job>& jobs) {
    std::vector<std::string> out;
    for (const v1::Job& j : jobs) out.push_back(j.id());
    return out;
  };
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> all, catalog_->jobs().List("", 10, false));
  EXPECT_THAT(ids(all), ElementsAre("j-4", "j-2", "j-1", "j-3"));  // newest first
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> mine, catalog_->jobs().List("a1", 2, false));
  EXPECT_THAT(ids(mine), ElementsAre("j-4", "j-2"));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> running, catalog_->jobs().List("", 10, true));
  EXPECT_THAT(ids(running), ElementsAre("j-4", "j-1", "j-3"));  // queued counts as running
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Job> queued, catalog_->jobs().Queued("a1"));
  EXPECT_THAT(ids(queued), ElementsAre("j-1", "j-4"));  // oldest first
  ASSERT_OK_AND_ASSIGN(queued, catalog_->jobs().Queued("a3"));
  EXPECT_THAT(queued, IsEmpty());
}

TEST_F(CatalogTest, CommitSnapshotIsIdempotentPerJob) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK_AND_ASSIGN(v1::Snapshot first, CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10));
  EXPECT_EQ(first.id(), "s-1");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, catalog_->jobs().Get("j-1"));
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job->snapshot_id(), "s-1");

  // A retried commit of the same job, even carrying a new snapshot id, gets
  // the first snapshot back and changes nothing.
  v1::Job retry = *job;
  retry.set_state(v1::JOB_STATE_PARTIAL);
  ASSERT_OK_AND_ASSIGN(
      v1::Snapshot second,
      catalog_->snapshots().Commit(Snapshot("s-2", "j-1", v1::BACKUP_LEVEL_FULL, 20), retry));
  EXPECT_EQ(second.id(), "s-1");
  EXPECT_EQ(second.created_unix_ms(), 10);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> s2, catalog_->snapshots().Get("s-2"));
  EXPECT_FALSE(s2.has_value());
  ASSERT_OK_AND_ASSIGN(job, catalog_->jobs().Get("j-1"));
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  ASSERT_OK_AND_ASSIGN(CatalogTotals totals, catalog_->Totals());
  EXPECT_EQ(totals.snapshots, 1u);
}

TEST_F(CatalogTest, TwoSnapshotsWithOneIdAreAnError) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK(CommitNew("s-same", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());
  absl::StatusOr<v1::Snapshot> clash = CommitNew("s-same", "j-2", v1::BACKUP_LEVEL_FULL, 20);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists) << clash.status();

  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> kept, catalog_->snapshots().Get("s-same"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->job_id(), "j-1");
  // The failed commit rolled back: the second job did not end.
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job2, catalog_->jobs().Get("j-2"));
  EXPECT_EQ(job2->state(), v1::JOB_STATE_RUNNING);
  EXPECT_TRUE(job2->snapshot_id().empty());
}

TEST_F(CatalogTest, CommitSnapshotForAnUnknownJobOrTenantFails) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  v1::Job ghost = Job("j-ghost", "a1", v1::JOB_STATE_SUCCEEDED, 1);
  absl::StatusOr<v1::Snapshot> s =
      catalog_->snapshots().Commit(Snapshot("s-1", "j-ghost", v1::BACKUP_LEVEL_FULL, 1), ghost);
  EXPECT_FALSE(s.ok());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> none, catalog_->snapshots().Get("s-1"));
  EXPECT_FALSE(none.has_value());

  ASSERT_OK(catalog_->jobs().Insert(Job("j-2", "a1", v1::JOB_STATE_RUNNING, 1), 0));
  v1::Snapshot stranger = Snapshot("s-2", "j-2", v1::BACKUP_LEVEL_FULL, 1);
  stranger.set_tenant("no-such-tenant");
  EXPECT_FALSE(
      catalog_->snapshots().Commit(stranger, Job("j-2", "a1", v1::JOB_STATE_SUCCEEDED, 1)).ok());
}

TEST_F(CatalogTest, LatestSnapshotByLevel) {
  ASSERT_OK(catalog_->agents().TenantId("t1").status());
  ASSERT_OK(CommitNew("s-full", "j-1", v1::BACKUP_LEVEL_FULL, 100).status());
  ASSERT_OK(CommitNew("s-incr", "j-2", v1::BACKUP_LEVEL_INCREMENTAL, 200).status());
  ASSERT_OK(CommitNew("s-diff", "j-3", v1::BACKUP_LEVEL_DIFFERENTIAL, 300).status());
  ASSERT_OK(CommitNew("s-incr2", "j-4", v1::BACKUP_LEVEL_INCREMENTAL, 250).status());

  auto latest = [&](std::optional<v1::BackupLevel> level) -> std::string {
    absl::StatusOr<std::optional<v1::Snapshot>> s = catalog_->snapshots().Latest("a1", "/data", level);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() && s->has_value() ? (*s)->id() : "";
  };
  EXPECT_EQ(latest(std::nullopt), "s-diff");
  EXPECT_EQ(latest(v1::BACKUP_LEVEL_FULL), "s-full");
  EXPECT_EQ(latest(v1::BACKUP_LEVEL_INCREMENTAL), "s-incr2");  // by time, not insertion
  EXPECT_EQ(latest(v1::BACKUP_LEVEL_DIFFERENTIAL), "s-diff");
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> other,
                       catalog_->snapshots().Latest("a1", "/elsewhere", std::nullopt));
  EXPECT_FALSE(other.has_value());
  ASSERT_OK_AND_ASSIGN(other, catalog_->snapshots().Latest("a2", "/data", std::nullopt));
  EXPECT_FALSE(other.has_value());

  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> listed, catalog_->snapshots().List("a1", 2));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id(), "s-diff");
  EXPECT_EQ(listed[1].id(), "s-incr2");
}

TEST_F(CatalogTest, Totals) {
  ASSERT_OK_AND_ASSIGN(CatalogTotals empty, catalog_->Totals());
  EXPECT_EQ(empty.chunks, 0u);
  EXPECT_EQ(empty.packs, 0u);
  EXPECT_EQ(empty.snapshots, 0u);

  ASSERT_OK_AND_ASSIGN(int64_t t, catalog_->agents().TenantId("t1"));
  std::vector<StoredChunk> chunks = Chunks(0, 3);  // raw 200+201+202, stored 3*100
  ASSERT_OK(catalog_->chunks().AddPack(t, "hot", "pack-1", 1000, chunks).status());
  ASSERT_OK(catalog_->chunks().AddPack(t, "hot", "pack-2", 1000, Chunks(2, 1)).status());  // a dup
  ASSERT_OK(CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());
  ASSERT_OK(CommitNew("s-2", "j-2", v1::BACKUP_LEVEL_FULL, 20).status());

  ASSERT_OK_AND_ASSIGN(CatalogTotals totals, catalog_->Totals());
  EXPECT_EQ(totals.chunks, 3u);
  EXPECT_EQ(totals.unique_bytes, 603u);
  EXPECT_EQ(totals.stored_bytes, 300u);
  EXPECT_EQ(totals.packs, 2u);
  EXPECT_EQ(totals.snapshots, 2u);
  EXPECT_EQ(totals.logical_bytes, 2000u);
}

TEST_F(CatalogTest, IntegrityCheckIsCleanAfterUse) {
  ASSERT_OK_AND_ASSIGN(int64_t t, catalog_->agents().TenantId("t1"));
  ASSERT_OK(catalog_->agents().Upsert(Agent("a1", "t1")));
  ASSERT_OK(catalog_->chunks().AddPack(t, "hot", "pack-1", 1000, Chunks(0, 50)).status());
  ASSERT_OK(catalog_->trees().Put(t, {{std::string(Sha256Of("x")), std::string("x")}}));
  ASSERT_OK(CommitNew("s-1", "j-1", v1::BACKUP_LEVEL_FULL, 10).status());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems, catalog_->IntegrityCheck());
  EXPECT_THAT(problems, IsEmpty());
}

}  // namespace
}  // namespace cairn

// Catalog on a real SQLite file: schema and reopen, tenants, agents, packs
// and chunks (per tenant, quarantine), trees, jobs, totals and the
// integrity check.
#include "server/catalog/catalog.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/catalog/catalog_test_util.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

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
  ASSERT_OK_AND_ASSIGN(uint64_t added,
                       catalog_->chunks().AddPack(a, "hot", "pack-a", 4096, chunks));
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
  ASSERT_OK_AND_ASSIGN(uint64_t added,
                       catalog_->chunks().AddPack(t, "hot", "pack-2", 1000, Chunks(1, 2)));
  EXPECT_EQ(added, 1u);  // chunk 1 was there, chunk 2 is new
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc,
                       catalog_->chunks().Locate(t, TestChunkId(1)));
  EXPECT_EQ(loc->pack_name, "pack-1");
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
  ASSERT_EQ(packs.size(), 2u);
  EXPECT_EQ(packs[1].name, "pack-2");
  EXPECT_EQ(packs[1].entries, 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> in_pack_2,
                       catalog_->chunks().PackChunkIds(packs[1].id));
  EXPECT_THAT(in_pack_2, ElementsAre(TestChunkId(2)));
}

TEST_F(CatalogTest, APackNameIsRecordedOnce) {
  ASSERT_OK_AND_ASSIGN(int64_t t, catalog_->agents().TenantId("t1"));
  ASSERT_OK(catalog_->chunks().AddPack(t, "hot", "pack-1", 1000, Chunks(0, 2)).status());
  absl::StatusOr<uint64_t> again =
      catalog_->chunks().AddPack(t, "hot", "pack-1", 1000, Chunks(5, 2));
  EXPECT_FALSE(again.ok());
  // The failed transaction left nothing behind.
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       catalog_->chunks().FindMissing(t, Ids(Chunks(5, 2))));
  EXPECT_THAT(missing, ElementsAre(0u, 1u));
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
  EXPECT_EQ(packs.size(), 1u);
}

// AddToPack (a rebuild adding a second tenant's share of a pack) needs the
// pack recorded, and adds rows without a second pack row.
TEST_F(CatalogTest, AddToPackAddsAnotherTenantsChunksToARecordedPack) {
  ASSERT_OK_AND_ASSIGN(int64_t t1, catalog_->agents().TenantId("t1"));
  ASSERT_OK_AND_ASSIGN(int64_t t2, catalog_->agents().TenantId("t2"));
  EXPECT_EQ(catalog_->chunks().AddToPack(t2, "pack-1", Chunks(0, 2)).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK(catalog_->chunks().AddPack(t1, "hot", "pack-1", 1000, Chunks(0, 2)).status());
  ASSERT_OK_AND_ASSIGN(uint64_t added, catalog_->chunks().AddToPack(t2, "pack-1", Chunks(0, 2)));
  EXPECT_EQ(added, 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       catalog_->chunks().FindMissing(t2, Ids(Chunks(0, 2))));
  EXPECT_THAT(missing, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
  ASSERT_EQ(packs.size(), 1u);
  EXPECT_EQ(packs[0].entries, 4u);
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

  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> missing,
                       catalog_->chunks().FindMissing(t, Ids(chunks)));
  EXPECT_THAT(missing, ElementsAre(0u, 1u, 2u));

  // The next backup uploads chunk 1 again: its location moves to the good pack.
  StoredChunk again = chunks[1];
  again.offset = 8;
  ASSERT_OK_AND_ASSIGN(uint64_t added,
                       catalog_->chunks().AddPack(t, "hot", "pack-good", 500, {again}));
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

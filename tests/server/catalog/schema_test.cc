// MigrateCatalog on real SQLite files: a new file gets every table and the
// schema version; running it again changes nothing and keeps the data; a
// catalog of version 1 is migrated in place, keeping its rows; a catalog of
// another version is refused with a message naming both versions and is
// left as it was.
#include "server/catalog/schema.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/server_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("schema");
    ASSERT_OK(MakeDirectories(dir_, 0750));
    ASSERT_OK_AND_ASSIGN(db_, SqliteDb::Open(dir_ + "/catalog.db"));
  }
  void TearDown() override {
    db_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  // The first column of every row of `sql`, as text.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> values;
    absl::StatusOr<SqliteStatement> stmt = db_->Prepare(sql);
    EXPECT_TRUE(stmt.ok()) << stmt.status();
    if (!stmt.ok()) return values;
    while (true) {
      absl::StatusOr<bool> row = stmt->Step();
      EXPECT_TRUE(row.ok()) << row.status();
      if (!row.ok() || !*row) break;
      values.push_back(stmt->ColumnText(0));
    }
    return values;
  }
  // Every table and index, with its SQL: the whole schema as text.
  std::vector<std::string> Schema() {
    return Column(
        "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master "
        "ORDER BY type, name");
  }
  std::vector<std::string> Version() {
    return Column("SELECT value FROM meta WHERE key='schema_version'");
  }

  std::string dir_;
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(SchemaTest, ANewCatalogGetsEveryTableAndTheVersion) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_THAT(Column("SELECT name FROM sqlite_master WHERE type='table'"),
              IsSupersetOf({"meta", "tenants", "agents", "packs", "chunks", "trees", "jobs",
                            "snapshots", "policies"}));
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)});
  EXPECT_EQ(Column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

TEST_F(SchemaTest, MigratingAgainChangesNothingAndKeepsTheData) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  ASSERT_OK(db_->Exec("INSERT INTO tenants(name) VALUES('t1')"));
  ASSERT_OK(db_->Exec("INSERT INTO policies(name, updated_ms, data) VALUES('p', 5, x'00')"));
  const std::vector<std::string> schema = Schema();
  for (int i = 0; i < 3; ++i) ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Schema(), schema);
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)})
      << "one version row, not one per run";
  EXPECT_EQ(Column("SELECT name FROM tenants"), std::vector<std::string>{"t1"});
  EXPECT_EQ(Column("SELECT name FROM policies"), std::vector<std::string>{"p"});

  // And from another connection, as a restarted server would.
  db_.reset();
  ASSERT_OK_AND_ASSIGN(db_, SqliteDb::Open(dir_ + "/catalog.db"));
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Schema(), schema);
  EXPECT_EQ(Column("SELECT name FROM tenants"), std::vector<std::string>{"t1"});
}

TEST_F(SchemaTest, AnotherVersionIsRefusedNamingBothVersions) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  for (const std::string& other :
       {std::string("0"), std::to_string(kCatalogSchemaVersion + 1), std::string("99")}) {
    SCOPED_TRACE(other);
    ASSERT_OK(
        db_->Exec(absl::StrCat("UPDATE meta SET value='", other, "' WHERE key='schema_version'")));
    absl::Status refused = MigrateCatalog(db_.get());
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
    EXPECT_THAT(refused.message(), HasSubstr(absl::StrCat("version ", other)));
    EXPECT_THAT(refused.message(), HasSubstr(absl::StrCat("is not ", kCatalogSchemaVersion)));
    EXPECT_EQ(Version(), std::vector<std::string>{other}) << "the version is not rewritten";
  }
}

// A catalog written by another release (here: only its meta table, at version
// 99) is refused before anything is written to it: the tables of this version
// must not appear in it.
TEST_F(SchemaTest, ACatalogOfAnotherVersionIsLeftAsItWas) {
  ASSERT_OK(
      db_->Exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "INSERT INTO meta VALUES('schema_version', '99');"
                "CREATE TABLE trees_v2(id BLOB PRIMARY KEY, data BLOB NOT NULL);"));
  const std::vector<std::string> before = Schema();
  EXPECT_EQ(MigrateCatalog(db_.get()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Schema(), before);
}

// A version-1 catalog (made here from this version's by taking away what
// versions 2 to 4 added) gains the key checks, the damage marks, the access tables
// and the append-only audit log, in place, with its rows.
TEST_F(SchemaTest, AVersionOneCatalogIsMigratedKeepingItsRows) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  ASSERT_OK(db_->Exec(
      "DROP TABLE certificates; DROP TABLE join_tokens; DROP TABLE audit; DROP TABLE pack_copies;"
      "ALTER TABLE tenants DROP COLUMN key_check;"
      "DROP INDEX chunks_damaged;"
      "ALTER TABLE chunks DROP COLUMN damaged; ALTER TABLE chunks DROP COLUMN base_id;"
      "DROP INDEX trees_by_tier_pack; ALTER TABLE trees DROP COLUMN tier_pack;"
      "ALTER TABLE superseded_chunks DROP COLUMN base_id;"
      "UPDATE meta SET value='1' WHERE key='schema_version';"
      "INSERT INTO tenants(name) VALUES('t1');"));
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)});
  EXPECT_EQ(Column("SELECT name || ':' || coalesce(key_check, 'none') FROM tenants"),
            std::vector<std::string>{"t1:none"});
  EXPECT_EQ(Column("SELECT count(damaged) FROM chunks"), std::vector<std::string>{"0"});
  EXPECT_THAT(Column("SELECT name FROM sqlite_master WHERE type='table'"),
              IsSupersetOf({"certificates", "join_tokens", "audit", "pack_copies"}));
  ASSERT_OK(db_->Exec("INSERT INTO audit(time_ms, refused, data) VALUES(1, 0, x'00')"));
  absl::Status rewrite = db_->Exec("UPDATE audit SET refused=1");
  EXPECT_FALSE(rewrite.ok()) << "the audit log is append-only";
  EXPECT_THAT(rewrite.message(), HasSubstr("append-only"));
  EXPECT_FALSE(db_->Exec("DELETE FROM audit").ok());
  EXPECT_EQ(Column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

// A version-2 catalog gains the pack copies table and keeps its rows.
TEST_F(SchemaTest, AVersionTwoCatalogGainsPackCopies) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  ASSERT_OK(
      db_->Exec("DROP TABLE pack_copies; ALTER TABLE chunks DROP COLUMN base_id;"
                "DROP INDEX trees_by_tier_pack; ALTER TABLE trees DROP COLUMN tier_pack;"
                "ALTER TABLE superseded_chunks DROP COLUMN base_id;"
                "ALTER TABLE certificates DROP COLUMN replaces;"
                "ALTER TABLE certificates DROP COLUMN replaced_by;"
                "UPDATE meta SET value='2' WHERE key='schema_version';"
                "INSERT INTO tenants(name) VALUES('t2');"));
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)});
  EXPECT_EQ(Column("SELECT name FROM tenants"), std::vector<std::string>{"t2"});
  EXPECT_THAT(Column("SELECT name FROM sqlite_master WHERE type='table'"),
              IsSupersetOf({"pack_copies"}));
}

// A version-3 catalog's trees gain tier_pack, NULL for every tree already
// there (the metadata mirror then writes each one once), keeping their rows.
TEST_F(SchemaTest, AVersionThreeCatalogsTreesGainATierPackColumn) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  ASSERT_OK(
      db_->Exec("DROP INDEX trees_by_tier_pack; ALTER TABLE trees DROP COLUMN tier_pack;"
                "ALTER TABLE chunks DROP COLUMN base_id;"
                "ALTER TABLE superseded_chunks DROP COLUMN base_id;"
                "ALTER TABLE certificates DROP COLUMN replaces;"
                "ALTER TABLE certificates DROP COLUMN replaced_by;"
                "UPDATE meta SET value='3' WHERE key='schema_version';"
                "INSERT INTO tenants(id, name) VALUES(1, 't3');"
                "INSERT INTO trees(tenant_id, id, data) VALUES(1, x'01', x'02');"));
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)});
  EXPECT_EQ(Column("SELECT hex(id) || ':' || coalesce(tier_pack, 'null') FROM trees"),
            std::vector<std::string>{"01:null"});
  EXPECT_EQ(Column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

// A version-4 catalog's chunks gain base_id, NULL (whole chunks) for every
// chunk already there.
TEST_F(SchemaTest, AVersionFourCatalogsChunksGainABaseColumn) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  ASSERT_OK(
      db_->Exec("ALTER TABLE chunks DROP COLUMN base_id;"
                "ALTER TABLE superseded_chunks DROP COLUMN base_id;"
                "ALTER TABLE certificates DROP COLUMN replaces;"
                "ALTER TABLE certificates DROP COLUMN replaced_by;"
                "UPDATE meta SET value='4' WHERE key='schema_version';"
                "INSERT INTO tenants(id, name) VALUES(1, 't4');"
                "INSERT INTO packs(id, tier, name, size, entries, created_ms) "
                "VALUES(1, 'hot', 'p', 1, 1, 0);"
                "INSERT INTO chunks(tenant_id, id, pack_id, offset, length, raw_size) "
                "VALUES(1, x'0A', 1, 8, 1, 1);"));
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)});
  EXPECT_EQ(Column("SELECT hex(id) || ':' || coalesce(base_id, 'null') FROM chunks"),
            std::vector<std::string>{"0A:null"});
  EXPECT_EQ(Column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

// A version-5 catalog gains chunk_totals, seeded from its chunks per
// tenant, and the triggers then keep it as rows come, change and go.
TEST_F(SchemaTest, AVersionFiveCatalogGainsChunkTotalsSeededFromItsChunks) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  ASSERT_OK(
      db_->Exec("DROP TRIGGER chunk_totals_insert; DROP TRIGGER chunk_totals_delete;"
                "DROP TRIGGER chunk_totals_update; DROP TABLE chunk_totals;"
                "ALTER TABLE superseded_chunks DROP COLUMN base_id;"
                "ALTER TABLE certificates DROP COLUMN replaces;"
                "ALTER TABLE certificates DROP COLUMN replaced_by;"
                "UPDATE meta SET value='5' WHERE key='schema_version';"
                "INSERT INTO tenants(id, name) VALUES(1, 't5'), (2, 'u5');"
                "INSERT INTO packs(id, tier, name, size, entries, created_ms) "
                "VALUES(1, 'hot', 'p', 1, 1, 0);"
                "INSERT INTO chunks(tenant_id, id, pack_id, offset, length, raw_size) "
                "VALUES(1, x'0A', 1, 8, 100, 300), (1, x'0B', 1, 108, 50, 70),"
                "      (2, x'0A', 1, 158, 7, 9);"));
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)});
  const std::string totals =
      "SELECT tenant_id || ':' || chunks || ':' || raw_bytes || ':' || stored_bytes "
      "FROM chunk_totals ORDER BY tenant_id";
  EXPECT_EQ(Column(totals), (std::vector<std::string>{"1:2:370:150", "2:1:9:7"}));
  ASSERT_OK(
      db_->Exec("INSERT INTO tenants(id, name) VALUES(3, 'v5');"
                "INSERT INTO chunks(tenant_id, id, pack_id, offset, length, raw_size) "
                "VALUES(1, x'0C', 1, 165, 10, 20), (3, x'0C', 1, 175, 1, 2);"
                "UPDATE chunks SET length = 40, raw_size = 60 WHERE tenant_id = 1 AND id = x'0B';"
                "DELETE FROM chunks WHERE tenant_id = 1 AND id = x'0A';"
                "DELETE FROM chunks WHERE tenant_id = 2;"));
  EXPECT_EQ(Column(totals), (std::vector<std::string>{"1:2:80:50", "2:0:0:0", "3:1:2:1"}));
  // Opening it again at this version does not seed twice.
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Column(totals), (std::vector<std::string>{"1:2:80:50", "2:0:0:0", "3:1:2:1"}));
  EXPECT_EQ(Column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

// A version-6 catalog's superseded copies gain base_id, NULL for the copies
// kept aside before (their bases were not recorded), and its certificates
// replaces and replaced_by, empty; every row is kept, and its chunk totals
// stay as the triggers kept them.
TEST_F(SchemaTest, AVersionSixCatalogsSupersededCopiesGainABaseColumn) {
  ASSERT_OK(MigrateCatalog(db_.get()));
  ASSERT_OK(
      db_->Exec("ALTER TABLE superseded_chunks DROP COLUMN base_id;"
                "ALTER TABLE certificates DROP COLUMN replaces;"
                "ALTER TABLE certificates DROP COLUMN replaced_by;"
                "UPDATE meta SET value='6' WHERE key='schema_version';"
                "INSERT INTO tenants(id, name) VALUES(1, 't6');"
                "INSERT INTO packs(id, tier, name, size, entries, created_ms) "
                "VALUES(1, 'hot', 'p', 1, 1, 0);"
                "INSERT INTO chunks(tenant_id, id, pack_id, offset, length, raw_size) "
                "VALUES(1, x'0A', 1, 8, 100, 300);"
                "INSERT INTO superseded_chunks(pack_id, tenant_id, id, offset, length, raw_size, "
                "superseded_ms) VALUES(1, 1, x'0B', 108, 5, 7, 42);"
                "INSERT INTO certificates(serial, kind, name, issued_ms, expires_ms, created_by) "
                "VALUES('0c', 1, 'a6', 1, 2, 'renewal of 0b');"));
  ASSERT_OK(MigrateCatalog(db_.get()));
  EXPECT_EQ(Version(), std::vector<std::string>{std::to_string(kCatalogSchemaVersion)});
  EXPECT_EQ(Column("SELECT hex(id) || ':' || superseded_ms || ':' || coalesce(base_id, 'null') "
                   "FROM superseded_chunks"),
            std::vector<std::string>{"0B:42:null"});
  EXPECT_EQ(Column("SELECT chunks || ':' || stored_bytes FROM chunk_totals"),
            std::vector<std::string>{"1:100"});
  EXPECT_EQ(Column("SELECT serial || ':' || replaces || ':' || replaced_by FROM certificates"),
            std::vector<std::string>{"0c::"})
      << "a renewal made before records nothing to retire";
  EXPECT_EQ(Column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

}  // namespace
}  // namespace cairn

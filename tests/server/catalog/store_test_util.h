// A fixture for the catalog store tests: a real catalog file in a fresh temp
// directory, reopened on demand, plus a separate raw SQLite connection to the
// same file for arranging what the stores' own API cannot (ages, damage).
//
//   class JobStoreTest : public StoreTest {};
//   ASSERT_OK(catalog().jobs().Insert(job, 0));
//   ASSERT_OK(RawExec("UPDATE packs SET created_ms = 5"));
#ifndef CAIRN_TESTS_SERVER_CATALOG_STORE_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_CATALOG_STORE_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/catalog/sqlite_db.h"
#include "tests/server/server_test_util.h"

namespace cairn {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("store");
    ASSERT_OK(MakeDirectories(dir_, 0750));
    path_ = dir_ + "/catalog.db";
    Reopen();
  }

  void TearDown() override {
    raw_.reset();
    catalog_.reset();
    RemoveTestDirUnlessFailed(dir_);
  }

  // Closes the catalog and opens the file again (fresh stores, empty caches).
  void Reopen() {
    catalog_.reset();
    absl::StatusOr<std::unique_ptr<Catalog>> opened = Catalog::Open(path_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    catalog_ = *std::move(opened);
  }

  Catalog& catalog() { return *catalog_; }

  // A connection of its own to the catalog file, opened on first use.
  SqliteDb& raw() {
    if (raw_ == nullptr) {
      absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(path_);
      EXPECT_TRUE(db.ok()) << db.status();
      raw_ = *std::move(db);
    }
    return *raw_;
  }
  absl::Status RawExec(const std::string& sql) { return raw().Exec(sql); }
  // The first column of the first row of `sql`, as an integer.
  absl::StatusOr<int64_t> RawInt(const std::string& sql) {
    absl::StatusOr<SqliteStatement> stmt = raw().Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no row");
    return stmt->ColumnInt(0);
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<SqliteDb> raw_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_CATALOG_STORE_TEST_UTIL_H_

#include "tests/e2e/server_state_util.h"

#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace cairn::e2e {

std::vector<std::string> CatalogProblems(const std::string& catalog_path,
                                         const std::string& pack_dir) {
  std::vector<std::string> problems;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(catalog_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  absl::Cleanup close_db = [db] { sqlite3_close(db); };
  if (rc != SQLITE_OK) {
    problems.push_back(absl::StrCat("cannot open ", catalog_path, ": ", sqlite3_errstr(rc)));
    return problems;
  }
  // Runs `sql`; each row's columns joined by '|'.
  auto query = [&](const char* sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      problems.push_back(absl::StrCat(sql, ": ", sqlite3_errmsg(db)));
      return rows;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> cols;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* text = sqlite3_column_text(stmt, i);
        cols.push_back(text == nullptr ? "NULL" : reinterpret_cast<const char*>(text));
      }
      rows.push_back(absl::StrJoin(cols, "|"));
    }
    if (rc != SQLITE_DONE) problems.push_back(absl::StrCat(sql, ": ", sqlite3_errmsg(db)));
    sqlite3_finalize(stmt);
    return rows;
  };
  std::vector<std::string> integrity = query("PRAGMA integrity_check");
  if (integrity != std::vector<std::string>{"ok"}) {
    problems.push_back(absl::StrCat("integrity_check: ", absl::StrJoin(integrity, "; ")));
  }
  for (const std::string& row : query("PRAGMA foreign_key_check")) {
    problems.push_back(absl::StrCat("foreign_key_check: ", row));
  }
  for (const std::string& row : query("SELECT count(*) FROM chunks WHERE pack_id NOT IN "
                                      "(SELECT id FROM packs)")) {
    if (row != "0") problems.push_back(absl::StrCat(row, " chunk rows name no pack row"));
  }
  std::map<std::string, uint64_t> files = ListPackFiles(pack_dir);
  for (const std::string& row : query("SELECT name, size FROM packs")) {
    std::vector<std::string> cols = absl::StrSplit(row, '|');
    uint64_t size = 0;
    if (cols.size() != 2 || !absl::SimpleAtoi(cols[1], &size)) {
      problems.push_back(absl::StrCat("odd pack row: ", row));
      continue;
    }
    auto it = files.find(cols[0]);
    if (it == files.end()) {
      problems.push_back(
          absl::StrCat("pack ", cols[0], " is in the catalog but not in ", pack_dir));
    } else if (it->second != size) {
      problems.push_back(absl::StrCat("pack ", cols[0], " is ", it->second,
                                      " bytes on disk, the catalog says ", size));
    }
  }
  return problems;
}

std::map<std::string, uint64_t> ListPackFiles(const std::string& pack_dir) {
  std::map<std::string, uint64_t> files;
  DIR* d = ::opendir(pack_dir.c_str());
  if (d == nullptr) return files;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || absl::StrContains(name, "~")) continue;
    struct stat st;
    if (::stat(absl::StrCat(pack_dir, "/", name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      files[name] = static_cast<uint64_t>(st.st_size);
    }
  }
  ::closedir(d);
  return files;
}

}  // namespace cairn::e2e

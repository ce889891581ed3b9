// Reading catalog rows: rows that hold a serialized cairn.v1 record back into
// the record (DataLoss naming the kind when the bytes do not parse), rows
// mapped one by one, and which ids of a batch have no row.
//
//   ASSIGN_OR_RETURN(v1::Job job, ParseRow<v1::Job>(stmt.ColumnBlob(0), "job"));
//   ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, ParseRows<v1::Job>(stmt, "job"));
#ifndef CAIRN_SERVER_CATALOG_ROWS_H_
#define CAIRN_SERVER_CATALOG_ROWS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

template <typename Message>
absl::StatusOr<Message> ParseRow(const std::string& blob, absl::string_view what) {
  Message message;
  if (!message.ParseFromString(blob)) {
    return absl::DataLossError(absl::StrCat("catalog: unparsable ", what, " record"));
  }
  return message;
}

// Every row of `stmt`, whose first column is a serialized `Message`.
template <typename Message>
absl::StatusOr<std::vector<Message>> ParseRows(SqliteStatement& stmt, absl::string_view what) {
  std::vector<Message> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(Message m, ParseRow<Message>(stmt.ColumnBlob(0), what));
    out.push_back(std::move(m));
  }
}

// Every row of `stmt`, each turned into a T by `map(stmt)`.
template <typename T, typename Map>
absl::StatusOr<std::vector<T>> MapRows(SqliteStatement& stmt, Map map) {
  std::vector<T> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(map(stmt));
  }
}

// Indexes into `ids` for which `sql` (binding tenant, then id) finds no row.
inline absl::StatusOr<std::vector<uint32_t>> MissingIndexes(SqliteDb* db, absl::string_view sql,
                                                            int64_t tenant,
                                                            absl::Span<const std::string> ids) {
  ASSIGN_OR_RETURN(SqliteStatement get, db->Prepare(sql));
  std::vector<uint32_t> missing;
  for (uint32_t i = 0; i < ids.size(); ++i) {
    get.Reset();
    get.Bind(1, tenant);
    get.BindBlob(2, ids[i]);
    ASSIGN_OR_RETURN(bool found, get.Step());
    if (!found) missing.push_back(i);
  }
  return missing;
}

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_ROWS_H_

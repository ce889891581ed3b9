// A store's second connection to the catalog, for the lookups on the path of
// every backup call: is this job running, whose agent is it, which chunks and
// trees are missing. In WAL mode a read sees the last committed state and
// never waits for a writer; on the store's own connection it would queue
// behind another caller's commit and its fsync (with 50 backups at once,
// a job lookup waited up to 1.5 s; docs/scale.md). It sees everything a
// commit has acknowledged.
//
//   ReadConnection reader(std::move(db));
//   ASSIGN_OR_RETURN(auto job, reader.Run([&](SqliteDb* db) { return ReadJobRow(db, id); }));
#ifndef CAIRN_SERVER_CATALOG_READ_CONNECTION_H_
#define CAIRN_SERVER_CATALOG_READ_CONNECTION_H_

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class ReadConnection final {
 public:
  explicit ReadConnection(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  ReadConnection(const ReadConnection&) = delete;
  ReadConnection& operator=(const ReadConnection&) = delete;

  // Runs `read(db)` with the connection to itself; returns what it returns.
  template <typename Fn>
  auto Run(Fn read) {
    absl::MutexLock lock(&mu_);
    return read(db_.get());
  }

 private:
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_READ_CONNECTION_H_

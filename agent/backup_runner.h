// One backup of one root: open a job on the server, walk the root without
// following symlinks, reuse the parent snapshot's entry for every file whose
// metadata is unchanged (incremental and differential levels), read and
// upload the rest (small files a directory's at a time, in bundles:
// agent/file_bundles.h), then send the directory trees and commit the snapshot.
// Every snapshot is complete on its own; unchanged subtrees are shared.
//
//   ASSIGN_OR_RETURN(BackupResult r, RunBackup(&conn, crypto, config, options));
#ifndef CAIRN_AGENT_BACKUP_RUNNER_H_
#define CAIRN_AGENT_BACKUP_RUNNER_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/agent_config.h"
#include "agent/server_connection.h"
#include "cairn/v1/config.pb.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

struct BackupOptions {
  using ProgressFn = std::function<void(const std::string& job_id, const v1::JobProgress&)>;
  std::string root;  // absolute
  v1::BackupLevel level = v1::BACKUP_LEVEL_INCREMENTAL;
  std::string job_id;  // set when carrying out an ordered job
  // When set (and the job has a parent snapshot), only these root-relative
  // paths may have changed since the parent ("" = anything): a directory with
  // no changed path at or below it is taken from the parent without being
  // read. This is how the daemon's change journal makes incrementals cheap.
  const std::set<std::string>* changed_paths = nullptr;
  // Directories (root-relative) to take as they were in the parent snapshot:
  // consistency groups still being written. Left out if the parent lacks them.
  std::function<bool(const std::string& dir)> hold;
  // Glob patterns to leave out, besides the config's (from policies).
  std::vector<std::string> excludes;
  // Throttles: sealed bytes per second sent (0 = unlimited); seal workers
  // (0 = the config's).
  uint64_t bandwidth_bytes_per_second = 0;
  uint32_t workers = 0;
  // Called about once a second with progress.
  ProgressFn progress;
  // Called with each entry's root-relative path after its directory was
  // listed and before the entry is looked at. For tests, to change the tree
  // at exactly that moment; empty otherwise.
  std::function<void(const std::string& path)> on_entry;
};

struct BackupResult {
  v1::Snapshot snapshot;
  std::vector<v1::FileError> errors;
};

absl::StatusOr<BackupResult> RunBackup(ServerConnection* connection, const AgentCrypto& crypto,
                                       const v1::AgentConfig& config, const BackupOptions& options);

// Logs a committed backup as a `backup.committed` event with the
// snapshot's stats; `trigger` is "order" or "continuous", `job_id` may be "".
void LogBackupCommitted(absl::string_view trigger, const std::string& job_id,
                        const std::string& root, const v1::Snapshot& snapshot);

}  // namespace cairn

#endif  // CAIRN_AGENT_BACKUP_RUNNER_H_

// Restores a snapshot (or some of its paths) into a target directory on this
// host, byte-identical, and never writes outside the target (restore_target.h
// says how). The walk reads trees ahead (TreeFetcher) and queues files in
// windows (FileWindow); each window's distinct chunks are fetched once,
// grouped by pack, and decrypted, checked and written on a pool of workers
// that lives for the whole restore (ChunkFetcher), so a chunk shared by many
// files is fetched and opened once. Hardlinks come after their first name;
// directories get their metadata last, deepest first. Durability costs one
// syncfs of the target at the end, not one fsync per file.
//
//   RestoreOptions options{.snapshot_id = "s-…", .target = "/restore"};
//   ASSIGN_OR_RETURN(RestoreResult r, RunRestore(&conn, crypto, options));
#ifndef CAIRN_AGENT_RESTORE_EXECUTOR_H_
#define CAIRN_AGENT_RESTORE_EXECUTOR_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/agent_config.h"
#include "agent/server_connection.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

struct RestoreOptions {
  std::string snapshot_id;
  std::vector<std::string> paths;  // snapshot-relative; empty = all
  std::string target;              // absolute
  bool overwrite = false;          // replace files that exist in the target
  bool allow_special = false;      // keep set-id bits, create device nodes (sticky is always kept)
  int workers = 0;                 // decrypt/decompress/write threads; 0 = one per core
  // Paths the restore must never write over (the agent's key, config, state
  // directory and binary): a target that contains one is refused.
  std::vector<std::string> protected_paths;
  // Where the restore may write (directory prefixes, the agent config's
  // restore_targets): restores the server orders pass them; empty allows
  // anywhere (a local `cairn-agent restore`). A target inside one of them
  // that is itself inside a protected path (state_dir/restores) is allowed.
  std::vector<std::string> allowed_targets;
  std::function<void(const v1::JobProgress&)> progress;
};

struct RestoreResult {
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t bytes = 0;
  std::vector<v1::FileError> errors;  // entries refused or failed (at most 100 kept)
  uint64_t failed = 0;
  // How the data came: distinct chunks fetched, ReadChunks and tree calls.
  uint64_t chunks_fetched = 0;
  uint64_t chunk_calls = 0;
  uint64_t tree_calls = 0;
};

absl::StatusOr<RestoreResult> RunRestore(ServerConnection* connection, const AgentCrypto& crypto,
                                         const RestoreOptions& options);

}  // namespace cairn

#endif  // CAIRN_AGENT_RESTORE_EXECUTOR_H_

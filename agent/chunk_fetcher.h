// Fetches the chunks a restore needs, the mirror of ChunkUploader: ids go to
// the server in ReadChunks calls of up to 1024 (the server answers in storage
// order, one ranged read per run of a pack); each sealed chunk is opened
// (decrypted, decompressed, its id recomputed from the plaintext) once, on a
// pool of workers that lives as long as the fetcher, and handed to `deliver`
// on that worker. A checkpoint delta's bases are read on the worker that
// opens it, one call per link of its chain. A chunk whose copy does not open gets a second try with
// the copy the server kept when an agent reported it damaged (a false report
// replaces good data with bad; the good copy is held for a while). Memory
// is bounded: at most two sealed chunks per worker wait in the queue.
//
//   ChunkFetcher fetcher(&conn, &crypto, snapshot_id, workers,
//                        [&](const std::string& id, const absl::Status& s,
//                            absl::string_view plain) { ... });
//   RETURN_IF_ERROR(fetcher.Fetch(distinct_ids));
#ifndef CAIRN_AGENT_CHUNK_FETCHER_H_
#define CAIRN_AGENT_CHUNK_FETCHER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_config.h"
#include "agent/server_connection.h"
#include "common/chunk_id.h"

namespace cairn {

struct FetchStats {
  uint64_t chunks = 0;
  uint64_t sealed_bytes = 0;
  uint64_t calls = 0;
  uint64_t base_reads = 0;  // bases of checkpoint deltas read (one call each)
};

class ChunkFetcher final {
 public:
  // Called once per chunk the server sent: `status` is OK and `plain` the
  // chunk's bytes, or `status` says why the chunk cannot be used (it does
  // not open with the key, or its bytes do not hash to its id).
  using Deliver = std::function<void(const std::string& id, const absl::Status& status,
                                     absl::string_view plain)>;

  ChunkFetcher(ServerConnection* connection, const AgentCrypto* crypto, std::string snapshot_id,
               int workers, Deliver deliver);
  ~ChunkFetcher();
  ChunkFetcher(const ChunkFetcher&) = delete;
  ChunkFetcher& operator=(const ChunkFetcher&) = delete;

  // Told of a checkpoint delta's base whose own stored copy does not open
  // or check out (not a link further down its chain, not a failed read):
  // the delta that needed it is delivered as failed, and a verify reports
  // the base too. Set before Fetch; may be called from any worker.
  using BadBase = std::function<void(const std::string& id, const absl::Status& status)>;
  void set_bad_base(BadBase bad_base) { bad_base_ = std::move(bad_base); }

  // Fetches `ids` (distinct) and returns once every chunk received has been
  // delivered. An error when a call failed or the server sent an id it was
  // not asked for; the ids not delivered are then the caller's to fail.
  absl::Status Fetch(const std::vector<std::string>& ids);
  FetchStats stats() const {
    FetchStats s = stats_;
    s.base_reads = base_reads_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  struct Item {
    std::string id;
    std::string sealed;
    bool second_try = false;  // a superseded copy (the current one did not open)
  };
  absl::Status FetchBatch(const std::vector<std::string>& ids, size_t start, size_t end,
                          bool superseded);
  void Work();
  // The plaintext of a delta's base, `depth` links down its chain: one
  // ReadChunks call per link (bounded by kMaxDeltaDepth).
  absl::Status FetchBase(const ChunkId& base, int depth, std::string* plain);
  // Waits until every chunk queued has been handled.
  void Drain();

  ServerConnection* connection_;
  const AgentCrypto* crypto_;
  const std::string snapshot_id_;
  const size_t max_queued_;
  Deliver deliver_;
  BadBase bad_base_;
  FetchStats stats_;
  std::atomic<uint64_t> base_reads_{0};

  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  size_t busy_ ABSL_GUARDED_BY(mu_) = 0;  // items taken by workers, not yet delivered
  // Chunks whose current copy did not open, with why: they get a second
  // try with the copies the server kept after a damage report.
  absl::flat_hash_map<std::string, absl::Status> failed_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// Gets the plaintext of a checkpoint delta's base chunk, opened and checked.
using BaseFetch = std::function<absl::Status(const ChunkId& base, std::string* plain)>;

// Decrypts and decompresses a sealed chunk and checks that the plaintext
// hashes to `id` (so a chunk stored under the wrong id, or tampered with, is
// refused). A checkpoint delta is decoded with its base from `fetch_base`
// (FailedPrecondition without one). `framed` is scratch space.
absl::Status OpenChunk(const AgentCrypto& crypto, absl::string_view id, absl::string_view sealed,
                       std::string* framed, std::string* plain,
                       const BaseFetch& fetch_base = nullptr);

}  // namespace cairn

#endif  // CAIRN_AGENT_CHUNK_FETCHER_H_

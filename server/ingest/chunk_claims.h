// In-flight claims on chunks, so that a chunk crosses the network once even
// when many backups of a tenant find it missing at the same moment (every
// node of a cluster holds the same dataset shards). The first backup told a
// chunk is missing holds its claim and uploads it; the others are told the
// chunk is in flight and ask again later. A claim ends when the chunk's pack
// is durable (the chunk is then stored), when the holder's upload stream or
// job ends, or when the holder has not sent anything for `ttl` (an agent that
// hangs or went away): then the next asker takes it over. So no backup waits
// on a claim for longer than the holder keeps uploading, and at most `ttl`
// on a holder that stalled.
//
//   ChunkClaims claims(ChunkClaims::Options{});
//   claims.Claim(tenant, job, ids, missing, &granted, &held);  // FindMissingChunks
//   claims.Touch(job);                                         // each chunk received
//   claims.Stored(tenant, ids);                                // pack durable
//   claims.ReleaseJob(job);                                    // stream or job ended
//
// Memory: one entry (~100 bytes) per claimed chunk, at most `max_claims`;
// beyond that chunks are answered missing without a claim (the old
// behaviour: a duplicate upload, never a wait).
#ifndef CAIRN_SERVER_INGEST_CHUNK_CLAIMS_H_
#define CAIRN_SERVER_INGEST_CHUNK_CLAIMS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace cairn {

class ChunkClaims final {
 public:
  struct Options {
    // A holder that sends nothing for this long loses its claims.
    absl::Duration ttl = absl::Seconds(60);
    size_t max_claims = 1'000'000;
    std::function<absl::Time()> clock = absl::Now;
  };
  struct Counters {
    uint64_t granted = 0;     // claims handed out
    uint64_t held = 0;        // answers "in flight"
    uint64_t taken_over = 0;  // claims of a stalled holder handed to another job
    size_t live = 0;          // claims held now
  };

  explicit ChunkClaims(Options options);
  ChunkClaims(const ChunkClaims&) = delete;
  ChunkClaims& operator=(const ChunkClaims&) = delete;

  // For each index in `missing` (into `ids`, all of the tenant's missing
  // chunks): the claim goes to `job` unless another job holds it and is
  // live. Fills `granted` (the asker uploads these; may include ids it
  // already held) and `held` (another job is uploading them), in order.
  void Claim(int64_t tenant, absl::string_view job, absl::Span<const std::string> ids,
             absl::Span<const uint32_t> missing, std::vector<uint32_t>* granted,
             std::vector<uint32_t>* held);
  // `job` is still uploading: its claims live another `ttl`.
  void Touch(absl::string_view job);
  // These chunks of `tenant` are stored (their pack is durable).
  void Stored(int64_t tenant, absl::Span<const std::string> ids);
  // `job`'s upload stream or the job itself ended: its claims end.
  void ReleaseJob(absl::string_view job);
  Counters counters() const;

 private:
  using Key = std::pair<int64_t, std::string>;  // (tenant, chunk id)
  struct Holder {
    absl::Time deadline;
    std::vector<Key> keys;  // may name claims since taken over or ended
    size_t live = 0;        // of keys, those this holder still owns
  };
  // Ends one claim (its chunk stored, or taken over).
  void Forget(absl::flat_hash_map<Key, std::string>::iterator owned)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Live(const std::string& job, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseHolder(const std::string& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, std::string> owner_ ABSL_GUARDED_BY(mu_);  // key -> job
  absl::flat_hash_map<std::string, Holder> holders_ ABSL_GUARDED_BY(mu_);
  absl::Time next_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Counters counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_CHUNK_CLAIMS_H_

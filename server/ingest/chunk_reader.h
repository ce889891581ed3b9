// Reads the sealed chunks a restore asks for, grouped by where they live:
// the ids are located, sorted by (tier, pack, offset), and neighbouring
// chunks of one pack are read with one ranged tier read (gaps of up to 1 MiB
// are read and dropped; a run stays under 32 MiB). A local tier then opens a
// pack once per run, and an object store gets one request per run, not one
// per chunk. Every distinct id is emitted once. The next run is read ahead
// while one is emitted (two runs in memory).
//
//   ChunkReader reader(&catalog->chunks(), &tiers);
//   RETURN_IF_ERROR(reader.Read(tenant, ids, [&](absl::string_view id,
//                                               absl::string_view sealed) { ... }));
#ifndef CAIRN_SERVER_INGEST_CHUNK_READER_H_
#define CAIRN_SERVER_INGEST_CHUNK_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "server/catalog/chunk_store.h"
#include "server/catalog/placement_store.h"
#include "server/tiers/tier_set.h"

namespace cairn {

struct ChunkReadStats {
  uint64_t chunks = 0;
  uint64_t tier_reads = 0;
  uint64_t bytes_read = 0;  // including the gaps read over
};

class ChunkReader final {
 public:
  static constexpr uint64_t kMaxGapBytes = 1u << 20;
  static constexpr uint64_t kMaxRunBytes = 32u << 20;
  // A run at least this long is read ahead, on a thread, while the one
  // before it is emitted.
  static constexpr uint64_t kMinReadAheadBytes = 1u << 20;

  // With `placement`, a run whose pack has copies on other tiers is read from
  // the nearest tier that is not down (TierSet order), and from the next
  // copy when that read fails.
  ChunkReader(ChunkStore* chunks, const TierSet* tiers, PlacementStore* placement = nullptr)
      : chunks_(chunks), tiers_(tiers), placement_(placement) {}

  using Emit = absl::FunctionRef<absl::Status(absl::string_view id, absl::string_view sealed)>;
  // Emits each distinct id of `ids` once, in storage order. NotFound naming
  // the first id this tenant does not have (before anything is emitted);
  // Unavailable when its tier is not configured; stops at the first error
  // `emit` returns.
  absl::Status Read(int64_t tenant, absl::Span<const std::string> ids, Emit emit,
                    ChunkReadStats* stats = nullptr);
  // The copies superseded after damage reports, of those of `ids` that have
  // one (the others are skipped). Their packs are held, never moved.
  absl::Status ReadSuperseded(int64_t tenant, absl::Span<const std::string> ids, Emit emit,
                              ChunkReadStats* stats = nullptr);

 private:
  struct Located {
    const std::string* id;
    ChunkLocation where;
  };
  absl::Status ReadSorted(int64_t tenant, std::vector<Located> located, Emit emit,
                          ChunkReadStats* stats, bool retry_moved);

  // One run of a pack, from the best copy that answers.
  absl::Status ReadRun(const ChunkLocation& first, uint64_t length, std::string* out);

  ChunkStore* chunks_;
  const TierSet* tiers_;
  PlacementStore* placement_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_CHUNK_READER_H_

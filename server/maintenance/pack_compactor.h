// Rewrites packs that are mostly garbage: the live chunks of sparse packs of
// one (tier, tenant) are read, checked against the pack index and their
// checksums, and written into new packs (PackWriter); the new pack is made
// durable, then one transaction repoints the chunks and drops the emptied
// packs' rows, and only then are the old objects deleted. A crash before the
// transaction leaves an orphan new object, after it orphan old ones: the rows
// always name an object that exists. A damaged source pack is quarantined and
// left alone.
//
//   PackCompactor compactor(&catalog->chunks(), &tiers, target_bytes, hooks);
//   RETURN_IF_ERROR(compactor.Compact(sparse_packs_of_one_tier_and_tenant, &report));
#ifndef CAIRN_SERVER_MAINTENANCE_PACK_COMPACTOR_H_
#define CAIRN_SERVER_MAINTENANCE_PACK_COMPACTOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/catalog/chunk_store.h"
#include "server/ingest/pack_writer.h"
#include "server/tiers/tier_set.h"

namespace cairn {

// What the compactor did, added into the collection's report.
struct CompactionCounts {
  uint64_t packs_compacted = 0;  // source packs rewritten
  uint64_t packs_written = 0;
  uint64_t packs_deleted = 0;
  int64_t bytes_freed = 0;  // old pack bytes deleted minus new pack bytes written
  std::vector<std::string> problems;
};

class PackCompactor final {
 public:
  // Crash points the tests stop at: after a new pack is durable, after the
  // catalog was repointed, after the first old object was deleted. An error
  // from the hook ends the compaction there.
  enum class Point { kWritten, kRepointed, kOldDeleted };
  using Hook = std::function<absl::Status(Point)>;

  PackCompactor(ChunkStore* chunks, const TierSet* tiers, uint64_t pack_target_bytes, Hook hook)
      : chunks_(chunks), tiers_(tiers), target_bytes_(pack_target_bytes), hook_(std::move(hook)) {}

  // Rewrites `packs`, all on tier `tier` and holding chunks of `tenant`.
  absl::Status Compact(const std::string& tier, int64_t tenant,
                       const std::vector<PackRecord>& packs, CompactionCounts* counts);

 private:
  absl::Status CopyLive(const PackRecord& pack, CompactionCounts* counts);
  absl::Status ReadLive(Tier* tier, const PackRecord& pack, const std::vector<ChunkRow>& live,
                        std::vector<std::string>* blobs);
  absl::Status Flush(CompactionCounts* counts);
  absl::Status At(Point point) { return hook_ ? hook_(point) : absl::OkStatus(); }

  ChunkStore* chunks_;
  const TierSet* tiers_;
  uint64_t target_bytes_;
  Hook hook_;
  // The pack being filled.
  Tier* tier_ = nullptr;
  int64_t tenant_ = 0;
  std::unique_ptr<PackWriter> writer_;
  std::vector<StoredChunk> moves_;
  uint64_t sources_ = 0;
  bool deleted_one_ = false;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_MAINTENANCE_PACK_COMPACTOR_H_

// The vocabulary of a collection's outcome: its phases' names (for logs and
// the crash tests) and its report as the admin API returns it.
#include "server/maintenance/garbage_collector.h"

namespace cairn {

absl::string_view GcPhaseName(GcPhase phase) {
  switch (phase) {
    case GcPhase::kStarted:
      return "started";
    case GcPhase::kTreeCandidates:
      return "tree-candidates";
    case GcPhase::kTreesSwept:
      return "trees-swept";
    case GcPhase::kChunkCandidates:
      return "chunk-candidates";
    case GcPhase::kChunksSwept:
      return "chunks-swept";
    case GcPhase::kEmptyPackDeleted:
      return "empty-pack-deleted";
    case GcPhase::kCompactPackWritten:
      return "compact-pack-written";
    case GcPhase::kCompactRepointed:
      return "compact-repointed";
    case GcPhase::kCompactOldPackDeleted:
      return "compact-old-pack-deleted";
    case GcPhase::kOrphanDeleted:
      return "orphan-deleted";
    case GcPhase::kFinished:
      return "finished";
  }
  return "unknown";
}

v1::GcResponse GcReport::ToProto() const {
  v1::GcResponse response;
  response.set_chunks_deleted(chunks_deleted);
  response.set_bytes_freed(bytes_freed > 0 ? static_cast<uint64_t>(bytes_freed) : 0);
  response.set_packs_deleted(packs_deleted);
  response.set_packs_compacted(packs_compacted);
  response.set_trees_deleted(trees_deleted);
  response.set_chunks_rescued(chunks_rescued);
  response.set_chunks_kept_as_bases(chunks_kept_as_bases);
  for (const std::string& p : problems) response.add_problems(p);
  return response;
}

}  // namespace cairn

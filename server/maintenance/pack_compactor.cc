#include "server/maintenance/pack_compactor.h"

#include <cstring>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "server/maintenance/pack_verifier.h"

namespace cairn {

absl::Status PackCompactor::Compact(const std::string& tier, int64_t tenant,
                                    const std::vector<PackRecord>& packs,
                                    CompactionCounts* counts) {
  ASSIGN_OR_RETURN(tier_, tiers_->Get(tier));
  tenant_ = tenant;
  for (const PackRecord& p : packs) RETURN_IF_ERROR(CopyLive(p, counts));
  return Flush(counts);
}

absl::Status PackCompactor::CopyLive(const PackRecord& pack, CompactionCounts* counts) {
  ASSIGN_OR_RETURN(std::vector<ChunkRow> live, chunks_->LiveChunksOfPack(pack.id));
  if (live.empty()) return absl::OkStatus();
  std::vector<std::string> blobs;
  absl::Status read = ReadLive(tier_, pack, live, &blobs);
  if (IsPackDamage(read)) {
    // A tier move may have relocated the pack (and deleted this copy) since
    // it was listed: that is no damage. Left for the next run.
    ASSIGN_OR_RETURN(std::optional<PackRecord> now, chunks_->GetPack(pack.id));
    if (!now.has_value() || now->tier != pack.tier) return absl::OkStatus();
    counts->problems.push_back(absl::StrCat("pack ", pack.name, " (tier ", pack.tier,
                                            "): ", read.message(), "; quarantined, not compacted"));
    return chunks_->Quarantine(pack.id);
  }
  RETURN_IF_ERROR(read);
  if (writer_ != nullptr && writer_->entry_count() + live.size() > kMaxPackEntries) {
    RETURN_IF_ERROR(Flush(counts));
  }
  if (writer_ == nullptr) {
    ASSIGN_OR_RETURN(writer_, PackWriter::Create(tier_));
  }
  for (size_t i = 0; i < live.size(); ++i) {
    ChunkId id;
    std::memcpy(id.data(), live[i].id.data(), kChunkIdBytes);
    std::optional<ChunkId> base;
    if (live[i].base_id.size() == kChunkIdBytes) {
      base.emplace();
      std::memcpy(base->data(), live[i].base_id.data(), kChunkIdBytes);
    }
    ASSIGN_OR_RETURN(PackEntry entry, writer_->Add(id, live[i].raw_size, blobs[i], base));
    moves_.push_back(StoredChunk{live[i].id, entry.offset, entry.length, live[i].raw_size, pack.id,
                                 live[i].base_id});
  }
  ++sources_;
  if (writer_->Full(target_bytes_)) RETURN_IF_ERROR(Flush(counts));
  return absl::OkStatus();
}

absl::Status PackCompactor::ReadLive(Tier* tier, const PackRecord& pack,
                                     const std::vector<ChunkRow>& live,
                                     std::vector<std::string>* blobs) {
  ASSIGN_OR_RETURN(std::vector<PackEntry> index, ReadPackIndex(tier, pack.name));
  absl::flat_hash_map<uint64_t, const PackEntry*> by_offset;
  for (const PackEntry& e : index) by_offset[e.offset] = &e;
  for (const ChunkRow& c : live) {
    auto it = by_offset.find(c.offset);
    if (it == by_offset.end() || it->second->length != c.length ||
        std::memcmp(it->second->id.data(), c.id.data(), kChunkIdBytes) != 0) {
      return absl::DataLossError(
          absl::StrCat("the pack's index lacks chunk ", HexOf(c.id), " at offset ", c.offset));
    }
    std::string blob;
    RETURN_IF_ERROR(tier->Read(pack.name, c.offset, c.length, &blob));
    RETURN_IF_ERROR(VerifyBlob(*it->second, blob));
    blobs->push_back(std::move(blob));
  }
  return absl::OkStatus();
}

absl::Status PackCompactor::Flush(CompactionCounts* counts) {
  if (writer_ == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(writer_->Commit());
  uint64_t size = writer_->size();
  ++counts->packs_written;
  counts->bytes_freed -= static_cast<int64_t>(size);
  RETURN_IF_ERROR(At(Point::kWritten));
  ASSIGN_OR_RETURN(std::vector<PackRecord> emptied,
                   chunks_->MoveChunks(tenant_, tier_->name(), writer_->name(), size, moves_));
  counts->packs_compacted += sources_;
  RETURN_IF_ERROR(At(Point::kRepointed));
  writer_.reset();
  moves_.clear();
  sources_ = 0;
  for (const PackRecord& p : emptied) {
    std::vector<std::string> locations = p.copies;
    locations.insert(locations.begin(), p.tier);
    for (const std::string& where : locations) {
      Tier* tier = tiers_->Find(where);
      if (tier == nullptr) continue;  // an unconfigured tier's object stays
      absl::Status deleted = tier->Delete(p.name);
      if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
    }
    ++counts->packs_deleted;
    counts->bytes_freed += static_cast<int64_t>(p.size);
    if (!deleted_one_) {
      deleted_one_ = true;
      RETURN_IF_ERROR(At(Point::kOldDeleted));
    }
  }
  return absl::OkStatus();
}

}  // namespace cairn

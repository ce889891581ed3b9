#include "server/ingest/pack_ingest.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {

PackIngest::PackIngest(ChunkStore* chunks, Tier* tier, int64_t tenant, uint64_t pack_target_bytes,
                       std::function<absl::Status(uint64_t)> charge)
    : chunks_(chunks),
      tier_(tier),
      tenant_(tenant),
      pack_target_bytes_(pack_target_bytes),
      charge_(std::move(charge)) {}

PackIngest::~PackIngest() {
  if (claims_ != nullptr) claims_->ReleaseJob(claims_job_);
}

void PackIngest::TrackClaims(ChunkClaims* claims, absl::string_view job) {
  claims_ = claims;
  claims_job_ = std::string(job);
}

absl::Status PackIngest::Add(absl::string_view id, uint32_t raw_size, absl::string_view sealed,
                             absl::string_view base_id) {
  return Add(id, raw_size, absl::MakeConstSpan(&sealed, 1), base_id);
}

absl::Status PackIngest::Add(absl::string_view id, uint32_t raw_size,
                             absl::Span<const absl::string_view> sealed, absl::string_view base_id,
                             ChunkBytesCheck* check) {
  RETURN_IF_ERROR(failed_);
  if (claims_ != nullptr) claims_->Touch(claims_job_);
  absl::Status status = AddOrFail(id, raw_size, sealed, base_id, check);
  if (!status.ok()) failed_ = status;
  return status;
}

absl::Status PackIngest::AddOrFail(absl::string_view id, uint32_t raw_size,
                                   absl::Span<const absl::string_view> sealed,
                                   absl::string_view base_id, ChunkBytesCheck* check) {
  uint64_t sealed_bytes = 0;
  for (absl::string_view piece : sealed) sealed_bytes += piece.size();
  if (id.size() != kChunkIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk id must be ", kChunkIdBytes, " bytes, got ", id.size()));
  }
  if (raw_size > kMaxChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat("chunk ", HexOf(id), " claims ", raw_size,
                                                   " plaintext bytes; the maximum is ",
                                                   kMaxChunkBytes));
  }
  if (sealed_bytes == 0 || sealed_bytes > kMaxSealedChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat("sealed chunk ", HexOf(id), " is ", sealed_bytes,
                                                   " bytes; allowed 1 to ", kMaxSealedChunkBytes));
  }
  if (in_open_pack_.contains(id)) {
    if (check != nullptr) {
      for (absl::string_view piece : sealed) check->Update(piece);
      RETURN_IF_ERROR(check->Verify());
    }
    ++stats_.chunks_already_present;
    return absl::OkStatus();
  }
  std::optional<ChunkId> base;
  if (!base_id.empty()) RETURN_IF_ERROR(CheckBase(id, base_id, &base));
  if (charge_) RETURN_IF_ERROR(charge_(sealed_bytes));
  if (pack_ == nullptr) {
    ASSIGN_OR_RETURN(pack_, PackWriter::Create(tier_));
  }
  ChunkId chunk_id;
  std::memcpy(chunk_id.data(), id.data(), kChunkIdBytes);
  std::function<void(absl::string_view)> visit;
  if (check != nullptr) visit = [check](absl::string_view piece) { check->Update(piece); };
  ASSIGN_OR_RETURN(PackEntry entry, pack_->Add(chunk_id, raw_size, sealed, base, visit));
  // Refused: the pack holds the bytes but the ingest is failed now, so it is
  // never committed and the chunk never recorded.
  if (check != nullptr) RETURN_IF_ERROR(check->Verify());
  pending_.push_back(
      StoredChunk{std::string(id), entry.offset, entry.length, raw_size, 0, std::string(base_id)});
  in_open_pack_.insert(std::string(id));
  // Tiny chunks can fill a pack's index long before its byte target.
  if (pack_->Full(pack_target_bytes_)) return SealPack();
  return absl::OkStatus();
}

absl::Status PackIngest::CheckBase(absl::string_view id, absl::string_view base_id,
                                   std::optional<ChunkId>* base) {
  if (base_id.size() != kChunkIdBytes || base_id == id) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk ", HexOf(id), ": a delta's base is another chunk's 32-byte id, got ",
                     base_id.size(), " bytes", base_id == id ? " (the chunk itself)" : ""));
  }
  // The agent was told the base is usable (FindMissingChunks, through the GC
  // guard, so a collection keeps it); checked again so a row never names a
  // base that is not there or a chain longer than kMaxDeltaDepth.
  const std::string self(id);
  ASSIGN_OR_RETURN(std::vector<bool> replacing,
                   chunks_->HasRows(tenant_, absl::MakeConstSpan(&self, 1)));
  if (replacing[0]) {
    return absl::FailedPreconditionError(
        absl::StrCat("chunk ", HexOf(id),
                     " replaces a stored copy and must be stored whole, not as a delta "
                     "(FindMissingChunks offers no base for it)"));
  }
  const std::string one(base_id);
  ASSIGN_OR_RETURN(std::vector<std::optional<int>> depth,
                   chunks_->ChainDepths(tenant_, absl::MakeConstSpan(&one, 1)));
  if (!depth[0].has_value() || *depth[0] >= kMaxDeltaDepth) {
    return absl::FailedPreconditionError(absl::StrCat(
        "chunk ", HexOf(id), " is a delta of chunk ", HexOf(base_id), ", which ",
        depth[0].has_value() ? "already ends a chain of the longest length" : "is not stored",
        "; ask FindMissingChunks which bases are usable"));
  }
  base->emplace();
  std::memcpy((*base)->data(), base_id.data(), kChunkIdBytes);
  return absl::OkStatus();
}

absl::Status PackIngest::Finish() {
  RETURN_IF_ERROR(failed_);
  if (pack_ == nullptr) return absl::OkStatus();
  absl::Status status = SealPack();
  if (!status.ok()) failed_ = status;
  return status;
}

absl::Status PackIngest::SealPack() {
  RETURN_IF_ERROR(pack_->Commit());
  // The pack is durable; now it may be referenced.
  ASSIGN_OR_RETURN(uint64_t added, chunks_->AddPack(tenant_, tier_->name(), pack_->name(),
                                                    pack_->size(), pending_));
  if (claims_ != nullptr) {
    std::vector<std::string> ids;
    ids.reserve(pending_.size());
    for (const StoredChunk& c : pending_) ids.push_back(c.id);
    claims_->Stored(tenant_, ids);
  }
  stats_.chunks_stored += added;
  stats_.chunks_already_present += pending_.size() - added;
  stats_.bytes_stored += pack_->size();
  ++stats_.packs;
  pack_.reset();
  pending_.clear();
  in_open_pack_.clear();
  return absl::OkStatus();
}

}  // namespace cairn

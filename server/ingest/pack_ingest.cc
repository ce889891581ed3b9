#include "server/ingest/pack_ingest.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {

std::string NewPackName() {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof(bytes));
  return absl::StrCat(
      "pack-", absl::ToUnixMillis(absl::Now()), "-",
      HexOf(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

PackIngest::PackIngest(Catalog* catalog, Tier* tier, int64_t tenant,
                       uint64_t pack_target_bytes)
    : catalog_(catalog), tier_(tier), tenant_(tenant), pack_target_bytes_(pack_target_bytes) {}

// An unfinished pack is discarded with its writer.
PackIngest::~PackIngest() = default;

absl::Status PackIngest::Add(absl::string_view id, uint32_t raw_size,
                             absl::string_view sealed) {
  RETURN_IF_ERROR(failed_);
  if (id.size() != kChunkIdBytes) {
    return failed_ = absl::InvalidArgumentError(
               absl::StrCat("chunk id must be ", kChunkIdBytes, " bytes, got ", id.size()));
  }
  if (raw_size > kMaxChunkBytes) {
    return failed_ = absl::InvalidArgumentError(
               absl::StrCat("chunk ", HexOf(id), " claims ", raw_size,
                            " plaintext bytes; the maximum is ", kMaxChunkBytes));
  }
  if (sealed.empty() || sealed.size() > kMaxSealedChunkBytes) {
    return failed_ = absl::InvalidArgumentError(absl::StrCat(
               "sealed chunk ", HexOf(id), " is ", sealed.size(), " bytes; allowed 1 to ",
               kMaxSealedChunkBytes));
  }
  if (in_open_pack_.contains(id)) {
    ++stats_.chunks_already_present;
    return absl::OkStatus();
  }
  if (writer_ == nullptr) {
    absl::Status status = OpenPack();
    if (!status.ok()) return failed_ = status;
  }
  ChunkId chunk_id;
  std::memcpy(chunk_id.data(), id.data(), kChunkIdBytes);
  PackEntry entry = builder_->Add(chunk_id, raw_size, sealed);
  absl::Status status = writer_->Append(sealed);
  if (!status.ok()) return failed_ = status;
  pending_.push_back(StoredChunk{std::string(id), entry.offset, entry.length, raw_size});
  in_open_pack_.insert(std::string(id));
  // Tiny chunks can fill a pack's index long before its byte target.
  if (builder_->size() >= pack_target_bytes_ || builder_->full()) {
    status = SealPack();
    if (!status.ok()) return failed_ = status;
  }
  return absl::OkStatus();
}

absl::Status PackIngest::Finish() {
  RETURN_IF_ERROR(failed_);
  if (writer_ != nullptr) {
    absl::Status status = SealPack();
    if (!status.ok()) return failed_ = status;
  }
  return absl::OkStatus();
}

absl::Status PackIngest::OpenPack() {
  pack_name_ = NewPackName();
  ASSIGN_OR_RETURN(writer_, tier_->Create(pack_name_));
  builder_ = std::make_unique<PackBuilder>();
  return writer_->Append(PackBuilder::Header());
}

absl::Status PackIngest::SealPack() {
  RETURN_IF_ERROR(writer_->Append(builder_->Finish()));
  RETURN_IF_ERROR(writer_->Commit());
  uint64_t size = writer_->size();
  // The pack is durable; now it may be referenced.
  ASSIGN_OR_RETURN(uint64_t added,
                   catalog_->chunks().AddPack(tenant_, tier_->name(), pack_name_, size, pending_));
  stats_.chunks_stored += added;
  stats_.chunks_already_present += pending_.size() - added;
  stats_.bytes_stored += size;
  ++stats_.packs;
  writer_.reset();
  builder_.reset();
  pending_.clear();
  in_open_pack_.clear();
  return absl::OkStatus();
}

}  // namespace cairn

// Writes one pack object to a tier: the header, sealed blobs one after the
// other, then the index and footer, and commits the object (durable when
// Commit returns). Used by ingest (chunks arriving from agents) and by
// compaction (live chunks copied out of sparse packs). A writer that failed
// once stays failed; dropping an uncommitted writer discards the object.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<PackWriter> pack, PackWriter::Create(tier));
//   ASSIGN_OR_RETURN(PackEntry entry, pack->Add(id, raw_size, sealed));
//   RETURN_IF_ERROR(pack->Commit());  // now pack->name() may be catalogued
#ifndef CAIRN_SERVER_INGEST_PACK_WRITER_H_
#define CAIRN_SERVER_INGEST_PACK_WRITER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/pack_format.h"
#include "server/tiers/tier.h"

namespace cairn {

class PackWriter final {
 public:
  // Starts a pack under a new unique name on `tier`.
  static absl::StatusOr<std::unique_ptr<PackWriter>> Create(Tier* tier);
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends one sealed blob; its place in the pack.
  absl::StatusOr<PackEntry> Add(const ChunkId& id, uint32_t raw_size, absl::string_view sealed,
                                const std::optional<ChunkId>& base = std::nullopt);
  // The same for a blob given as consecutive pieces, each checksummed and
  // written out in one pass while it is in cache; `visit`, when set, sees
  // each piece in that pass too (the data port's tag check).
  absl::StatusOr<PackEntry> Add(const ChunkId& id, uint32_t raw_size,
                                absl::Span<const absl::string_view> pieces,
                                const std::optional<ChunkId>& base = std::nullopt,
                                const std::function<void(absl::string_view)>& visit = nullptr);
  // Writes the index and footer and makes the object durable.
  absl::Status Commit();

  // Whether the pack has reached `target_bytes` or its entry limit.
  bool Full(uint64_t target_bytes) const {
    return builder_.size() >= target_bytes || builder_.full();
  }
  size_t entry_count() const { return builder_.entry_count(); }
  // Bytes of the object so far (after Commit: its final size).
  uint64_t size() const { return writer_->size(); }
  const std::string& name() const { return name_; }
  Tier* tier() const { return tier_; }

 private:
  PackWriter(Tier* tier, std::string name, std::unique_ptr<TierWriter> writer)
      : tier_(tier), name_(std::move(name)), writer_(std::move(writer)) {}
  absl::Status Fail(absl::Status status);

  Tier* tier_;
  std::string name_;
  std::unique_ptr<TierWriter> writer_;
  PackBuilder builder_;
  absl::Status failed_;
};

// A new, unique pack object name: "pack-<unix ms>-<24 hex digits>".
std::string NewPackName();

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_PACK_WRITER_H_

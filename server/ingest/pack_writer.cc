#include "server/ingest/pack_writer.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/status_macros.h"

namespace cairn {

std::string NewPackName() {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof(bytes));
  return absl::StrCat(
      "pack-", absl::ToUnixMillis(absl::Now()), "-",
      HexOf(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

absl::StatusOr<std::unique_ptr<PackWriter>> PackWriter::Create(Tier* tier) {
  std::string name = NewPackName();
  ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> writer, tier->Create(name));
  RETURN_IF_ERROR(writer->Append(PackBuilder::Header()));
  return std::unique_ptr<PackWriter>(new PackWriter(tier, std::move(name), std::move(writer)));
}

absl::Status PackWriter::Fail(absl::Status status) {
  failed_ = status;
  return status;
}

absl::StatusOr<PackEntry> PackWriter::Add(const ChunkId& id, uint32_t raw_size,
                                          absl::string_view sealed,
                                          const std::optional<ChunkId>& base) {
  return Add(id, raw_size, absl::MakeConstSpan(&sealed, 1), base);
}

absl::StatusOr<PackEntry> PackWriter::Add(const ChunkId& id, uint32_t raw_size,
                                          absl::Span<const absl::string_view> pieces,
                                          const std::optional<ChunkId>& base,
                                          const std::function<void(absl::string_view)>& visit) {
  RETURN_IF_ERROR(failed_);
  uint64_t length = 0;
  for (absl::string_view piece : pieces) length += piece.size();
  // Checked before the bytes go out: a refused blob leaves the pack as it was.
  RETURN_IF_ERROR(builder_.CanAdd(id, raw_size, length, base));
  // One pass: each piece is seen, checksummed and appended while in cache.
  PackChecksummer checksum(builder_.kind());
  for (absl::string_view piece : pieces) {
    if (visit) visit(piece);
    checksum.Update(piece);
    absl::Status appended = writer_->Append(piece);
    if (!appended.ok()) return Fail(std::move(appended));
  }
  return builder_.AddChecked(id, raw_size, length, checksum.Finish(), base);
}

absl::Status PackWriter::Commit() {
  RETURN_IF_ERROR(failed_);
  absl::Status status = writer_->Append(builder_.Finish());
  if (status.ok()) status = writer_->Commit();
  if (!status.ok()) return Fail(std::move(status));
  return absl::OkStatus();
}

}  // namespace cairn

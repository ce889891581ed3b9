// The pack file format: many sealed chunks (blobs) in one file, with an index
// and a footer at the end so a reader finds any blob with two small reads and
// the server can verify a pack on its own, without any data key.
//
//   "CAIRNPK1" | blob | blob | ... | index (kPackIndexEntrySize per blob) | footer
//
// Index entry: chunk id (32) | offset u64 | length u32 | raw size u32 | checksum (16)
//              [| base chunk id (32), all zero for none: packs whose footer ends "...D"]
// Footer:      index offset u64 | entry count u32 | index checksum (16) | magic (8)
//
// The footer's magic says the checksum and the entry size:
//   "CAIRNPXE"  XXH3-128 checksums, 64-byte entries        (written today)
//   "CAIRNPXD"  XXH3-128 checksums, 96-byte entries (bases) (written today)
//   "CAIRNPKE"  BLAKE2b-128 checksums, 64-byte entries      (read only: older packs)
//   "CAIRNPKD"  BLAKE2b-128 checksums, 96-byte entries      (read only: older packs)
// A pack holding any checkpoint delta (common/delta_codec.h) records each
// blob's base chunk in its index, so the catalog can be rebuilt from the packs
// with the chains that keep bases alive; others keep 64-byte entries.
// Integers are little-endian. A checksum covers the blob for an entry, the
// whole index for the footer. It detects damage (bit rot, torn or misplaced
// writes), not tampering: every blob is sealed with an AEAD whose tag the
// agent checks, so the pack checksum needs no cryptographic strength and is
// XXH3-128 (libxxhash, ~20 GB/s) rather than BLAKE2b (~1 GB/s, 0.8 ns of
// server CPU per ingested byte).
//
// Writing: out << PackBuilder::Header(); for each blob: builder.Add(...), out << blob;
//          out << builder.Finish().
// Reading: DecodePackFooter(last kPackFooterSize bytes) -> read the index ->
//          DecodePackIndex -> read a blob -> VerifyBlob.
#ifndef CAIRN_COMMON_PACK_FORMAT_H_
#define CAIRN_COMMON_PACK_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace cairn {

// Same alias as common/chunk_id.h (identical alias redeclarations are legal).
using ChunkId = std::array<uint8_t, 32>;

using PackChecksum = std::array<uint8_t, 16>;

// The checksum a pack's entries and index carry; its footer magic names it.
enum class PackChecksumKind : uint8_t {
  kXxh3_128,     // XXH3-128, canonical (big-endian) bytes: every pack written today
  kBlake2b_128,  // unkeyed BLAKE2b-128: packs written before XXH3, still read
};

struct PackEntry {
  ChunkId id;
  uint64_t offset;    // from the start of the pack file
  uint32_t length;    // bytes of the sealed blob
  uint32_t raw_size;  // plaintext size before compression, for the catalog and buffer sizing
  PackChecksum checksum;
  // The chunk a delta blob decodes against (common/delta_codec.h).
  std::optional<ChunkId> base;
  // How `checksum` was computed (the pack's footer says).
  PackChecksumKind checksum_kind = PackChecksumKind::kXxh3_128;
};

inline constexpr size_t kPackHeaderSize = 8;
inline constexpr size_t kPackIndexEntrySize = 32 + 8 + 4 + 4 + 16;            // 64
inline constexpr size_t kPackDeltaIndexEntrySize = kPackIndexEntrySize + 32;  // 96
inline constexpr size_t kPackFooterSize = 8 + 4 + 16 + 8;                     // 36
inline constexpr uint32_t kMaxPackEntries = 1 << 20;
// A sealed 16 MiB chunk plus generous room for framing and the AEAD tag. Also
// the bound on raw_size, so readers may allocate from it.
inline constexpr uint32_t kMaxBlobSize = (16 << 20) + 1024;

// Tracks the index of a pack being written; the caller writes the bytes. Not
// thread-safe. Call Finish() once, at the end.
class PackBuilder final {
 public:
  // `kind` is for tests of older packs; everything cairn writes uses the default.
  explicit PackBuilder(PackChecksumKind kind = PackChecksumKind::kXxh3_128) : kind_(kind) {}
  PackBuilder(const PackBuilder&) = delete;
  PackBuilder& operator=(const PackBuilder&) = delete;

  // The 8 bytes every pack starts with.
  static std::string Header();

  // Records `blob` at the current end (offset = size()) and computes its
  // checksum. InvalidArgument (and nothing recorded) unless 0 < blob.size() <=
  // kMaxBlobSize and raw_size <= kMaxBlobSize; ResourceExhausted when the
  // pack already holds kMaxPackEntries blobs: a reader would refuse such a pack.
  // `base` names the chunk a delta blob decodes against (never all zero).
  absl::StatusOr<PackEntry> Add(const ChunkId& id, uint32_t raw_size, absl::string_view blob,
                                const std::optional<ChunkId>& base = std::nullopt);
  // The same for a blob given as consecutive pieces (gRPC's received slices).
  absl::StatusOr<PackEntry> Add(const ChunkId& id, uint32_t raw_size,
                                absl::Span<const absl::string_view> pieces,
                                const std::optional<ChunkId>& base = std::nullopt);

  // Add in two steps, for a writer that checksums a blob in the same pass
  // that writes it out: whether a blob of `length` bytes may be added (Add's
  // checks; nothing recorded), then, once its bytes are out, recording it
  // with the checksum the caller computed (PackChecksummer of kind()).
  absl::Status CanAdd(const ChunkId& id, uint32_t raw_size, uint64_t length,
                      const std::optional<ChunkId>& base) const;
  PackEntry AddChecked(const ChunkId& id, uint32_t raw_size, uint64_t length,
                       const PackChecksum& checksum, const std::optional<ChunkId>& base);
  PackChecksumKind kind() const { return kind_; }

  // Bytes written so far: the header plus every blob added.
  uint64_t size() const { return size_; }
  size_t entry_count() const { return entries_.size(); }
  bool full() const { return entries_.size() >= kMaxPackEntries; }
  const std::vector<PackEntry>& entries() const { return entries_; }

  // The index and footer bytes to append after the last blob.
  std::string Finish() const;

 private:
  PackChecksumKind kind_;
  uint64_t size_ = kPackHeaderSize;
  std::vector<PackEntry> entries_;
};

struct PackFooter {
  uint64_t index_offset;
  uint32_t entry_count;
  size_t entry_size = kPackIndexEntrySize;  // kPackDeltaIndexEntrySize for "...D" magics
  PackChecksumKind checksum_kind = PackChecksumKind::kXxh3_128;
};

// DataLoss unless `header` is the pack magic.
absl::Status VerifyPackHeader(absl::string_view header);

// Decodes the last kPackFooterSize bytes of a pack of `file_size` bytes.
// DataLoss with a clear message when: the file cannot hold a header and a
// footer, the magic is wrong, entry_count > kMaxPackEntries, or the index does
// not start at or after the header and end exactly where the footer starts
// with exactly entry_count entries. InvalidArgument if `footer` has the wrong size.
// After OK, the index is (file_size - kPackFooterSize - index_offset) bytes,
// at most kMaxPackEntries * kPackDeltaIndexEntrySize (96 MiB).
absl::StatusOr<PackFooter> DecodePackFooter(absl::string_view footer, uint64_t file_size);

// Decodes the index bytes [footer.index_offset, footer start). DataLoss when
// the index checksum (kept in `footer_bytes`) does not match, or an entry lies
// outside [kPackHeaderSize, index_offset), has length 0 or above kMaxBlobSize,
// raw_size above kMaxBlobSize, or overlaps or precedes the entry before it.
// InvalidArgument if `index`/`footer_bytes` do not match `footer`.
absl::StatusOr<std::vector<PackEntry>> DecodePackIndex(absl::string_view index,
                                                       const PackFooter& footer,
                                                       absl::string_view footer_bytes);

// DataLoss naming the chunk id (hex) when `blob` is not what `entry` describes.
absl::Status VerifyBlob(const PackEntry& entry, absl::string_view blob);

// The checksum of bytes given piece by piece (the same as PackChecksumOf of
// their concatenation).
class PackChecksummer final {
 public:
  explicit PackChecksummer(PackChecksumKind kind);
  ~PackChecksummer();
  PackChecksummer(const PackChecksummer&) = delete;
  PackChecksummer& operator=(const PackChecksummer&) = delete;
  void Update(absl::string_view piece);
  PackChecksum Finish();

 private:
  PackChecksumKind kind_;
  void* xxh3_ = nullptr;  // XXH3_state_t
  void* b2_ = nullptr;    // crypto_generichash_state (64-byte aligned)
};

// The checksum of `bytes` of the given kind.
PackChecksum PackChecksumOf(PackChecksumKind kind, absl::string_view bytes);
// The checksum of the concatenation of `pieces`.
PackChecksum PackChecksumOf(PackChecksumKind kind, absl::Span<const absl::string_view> pieces);

}  // namespace cairn

#endif  // CAIRN_COMMON_PACK_FORMAT_H_

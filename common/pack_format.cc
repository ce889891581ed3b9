#include "common/pack_format.h"

#include <sodium.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/le_coding.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr char kHeaderMagic[] = "CAIRNPK1";
constexpr size_t kMagicSize = 8;
static_assert(sizeof(kHeaderMagic) - 1 == kPackHeaderSize);
static_assert(crypto_generichash_BYTES_MIN == sizeof(PackChecksum));
static_assert(sizeof(XXH128_canonical_t) == sizeof(PackChecksum));

// The four footer magics: checksum kind x entry size ("D": entries carry base ids).
struct FooterMagic {
  const char* magic;
  PackChecksumKind kind;
  bool with_bases;
};
constexpr FooterMagic kFooterMagics[] = {
    {"CAIRNPXE", PackChecksumKind::kXxh3_128, false},
    {"CAIRNPXD", PackChecksumKind::kXxh3_128, true},
    {"CAIRNPKE", PackChecksumKind::kBlake2b_128, false},
    {"CAIRNPKD", PackChecksumKind::kBlake2b_128, true},
};

const FooterMagic* FindFooterMagic(absl::string_view magic) {
  for (const FooterMagic& m : kFooterMagics) {
    if (magic == absl::string_view(m.magic, kMagicSize)) return &m;
  }
  return nullptr;
}

absl::string_view FooterMagicFor(PackChecksumKind kind, bool with_bases) {
  for (const FooterMagic& m : kFooterMagics) {
    if (m.kind == kind && m.with_bases == with_bases) return absl::string_view(m.magic, kMagicSize);
  }
  return {};  // unreachable: the table covers every pair
}

// Footer field offsets.
constexpr size_t kFooterIndexOffsetAt = 0;
constexpr size_t kFooterEntryCountAt = 8;
constexpr size_t kFooterChecksumAt = 12;
constexpr size_t kFooterMagicAt = 28;
static_assert(kFooterMagicAt + kMagicSize == kPackFooterSize);

template <size_t N>
void PutBytes(const std::array<uint8_t, N>& bytes, std::string* out) {
  out->append(reinterpret_cast<const char*>(bytes.data()), N);
}

template <size_t N>
std::array<uint8_t, N> GetBytes(const char* p) {
  std::array<uint8_t, N> bytes;
  std::memcpy(bytes.data(), p, N);
  return bytes;
}

std::string Hex(const ChunkId& id) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
}

}  // namespace

PackChecksum PackChecksumOf(PackChecksumKind kind, absl::string_view bytes) {
  return PackChecksumOf(kind, absl::MakeConstSpan(&bytes, 1));
}

PackChecksum PackChecksumOf(PackChecksumKind kind, absl::Span<const absl::string_view> pieces) {
  if (kind == PackChecksumKind::kXxh3_128 && pieces.size() == 1) {
    PackChecksum sum;
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits(pieces[0].data(), pieces[0].size()));
    std::memcpy(sum.data(), canonical.digest, sum.size());
    return sum;
  }
  PackChecksummer checksum(kind);
  for (absl::string_view piece : pieces) checksum.Update(piece);
  return checksum.Finish();
}

std::string PackBuilder::Header() { return std::string(kHeaderMagic, kPackHeaderSize); }

absl::StatusOr<PackEntry> PackBuilder::Add(const ChunkId& id, uint32_t raw_size,
                                           absl::string_view blob,
                                           const std::optional<ChunkId>& base) {
  return Add(id, raw_size, absl::MakeConstSpan(&blob, 1), base);
}

absl::StatusOr<PackEntry> PackBuilder::Add(const ChunkId& id, uint32_t raw_size,
                                           absl::Span<const absl::string_view> pieces,
                                           const std::optional<ChunkId>& base) {
  uint64_t length = 0;
  for (absl::string_view piece : pieces) length += piece.size();
  RETURN_IF_ERROR(CanAdd(id, raw_size, length, base));
  return AddChecked(id, raw_size, length, PackChecksumOf(kind_, pieces), base);
}

absl::Status PackBuilder::CanAdd(const ChunkId& id, uint32_t raw_size, uint64_t length,
                                 const std::optional<ChunkId>& base) const {
  if (base.has_value() && *base == ChunkId{}) {
    return absl::InvalidArgumentError(
        absl::StrCat("pack blob of chunk ", Hex(id), ": an all-zero base id means none"));
  }
  if (length == 0 || length > kMaxBlobSize || raw_size > kMaxBlobSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("pack blob of chunk ", Hex(id), ": ", length, " sealed bytes for ", raw_size,
                     " plaintext bytes; a blob holds 1 to ", kMaxBlobSize));
  }
  if (full()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a pack holds at most ", kMaxPackEntries, " blobs"));
  }
  return absl::OkStatus();
}

PackEntry PackBuilder::AddChecked(const ChunkId& id, uint32_t raw_size, uint64_t length,
                                  const PackChecksum& checksum,
                                  const std::optional<ChunkId>& base) {
  PackEntry entry{id, size_, static_cast<uint32_t>(length), raw_size, checksum, base, kind_};
  entries_.push_back(entry);
  size_ += length;
  return entry;
}

PackChecksummer::PackChecksummer(PackChecksumKind kind) : kind_(kind) {
  if (kind_ == PackChecksumKind::kXxh3_128) {
    XXH3_state_t* state = XXH3_createState();
    if (state == nullptr) std::abort();  // out of memory, as operator new would
    XXH3_128bits_reset(state);
    xxh3_ = state;
    return;
  }
  static const bool sodium_ready = sodium_init() >= 0;
  (void)sodium_ready;
  auto* state = new crypto_generichash_state;  // aligned new: the type asks for 64
  crypto_generichash_init(state, nullptr, 0, PackChecksum().size());
  b2_ = state;
}

PackChecksummer::~PackChecksummer() {
  if (xxh3_ != nullptr) XXH3_freeState(static_cast<XXH3_state_t*>(xxh3_));
  delete static_cast<crypto_generichash_state*>(b2_);
}

void PackChecksummer::Update(absl::string_view piece) {
  if (xxh3_ != nullptr) {
    XXH3_128bits_update(static_cast<XXH3_state_t*>(xxh3_), piece.data(), piece.size());
    return;
  }
  crypto_generichash_update(static_cast<crypto_generichash_state*>(b2_),
                            reinterpret_cast<const unsigned char*>(piece.data()), piece.size());
}

PackChecksum PackChecksummer::Finish() {
  PackChecksum sum;
  if (xxh3_ != nullptr) {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(static_cast<XXH3_state_t*>(xxh3_)));
    std::memcpy(sum.data(), canonical.digest, sum.size());
    return sum;
  }
  crypto_generichash_final(static_cast<crypto_generichash_state*>(b2_), sum.data(), sum.size());
  return sum;
}

std::string PackBuilder::Finish() const {
  const bool with_bases = std::any_of(entries_.begin(), entries_.end(),
                                      [](const PackEntry& e) { return e.base.has_value(); });
  std::string out;
  out.reserve(entries_.size() * (with_bases ? kPackDeltaIndexEntrySize : kPackIndexEntrySize) +
              kPackFooterSize);
  for (const PackEntry& e : entries_) {
    PutBytes(e.id, &out);
    AppendLe64(e.offset, &out);
    AppendLe32(e.length, &out);
    AppendLe32(e.raw_size, &out);
    PutBytes(e.checksum, &out);
    if (with_bases) PutBytes(e.base.value_or(ChunkId{}), &out);
  }
  PackChecksum index_sum = PackChecksumOf(kind_, out);
  AppendLe64(size_, &out);
  AppendLe32(static_cast<uint32_t>(entries_.size()), &out);
  PutBytes(index_sum, &out);
  absl::StrAppend(&out, FooterMagicFor(kind_, with_bases));
  return out;
}

absl::Status VerifyPackHeader(absl::string_view header) {
  if (header != absl::string_view(kHeaderMagic, kPackHeaderSize)) {
    return absl::DataLossError(absl::StrCat("pack header is \"", absl::CHexEscape(header),
                                            "\", expected \"", kHeaderMagic, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<PackFooter> DecodePackFooter(absl::string_view footer, uint64_t file_size) {
  if (file_size < kPackHeaderSize + kPackFooterSize) {
    return absl::DataLossError(absl::StrCat("pack is ", file_size,
                                            " bytes, too short for a header and a footer (",
                                            kPackHeaderSize + kPackFooterSize, ")"));
  }
  if (footer.size() != kPackFooterSize) {
    return absl::InvalidArgumentError(absl::StrCat("pack footer buffer is ", footer.size(),
                                                   " bytes, expected ", kPackFooterSize));
  }
  absl::string_view magic = footer.substr(kFooterMagicAt, kMagicSize);
  const FooterMagic* known = FindFooterMagic(magic);
  if (known == nullptr) {
    return absl::DataLossError(absl::StrCat("pack footer magic is \"", absl::CHexEscape(magic),
                                            "\", expected CAIRNPXE, CAIRNPXD, CAIRNPKE or "
                                            "CAIRNPKD (truncated or not a pack)"));
  }
  PackFooter out{LoadLe64(footer.data() + kFooterIndexOffsetAt),
                 LoadLe32(footer.data() + kFooterEntryCountAt),
                 known->with_bases ? kPackDeltaIndexEntrySize : kPackIndexEntrySize, known->kind};
  if (out.entry_count > kMaxPackEntries) {
    return absl::DataLossError(absl::StrCat("pack footer claims ", out.entry_count,
                                            " entries, over the limit of ", kMaxPackEntries));
  }
  const uint64_t index_end = file_size - kPackFooterSize;
  if (out.index_offset < kPackHeaderSize || out.index_offset > index_end) {
    return absl::DataLossError(absl::StrCat("pack index offset ", out.index_offset, " is outside [",
                                            kPackHeaderSize, ", ", index_end, "] for a pack of ",
                                            file_size, " bytes"));
  }
  // entry_count <= 2^20, so the product cannot overflow.
  const uint64_t expected = uint64_t{out.entry_count} * out.entry_size;
  if (index_end - out.index_offset != expected) {
    return absl::DataLossError(absl::StrCat("pack index spans ", index_end - out.index_offset,
                                            " bytes (offset ", out.index_offset, " to ", index_end,
                                            ") but ", out.entry_count, " entries need ", expected));
  }
  return out;
}

absl::StatusOr<std::vector<PackEntry>> DecodePackIndex(absl::string_view index,
                                                       const PackFooter& footer,
                                                       absl::string_view footer_bytes) {
  if (footer.entry_count > kMaxPackEntries ||
      (footer.entry_size != kPackIndexEntrySize && footer.entry_size != kPackDeltaIndexEntrySize)) {
    return absl::InvalidArgumentError("pack footer was not decoded by DecodePackFooter");
  }
  if (index.size() != uint64_t{footer.entry_count} * footer.entry_size) {
    return absl::InvalidArgumentError(absl::StrCat("pack index buffer is ", index.size(),
                                                   " bytes but the footer has ", footer.entry_count,
                                                   " entries"));
  }
  if (footer_bytes.size() != kPackFooterSize ||
      LoadLe64(footer_bytes.data() + kFooterIndexOffsetAt) != footer.index_offset ||
      LoadLe32(footer_bytes.data() + kFooterEntryCountAt) != footer.entry_count ||
      footer_bytes.substr(kFooterMagicAt) !=
          FooterMagicFor(footer.checksum_kind, footer.entry_size == kPackDeltaIndexEntrySize)) {
    return absl::InvalidArgumentError("pack footer bytes do not match the decoded footer");
  }
  if (PackChecksumOf(footer.checksum_kind, index) !=
      GetBytes<16>(footer_bytes.data() + kFooterChecksumAt)) {
    return absl::DataLossError(
        absl::StrCat("pack index checksum mismatch (", footer.entry_count, " entries)"));
  }
  std::vector<PackEntry> entries;
  entries.reserve(footer.entry_count);
  uint64_t previous_end = kPackHeaderSize;
  for (uint32_t i = 0; i < footer.entry_count; ++i) {
    const char* p = index.data() + size_t{i} * footer.entry_size;
    PackEntry e{GetBytes<32>(p),      LoadLe64(p + 32), LoadLe32(p + 40),    LoadLe32(p + 44),
                GetBytes<16>(p + 48), std::nullopt,     footer.checksum_kind};
    if (footer.entry_size == kPackDeltaIndexEntrySize) {
      ChunkId base = GetBytes<32>(p + kPackIndexEntrySize);
      if (base != ChunkId{}) e.base = base;
    }
    auto bad = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrCat("pack index entry ", i, " (chunk ", Hex(e.id),
                                              ", offset ", e.offset, ", length ", e.length,
                                              "): ", why));
    };
    if (e.length == 0) return bad("length is 0");
    if (e.length > kMaxBlobSize) return bad(absl::StrCat("length over the limit ", kMaxBlobSize));
    if (e.raw_size > kMaxBlobSize) {
      return bad(absl::StrCat("raw size ", e.raw_size, " over the limit ", kMaxBlobSize));
    }
    if (e.offset < previous_end) {
      return bad(i == 0 ? absl::StrCat("starts inside the header")
                        : absl::StrCat("overlaps or precedes the previous entry, which ends at ",
                                       previous_end));
    }
    // Compared without computing offset + length, which a hostile offset could overflow.
    if (e.offset > footer.index_offset || footer.index_offset - e.offset < e.length) {
      return bad(absl::StrCat("runs past the index at ", footer.index_offset));
    }
    previous_end = e.offset + e.length;
    entries.push_back(e);
  }
  return entries;
}

absl::Status VerifyBlob(const PackEntry& entry, absl::string_view blob) {
  if (blob.size() != entry.length) {
    return absl::DataLossError(absl::StrCat("chunk ", Hex(entry.id), " at pack offset ",
                                            entry.offset, ": blob is ", blob.size(),
                                            " bytes, index says ", entry.length));
  }
  if (PackChecksumOf(entry.checksum_kind, blob) != entry.checksum) {
    return absl::DataLossError(absl::StrCat("chunk ", Hex(entry.id), " at pack offset ",
                                            entry.offset, ": checksum mismatch"));
  }
  return absl::OkStatus();
}

}  // namespace cairn

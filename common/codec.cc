#include "common/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/plane_codec.h"
#include "common/status_macros.h"
#include "common/varint.h"
#include "common/zstd_context.h"

namespace cairn {
namespace {

// Automatic mode (numbers in docs/performance.md): compress a sample from the
// middle of the chunk with zstd level 1; below kMinSavingPercent saved the
// chunk is stored raw (random-looking data: compressed media, encrypted or
// already-compressed files), else the whole chunk is compressed with zstd-1,
// which beat LZ4 on ratio for every compressible kind we measured at a
// compression speed that keeps up with the rest of the pipeline.
constexpr size_t kSampleSize = 64 << 10;
constexpr size_t kMinSavingPercent = 3;
constexpr int kAutomaticZstdLevel = 1;
// A hint's higher zstd level (bundles of small files) keeps zstd-1's
// footprint class: hash and chain tables of 2^17 entries, ~2.5 MiB of
// context per thread where level 9 on 1 MiB would take 12.5 MiB (for 0.4%
// more bytes on training-log text).
constexpr int kHintTableLog = 17;

void AppendStored(absl::string_view raw, std::string* framed) {
  framed->push_back(static_cast<char>(Codec::kNone));
  AppendVarint(raw.size(), framed);
  framed->append(raw.data(), raw.size());
}

// Compresses raw into a buffer of raw.size() - 1 bytes, so output that would
// not be smaller fails fast and costs no extra memory. Returns the payload
// size, or 0 when the codec cannot make the data smaller.
size_t CompressInto(Codec codec, int level, absl::string_view raw, char* out,
                    bool small_tables = false) {
  if (raw.size() < 2) return 0;
  const size_t capacity = raw.size() - 1;
  switch (codec) {
    case Codec::kLz4: {
      if (raw.size() > LZ4_MAX_INPUT_SIZE) return 0;
      int n = LZ4_compress_default(raw.data(), out, static_cast<int>(raw.size()),
                                   static_cast<int>(capacity));
      return n > 0 ? static_cast<size_t>(n) : 0;
    }
    case Codec::kZstd: {
      ZSTD_CCtx* ctx = ThreadZstdCCtx();
      if (ctx == nullptr) return 0;
      if (!small_tables) {
        size_t n = ZSTD_compressCCtx(ctx, out, capacity, raw.data(), raw.size(), level);
        return ZSTD_isError(n) ? 0 : n;
      }
      size_t n = ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level);
      if (!ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(ctx, ZSTD_c_hashLog, kHintTableLog);
      if (!ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(ctx, ZSTD_c_chainLog, kHintTableLog);
      if (!ZSTD_isError(n)) n = ZSTD_compress2(ctx, out, capacity, raw.data(), raw.size());
      // The thread's context goes back to plain levels for the next caller.
      ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters);
      return ZSTD_isError(n) ? 0 : n;
    }
    case Codec::kNone:
    case Codec::kPlanes:  // has its own entry point, EncodePlanes
    case Codec::kDelta:   // common/delta_codec.h
      break;
  }
  return 0;
}

// A sample of at most kSampleSize bytes from the middle of raw, starting
// `head` plus a multiple of `align` bytes into it (an element boundary).
absl::string_view MiddleSample(absl::string_view raw, size_t align = 1, size_t head = 0) {
  if (raw.size() <= kSampleSize + head) return raw.substr(std::min(head, raw.size()));
  size_t start = (raw.size() - kSampleSize) / 2;
  start = start < head ? head : head + (start - head) / align * align;
  return raw.substr(start, kSampleSize);
}

// Percent of a sample (at most kSampleSize bytes) that zstd-1 saves.
size_t ZstdSavingPercent(absl::string_view sample) {
  if (sample.empty()) return 0;
  thread_local std::unique_ptr<char[]> scratch(new char[kSampleSize]);
  size_t n = CompressInto(Codec::kZstd, kAutomaticZstdLevel, sample, scratch.get());
  if (n == 0) return 0;
  return (sample.size() - n) * 100 / sample.size();
}

bool AppendCompressed(Codec codec, int level, size_t min_saving_percent, absl::string_view raw,
                      std::string* framed, bool small_tables = false) {
  if (raw.size() < 2) return false;
  const size_t start = framed->size();
  framed->push_back(static_cast<char>(codec));
  AppendVarint(raw.size(), framed);
  const size_t header_end = framed->size();
  framed->resize(header_end + raw.size() - 1);
  size_t n = CompressInto(codec, level, raw, framed->data() + header_end, small_tables);
  if (n == 0 || (raw.size() - n) * 100 < min_saving_percent * raw.size()) {
    framed->resize(start);
    return false;
  }
  framed->resize(header_end + n);
  return true;
}

// Frames raw as byte planes; false (nothing appended) unless that saves at
// least min_saving_percent.
bool AppendPlanes(const PlaneLayout& layout, size_t min_saving_percent, absl::string_view raw,
                  std::string* framed) {
  const size_t start = framed->size();
  framed->push_back(static_cast<char>(Codec::kPlanes));
  AppendVarint(raw.size(), framed);
  const size_t header = framed->size() - start;
  if (!EncodePlanes(raw, layout, framed)) {
    framed->resize(start);
    return false;
  }
  const size_t n = framed->size() - start - header;
  if ((raw.size() - std::min(n, raw.size())) * 100 < min_saving_percent * raw.size()) {
    framed->resize(start);
    return false;
  }
  return true;
}

// Bytes before the first whole element of a chunk at `offset` in its array.
int HeadFor(uint64_t offset, int width) {
  return static_cast<int>((width - offset % width) % width);
}

// The plane layout for a tensor or integer chunk: the hint's width, or the
// width whose planes a sample says compress best. Unless the format stated
// floats of a width, nullopt when zstd-1 on the sample beats the planes'
// estimate (planes lose the bytes' context within an element; zstd keeps it).
std::optional<PlaneLayout> PickPlaneLayout(absl::string_view raw, const DataHint& hint,
                                           std::optional<size_t>* zstd_saving) {
  const bool floats =
      hint.kind == DataHint::Class::kFloats || hint.kind == DataHint::Class::kMaybeFloats;
  std::optional<PlaneLayout> best;
  double bits = 8.0;
  for (int width : {2, 4}) {
    if (hint.width != 0 && hint.width != width) continue;
    PlaneLayout layout{.width = width, .head = HeadFor(hint.offset, width), .floats = floats};
    if (hint.width != 0 && hint.kind == DataHint::Class::kFloats) return layout;
    // The sample starts at an element boundary: 4 is a multiple of both widths.
    const absl::string_view sample = MiddleSample(raw, 4, layout.head);
    const double b = EstimatePlaneBits(sample, {.width = width, .head = 0, .floats = floats});
    if (b < bits) {
      bits = b;
      best = layout;
    }
  }
  // A width the format did not state is a guess (the classifier's, from a
  // sample of the file): zstd gets its chance too.
  if (!best.has_value()) return best;
  *zstd_saving = ZstdSavingPercent(MiddleSample(raw));  // kept for the zstd path
  const double zstd_bits = 8.0 * (100 - **zstd_saving) / 100.0;
  if (bits >= zstd_bits) return std::nullopt;
  return best;
}

absl::Status DecompressPayload(Codec codec, absl::string_view payload, uint64_t length,
                               std::string* raw) {
  switch (codec) {
    case Codec::kPlanes:
      return DecodePlanes(payload, length, raw);
    case Codec::kDelta:
      break;  // refused by DecompressFrame
    case Codec::kNone:
      if (payload.size() != length) {
        return absl::DataLossError(absl::StrCat("codec frame: stored payload has ", payload.size(),
                                                " bytes, header declares ", length));
      }
      raw->assign(payload.data(), payload.size());
      return absl::OkStatus();
    case Codec::kLz4: {
      if (length > INT_MAX || payload.size() > INT_MAX) {
        return absl::DataLossError("codec frame: LZ4 block is larger than LZ4 allows");
      }
      raw->resize(length);
      int n = LZ4_decompress_safe(payload.data(), raw->data(), static_cast<int>(payload.size()),
                                  static_cast<int>(length));
      if (n < 0) {
        return absl::DataLossError(absl::StrCat(
            "codec frame: LZ4 payload is corrupt, truncated or decodes to more than the declared ",
            length, " bytes"));
      }
      if (static_cast<uint64_t>(n) != length) {
        return absl::DataLossError(absl::StrCat("codec frame: LZ4 payload decodes to ", n,
                                                " bytes, header declares ", length));
      }
      return absl::OkStatus();
    }
    case Codec::kZstd: {
      // Exactly one zstd frame and nothing after it: ZSTD_decompressDCtx would
      // otherwise accept further (e.g. empty or skippable) frames.
      size_t frame_size = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
      if (ZSTD_isError(frame_size)) {
        return absl::DataLossError(
            absl::StrCat("codec frame: zstd payload is corrupt: ", ZSTD_getErrorName(frame_size)));
      }
      if (frame_size != payload.size()) {
        return absl::DataLossError(absl::StrCat("codec frame: ", payload.size() - frame_size,
                                                " trailing bytes after the zstd frame"));
      }
      unsigned long long content = ZSTD_getFrameContentSize(payload.data(), payload.size());
      if (content == ZSTD_CONTENTSIZE_ERROR) {
        return absl::DataLossError("codec frame: zstd frame header is corrupt");
      }
      // Refuse a frame that says it expands further than declared before
      // writing anything (a decompression bomb).
      if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != length) {
        return absl::DataLossError(absl::StrCat("codec frame: zstd frame holds ", content,
                                                " bytes, header declares ", length));
      }
      ZSTD_DCtx* ctx = ThreadZstdDCtx();
      if (ctx == nullptr) return absl::ResourceExhaustedError("cannot create a zstd context");
      raw->resize(length);
      size_t n = ZSTD_decompressDCtx(ctx, raw->data(), length, payload.data(), payload.size());
      if (ZSTD_isError(n)) {
        return absl::DataLossError(
            absl::StrCat("codec frame: zstd payload is corrupt or decodes to more than the "
                         "declared ",
                         length, " bytes: ", ZSTD_getErrorName(n)));
      }
      if (n != length) {
        return absl::DataLossError(absl::StrCat("codec frame: zstd payload decodes to ", n,
                                                " bytes, header declares ", length));
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unreachable codec");
}

absl::Status DecompressFrame(absl::string_view framed, size_t max_raw, std::string* raw) {
  if (framed.empty()) return absl::InvalidArgumentError("codec frame is empty");
  const uint8_t codec_byte = static_cast<uint8_t>(framed[0]);
  if (codec_byte == static_cast<uint8_t>(Codec::kDelta)) {
    return absl::InvalidArgumentError(
        "codec frame is a checkpoint delta: it decodes only with its base chunk "
        "(DecompressDelta)");
  }
  if (codec_byte > static_cast<uint8_t>(Codec::kPlanes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("codec frame has unknown codec byte ", codec_byte));
  }
  size_t pos = 1;
  uint64_t length = 0;
  RETURN_IF_ERROR(ReadVarint(framed, &pos, &length));
  if (length > max_raw) {
    return absl::InvalidArgumentError(absl::StrCat("codec frame declares ", length,
                                                   " raw bytes, more than the limit of ", max_raw));
  }
  return DecompressPayload(static_cast<Codec>(codec_byte), framed.substr(pos), length, raw);
}

}  // namespace

absl::StatusOr<CodecChoice> ParseCodec(absl::string_view spec) {
  if (spec == "auto") return CodecChoice{.automatic = true};
  if (spec == "none") return CodecChoice{.automatic = false, .codec = Codec::kNone};
  if (spec == "lz4") return CodecChoice{.automatic = false, .codec = Codec::kLz4};
  if (spec == "zstd") return CodecChoice{.automatic = false, .codec = Codec::kZstd};
  absl::string_view digits = spec;
  int level = 0;
  // SimpleAtoi alone would also take " 5" and "+5".
  if (absl::ConsumePrefix(&digits, "zstd:") && !digits.empty() &&
      digits.find_first_not_of("0123456789") == absl::string_view::npos &&
      absl::SimpleAtoi(digits, &level) && level >= 1 && level <= 19) {
    return CodecChoice{.automatic = false, .codec = Codec::kZstd, .level = level};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown codec \"", spec,
                   "\": expected auto, none, lz4, zstd or zstd:N with N from 1 to 19"));
}

std::string CodecName(const CodecChoice& c) {
  if (c.automatic) return "auto";
  switch (c.codec) {
    case Codec::kNone:
      return "none";
    case Codec::kLz4:
      return "lz4";
    case Codec::kZstd:
      return c.level == 0 ? "zstd" : absl::StrCat("zstd:", c.level);
    case Codec::kPlanes:
      return "planes";
    case Codec::kDelta:
      return "delta";
  }
  return absl::StrCat("codec#", static_cast<int>(c.codec));
}

void Compress(const CodecChoice& choice, absl::string_view raw, std::string* framed,
              const DataHint& hint) {
  if (!choice.automatic) {
    if (choice.codec != Codec::kNone &&
        AppendCompressed(choice.codec, choice.level, 0, raw, framed)) {
      return;
    }
    AppendStored(raw, framed);
    return;
  }
  // What zstd-1 saves on the chunk's middle, once measured.
  std::optional<size_t> zstd_saving;
  switch (hint.kind) {
    case DataHint::Class::kCompressed:
      break;
    case DataHint::Class::kText:
      if (hint.level > 0
              ? AppendCompressed(Codec::kZstd, hint.level, kMinSavingPercent, raw, framed,
                                 /*small_tables=*/true)
              : AppendCompressed(Codec::kZstd, kAutomaticZstdLevel, kMinSavingPercent, raw,
                                 framed)) {
        return;
      }
      break;
    case DataHint::Class::kFloats:
    case DataHint::Class::kMaybeFloats:
    case DataHint::Class::kIntegers: {
      std::optional<PlaneLayout> layout = PickPlaneLayout(raw, hint, &zstd_saving);
      if (layout.has_value() && AppendPlanes(*layout, kMinSavingPercent, raw, framed)) return;
      // Tensor data the planes cannot shrink is near-random: zstd would not either.
      if (hint.kind == DataHint::Class::kFloats && hint.width != 0 && layout.has_value()) break;
      [[fallthrough]];
    }
    case DataHint::Class::kUnknown:
      if (raw.size() > 2 * kSampleSize && !zstd_saving.has_value()) {
        zstd_saving = ZstdSavingPercent(MiddleSample(raw));
      }
      if ((raw.size() <= 2 * kSampleSize || *zstd_saving >= kMinSavingPercent) &&
          AppendCompressed(Codec::kZstd, kAutomaticZstdLevel, kMinSavingPercent, raw, framed)) {
        return;
      }
      break;
  }
  AppendStored(raw, framed);
}

absl::Status Decompress(absl::string_view framed, size_t max_raw, std::string* raw,
                        Frames allowed) {
  raw->clear();
  if (allowed == Frames::kNoPlanes && !framed.empty() &&
      static_cast<uint8_t>(framed[0]) == static_cast<uint8_t>(Codec::kPlanes)) {
    return absl::InvalidArgumentError("codec frame: byte planes where only metadata frames belong");
  }
  absl::Status status = DecompressFrame(framed, max_raw, raw);
  if (!status.ok()) raw->clear();
  return status;
}

}  // namespace cairn

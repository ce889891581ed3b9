#include "common/plane_codec.h"

#include <htscodecs/rANS_static4x16.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/varint.h"
#include "common/zstd_context.h"

namespace cairn {
namespace {

// Split and merge read and write elements as the host's integers.
static_assert(std::endian::native == std::endian::little, "little-endian hosts only");

constexpr uint8_t kFlagFloats = 1;
// A plane whose order-0 entropy is above this is stored raw without trying a
// coder: rANS cannot save the last 1% of a near-random byte (its tables cost
// more), and skipping it is most of the codec's speed on float mantissas.
constexpr double kRawAboveBits = 7.9;
// Planes below this are runs of one value (the high bytes of a delta or of
// small integers): zstd is as small and several times faster there.
constexpr double kZstdBelowBits = 0.3;
// Above this a plane (FP16's sign, exponent and top mantissa bits; a token's
// low byte) is near its entropy under zstd-1's Huffman-coded literals as
// under rANS (1.273 vs 1.277 on real FP16 weights) at 1.6x the speed to code
// and 2x to decode; below it (8-bit exponents, ~3 bits) rANS saves 7-12%
// more and zstd's match finder makes it slower.
constexpr double kZstdAboveBits = 5.0;
// Below this many elements the planes' headers cost more than they save.
constexpr size_t kMinElements = 64;
// rANS order 0 from htscodecs; order 1 gained under 1% on real weights at
// half the speed. Planes of 64 KiB and more use its 32-way interleaved
// SIMD coder (1.5 vs 0.76 GB/s decoding an exponent plane here); smaller ones
// the 4-way coder, whose set-up costs less than the 32-way one saves.
constexpr size_t kWideRansAbove = 64 << 10;
constexpr size_t kRansPadding = 64;
// An order-0 estimate from 4 Ki bytes is within ~0.1 bits of the plane's:
// enough for thresholds 0.3, 5 and 7.9 bits apart.
constexpr size_t kEntropySample = 4 << 10;

template <typename T>
T RotateLeft1(T v) {
  return static_cast<T>((v << 1) | (v >> (8 * sizeof(T) - 1)));
}

template <typename T>
T RotateRight1(T v) {
  return static_cast<T>((v >> 1) | (v << (8 * sizeof(T) - 1)));
}

// Splits n little-endian elements of type T into sizeof(T) planes of n bytes,
// one after another at `planes`. One pointer per plane and no aliasing, so
// the loop vectorizes.
template <typename T, bool kFloats>
void SplitAs(const char* __restrict elements, size_t n, char* __restrict planes) {
  uint8_t* __restrict p0 = reinterpret_cast<uint8_t*>(planes);
  uint8_t* __restrict p1 = p0 + n;
  if constexpr (sizeof(T) == 2) {
    for (size_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, elements + 2 * i, 2);
      if constexpr (kFloats) v = RotateLeft1(v);
      p0[i] = static_cast<uint8_t>(v);
      p1[i] = static_cast<uint8_t>(v >> 8);
    }
  } else {
    uint8_t* __restrict p2 = p1 + n;
    uint8_t* __restrict p3 = p2 + n;
    for (size_t i = 0; i < n; ++i) {
      uint32_t v;
      std::memcpy(&v, elements + 4 * i, 4);
      if constexpr (kFloats) v = RotateLeft1(v);
      p0[i] = static_cast<uint8_t>(v);
      p1[i] = static_cast<uint8_t>(v >> 8);
      p2[i] = static_cast<uint8_t>(v >> 16);
      p3[i] = static_cast<uint8_t>(v >> 24);
    }
  }
}

void Split(const char* elements, size_t n, int width, bool floats, std::string* planes) {
  planes->resize(n * width);
  if (width == 2) {
    floats ? SplitAs<uint16_t, true>(elements, n, planes->data())
           : SplitAs<uint16_t, false>(elements, n, planes->data());
  } else {
    floats ? SplitAs<uint32_t, true>(elements, n, planes->data())
           : SplitAs<uint32_t, false>(elements, n, planes->data());
  }
}

// The inverse of SplitAs, from planes wherever they are (a raw plane is read
// in place in the payload).
using PlanePointers = std::array<const char*, 4>;

template <typename T, bool kFloats>
void MergeAs(const PlanePointers& planes, size_t n, char* __restrict elements) {
  const uint8_t* __restrict p0 = reinterpret_cast<const uint8_t*>(planes[0]);
  const uint8_t* __restrict p1 = reinterpret_cast<const uint8_t*>(planes[1]);
  if constexpr (sizeof(T) == 2) {
    for (size_t i = 0; i < n; ++i) {
      uint16_t v = static_cast<uint16_t>(p0[i] | p1[i] << 8);
      if constexpr (kFloats) v = RotateRight1(v);
      std::memcpy(elements + 2 * i, &v, 2);
    }
  } else {
    const uint8_t* __restrict p2 = reinterpret_cast<const uint8_t*>(planes[2]);
    const uint8_t* __restrict p3 = reinterpret_cast<const uint8_t*>(planes[3]);
    for (size_t i = 0; i < n; ++i) {
      uint32_t v = p0[i] | p1[i] << 8 | p2[i] << 16 | uint32_t{p3[i]} << 24;
      if constexpr (kFloats) v = RotateRight1(v);
      std::memcpy(elements + 4 * i, &v, 4);
    }
  }
}

void Merge(const PlanePointers& planes, size_t n, int width, bool floats, char* elements) {
  if (width == 2) {
    floats ? MergeAs<uint16_t, true>(planes, n, elements)
           : MergeAs<uint16_t, false>(planes, n, elements);
  } else {
    floats ? MergeAs<uint32_t, true>(planes, n, elements)
           : MergeAs<uint32_t, false>(planes, n, elements);
  }
}

// Order-0 entropy in bits per byte of up to kEntropySample bytes spread over
// the plane: enough to choose a coder, at a fraction of a pass over it.
double EntropyBits(absl::string_view plane) {
  if (plane.empty()) return 0;
  const size_t step = std::max<size_t>(1, plane.size() / kEntropySample);
  // Four tables: consecutive increments of one counter would stall on each
  // other's stores.
  std::array<std::array<uint32_t, 256>, 4> counts{};
  size_t total = 0;
  for (size_t i = 0; i < plane.size(); i += step, ++total) {
    ++counts[total & 3][static_cast<uint8_t>(plane[i])];
  }
  double bits = 0;
  for (int symbol = 0; symbol < 256; ++symbol) {
    const uint32_t c =
        counts[0][symbol] + counts[1][symbol] + counts[2][symbol] + counts[3][symbol];
    if (c == 0) continue;
    const double p = static_cast<double>(c) / total;
    bits -= p * std::log2(p);
  }
  return bits;
}

// Appends coder | size | bytes for one plane: the smallest of the coders the
// plane's entropy says are worth trying, raw when none is smaller.
void AppendPlane(absl::string_view plane, std::string* out) {
  const double bits = EntropyBits(plane);
  thread_local std::vector<unsigned char> scratch;
  size_t coded = 0;
  PlaneCoder coder = PlaneCoder::kRaw;
  if (bits < kZstdBelowBits || bits >= kZstdAboveBits) {
    ZSTD_CCtx* ctx = ThreadZstdCCtx();
    scratch.resize(ZSTD_compressBound(plane.size()));
    size_t n = ctx == nullptr ? 0
                              : ZSTD_compressCCtx(ctx, scratch.data(), scratch.size(), plane.data(),
                                                  plane.size(), 1);
    if (ctx != nullptr && !ZSTD_isError(n)) {
      coded = n;
      coder = PlaneCoder::kZstd;
    }
  } else if (bits < kRawAboveBits && plane.size() <= UINT_MAX / 2) {
    const unsigned int size = static_cast<unsigned int>(plane.size());
    const int order = plane.size() >= kWideRansAbove ? RANS_ORDER_X32 : 0;
    scratch.resize(rans_compress_bound_4x16(size, order));
    unsigned int n = static_cast<unsigned int>(scratch.size());
    unsigned char* in = reinterpret_cast<unsigned char*>(const_cast<char*>(plane.data()));
    if (rans_compress_to_4x16(in, size, scratch.data(), &n, order) != nullptr) {
      coded = n;
      coder = PlaneCoder::kRans;
    }
  }
  if (coder == PlaneCoder::kRaw || coded >= plane.size()) {
    out->push_back(static_cast<char>(PlaneCoder::kRaw));
    AppendVarint(plane.size(), out);
    out->append(plane.data(), plane.size());
    return;
  }
  out->push_back(static_cast<char>(coder));
  AppendVarint(coded, out);
  out->append(reinterpret_cast<const char*>(scratch.data()), coded);
}

// Decodes one rANS or zstd plane into exactly n bytes at *plane.
// `readable_after` bytes of the caller's buffer follow `coded`.
absl::Status DecodePlane(PlaneCoder coder, absl::string_view coded, size_t readable_after, size_t n,
                         char* plane) {
  switch (coder) {
    case PlaneCoder::kRaw:  // DecodePlanes merges raw planes in place
      break;
    case PlaneCoder::kRans: {
      if (coded.size() > UINT_MAX - kRansPadding || n > UINT_MAX) {
        return absl::DataLossError("plane codec: rANS plane is larger than rANS allows");
      }
      // Only the forms EncodePlane writes reach htscodecs: its RLE, PACK and
      // STRIPE forms allocate sizes read from the stream and recurse without
      // a depth limit, order 1 is never written.
      const uint8_t form = coded.empty() ? 0xff : static_cast<uint8_t>(coded[0]);
      if ((form & ~(RANS_ORDER_X32 | RANS_ORDER_CAT)) != 0) {
        return absl::DataLossError(absl::StrCat(
            "plane codec: rANS plane has a form this codec never writes (", form, ")"));
      }
      // htscodecs 1.3's 32-way AVX2 decoder may read up to 8 bytes past its
      // input (fixed upstream in 1.5.2/1.6.0): unless the payload goes on for
      // kRansPadding bytes (the usual case: raw planes follow), decode from a
      // padded copy.
      const char* input = coded.data();
      if (readable_after < kRansPadding) {
        thread_local std::string padded;
        padded.assign(coded.data(), coded.size());
        padded.append(kRansPadding, '\0');
        input = padded.data();
      }
      unsigned int out_size = static_cast<unsigned int>(n);
      // The C API takes non-const pointers; it does not write its input.
      unsigned char* in = reinterpret_cast<unsigned char*>(const_cast<char*>(input));
      unsigned char* got =
          rans_uncompress_to_4x16(in, static_cast<unsigned int>(coded.size()),
                                  reinterpret_cast<unsigned char*>(plane), &out_size);
      if (got == nullptr) {
        return absl::DataLossError(
            "plane codec: rANS plane is corrupt or decodes to more bytes than the layout needs");
      }
      if (out_size != n) {
        return absl::DataLossError(absl::StrCat("plane codec: rANS plane decodes to ", out_size,
                                                " bytes, the layout needs ", n));
      }
      return absl::OkStatus();
    }
    case PlaneCoder::kZstd: {
      const size_t frame = ZSTD_findFrameCompressedSize(coded.data(), coded.size());
      if (ZSTD_isError(frame) || frame != coded.size()) {
        return absl::DataLossError("plane codec: zstd plane is not exactly one valid frame");
      }
      const unsigned long long content = ZSTD_getFrameContentSize(coded.data(), coded.size());
      if (content != n) {
        return absl::DataLossError(absl::StrCat("plane codec: zstd plane declares ", content,
                                                " bytes, the layout needs ", n));
      }
      ZSTD_DCtx* ctx = ThreadZstdDCtx();
      if (ctx == nullptr) return absl::ResourceExhaustedError("cannot create a zstd context");
      const size_t got = ZSTD_decompressDCtx(ctx, plane, n, coded.data(), coded.size());
      if (ZSTD_isError(got) || got != n) {
        return absl::DataLossError("plane codec: zstd plane is corrupt");
      }
      return absl::OkStatus();
    }
  }
  return absl::DataLossError(
      absl::StrCat("plane codec: unknown plane coder ", static_cast<int>(coder)));
}

bool ValidLayout(const PlaneLayout& layout) {
  return (layout.width == 2 || layout.width == 4) && layout.head >= 0 && layout.head < layout.width;
}

}  // namespace

bool EncodePlanes(absl::string_view raw, const PlaneLayout& layout, std::string* out) {
  if (!ValidLayout(layout) || raw.size() < static_cast<size_t>(layout.head)) return false;
  const size_t n = (raw.size() - layout.head) / layout.width;
  if (n < kMinElements) return false;
  const size_t tail = raw.size() - layout.head - n * layout.width;
  thread_local std::string planes;
  Split(raw.data() + layout.head, n, layout.width, layout.floats, &planes);
  const size_t start = out->size();
  out->push_back(static_cast<char>(layout.width));
  out->push_back(static_cast<char>(layout.floats ? kFlagFloats : 0));
  out->push_back(static_cast<char>(layout.head));
  // Most significant plane first: the exponent, coded, is then followed by
  // the raw mantissa planes, which the rANS decoder may read ahead into.
  for (int k = layout.width - 1; k >= 0; --k) {
    AppendPlane(absl::string_view(planes).substr(k * n, n), out);
  }
  out->append(raw.data(), layout.head);
  out->append(raw.data() + raw.size() - tail, tail);
  if (out->size() - start >= raw.size()) {
    out->resize(start);
    return false;
  }
  return true;
}

double EstimatePlaneBits(absl::string_view sample, const PlaneLayout& layout) {
  if (!ValidLayout(layout) || sample.size() < static_cast<size_t>(layout.head)) return 8.0;
  const size_t n = (sample.size() - layout.head) / layout.width;
  if (n < kMinElements) return 8.0;
  thread_local std::string planes;  // per sealing thread, reused chunk after chunk
  Split(sample.data() + layout.head, n, layout.width, layout.floats, &planes);
  double bits = 0;
  for (int k = 0; k < layout.width; ++k) {
    const double b = EntropyBits(absl::string_view(planes).substr(k * n, n));
    bits += b < kRawAboveBits ? b : 8.0;
  }
  return bits / layout.width;
}

absl::Status DecodePlanes(absl::string_view payload, uint64_t length, std::string* raw) {
  raw->clear();
  if (payload.size() < 3) return absl::DataLossError("plane codec: payload header is truncated");
  const int width = static_cast<uint8_t>(payload[0]);
  const uint8_t flags = static_cast<uint8_t>(payload[1]);
  const int head = static_cast<uint8_t>(payload[2]);
  if (width != 2 && width != 4) {
    return absl::DataLossError(
        absl::StrCat("plane codec: element width ", width, " is not 2 or 4"));
  }
  if ((flags & ~kFlagFloats) != 0) {
    return absl::DataLossError(absl::StrCat("plane codec: unknown flags ", flags));
  }
  if (static_cast<uint64_t>(head) >= static_cast<uint64_t>(width) ||
      length < static_cast<uint64_t>(head)) {
    return absl::DataLossError(absl::StrCat("plane codec: head of ", head,
                                            " bytes is out of range for width ", width,
                                            " and length ", length));
  }
  const uint64_t n = (length - head) / width;
  const uint64_t tail = length - head - n * width;
  // Every plane's header and size first, so a payload that cannot be whole
  // costs no allocation.
  struct CodedPlane {
    PlaneCoder coder;
    absl::string_view bytes;
  };
  std::array<CodedPlane, 4> coded;
  size_t pos = 3;
  for (int k = width - 1; k >= 0; --k) {  // most significant first
    if (pos >= payload.size())
      return absl::DataLossError("plane codec: payload ends before all planes");
    const uint8_t coder = static_cast<uint8_t>(payload[pos++]);
    if (coder > static_cast<uint8_t>(PlaneCoder::kZstd)) {
      return absl::DataLossError(absl::StrCat("plane codec: unknown plane coder ", coder));
    }
    coded[k].coder = static_cast<PlaneCoder>(coder);
    uint64_t size = 0;
    RETURN_IF_ERROR(ReadVarint(payload, &pos, &size, "plane codec: plane size"));
    if (size > payload.size() - pos) {
      return absl::DataLossError(absl::StrCat("plane codec: plane ", k, " declares ", size,
                                              " bytes, only ", payload.size() - pos, " remain"));
    }
    if (coded[k].coder == PlaneCoder::kRaw && size != n) {
      return absl::DataLossError(
          absl::StrCat("plane codec: raw plane has ", size, " bytes, the layout needs ", n));
    }
    coded[k].bytes = payload.substr(pos, size);
    pos += size;
  }
  if (payload.size() - pos != static_cast<uint64_t>(head) + tail) {
    return absl::DataLossError(absl::StrCat("plane codec: ", payload.size() - pos,
                                            " bytes after the planes, the layout needs ",
                                            head + tail));
  }
  // Coded planes are decoded into scratch; raw ones are merged from the
  // payload in place, without a copy.
  thread_local std::string planes;
  planes.resize(n * width);
  PlanePointers sources{};
  for (int k = 0; k < width; ++k) {
    if (coded[k].coder == PlaneCoder::kRaw) {  // its size was checked above
      sources[k] = coded[k].bytes.data();
      continue;
    }
    // Bytes of the payload after this plane: the decoder may read into them.
    const size_t after =
        payload.data() + payload.size() - (coded[k].bytes.data() + coded[k].bytes.size());
    RETURN_IF_ERROR(DecodePlane(coded[k].coder, coded[k].bytes, after, n, planes.data() + k * n));
    sources[k] = planes.data() + k * n;
  }
  raw->resize(length);
  std::copy_n(payload.data() + pos, head, raw->data());
  std::copy_n(payload.data() + pos + head, tail, raw->data() + head + n * width);
  Merge(sources, n, width, (flags & kFlagFloats) != 0, raw->data() + head);
  return absl::OkStatus();
}

}  // namespace cairn

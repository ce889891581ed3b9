#include "common/delta_codec.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/varint.h"

namespace cairn {
namespace {

// The element width a delta is taken in: 2 or 4 for tensor data whose
// elements start at the chunk's first byte, else 1 (bytes, XOR).
int DeltaWidth(const DataHint& hint, size_t size) {
  const bool numbers = hint.kind == DataHint::Class::kFloats ||
                       hint.kind == DataHint::Class::kMaybeFloats ||
                       hint.kind == DataHint::Class::kIntegers;
  if (!numbers || (hint.width != 2 && hint.width != 4)) return 1;
  if (hint.offset % static_cast<uint64_t>(hint.width) != 0 ||
      size < static_cast<size_t>(hint.width)) {
    return 1;
  }
  return hint.width;
}

// Zigzag of the wrapping difference of two little-endian w-byte integers:
// small changes in either direction give small numbers (the high bytes
// zero), where XOR would spread a carry across the bits it crosses.
template <typename U>
U Zigzag(U d) {
  using S = std::make_signed_t<U>;
  return static_cast<U>((d << 1) ^ static_cast<U>(static_cast<S>(d) >> (sizeof(U) * 8 - 1)));
}
template <typename U>
U Unzigzag(U z) {
  return static_cast<U>((z >> 1) ^ (~(z & 1) + 1));
}

void XorInto(absl::string_view other, char* out, size_t n) {
  const char* in = other.data();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, out + i, 8);
    std::memcpy(&b, in + i, 8);
    a ^= b;
    std::memcpy(out + i, &a, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<char>(out[i] ^ in[i]);
}

// Turns *data (as long as base) into its difference from base (kEncode) or
// back: element-wise zigzag differences of w-byte integers, the bytes after
// the last whole element (and every byte, for w == 1) XORed.
template <typename U, bool kEncode>
void Transform(absl::string_view base, std::string* data) {
  const size_t n = data->size() / sizeof(U) * sizeof(U);
  for (size_t i = 0; i < n; i += sizeof(U)) {
    U in, was;
    std::memcpy(&in, data->data() + i, sizeof(U));
    std::memcpy(&was, base.data() + i, sizeof(U));
    const U out =
        kEncode ? Zigzag<U>(static_cast<U>(in - was)) : static_cast<U>(was + Unzigzag<U>(in));
    std::memcpy(data->data() + i, &out, sizeof(U));
  }
  XorInto(base.substr(n), data->data() + n, data->size() - n);
}

template <bool kEncode>
void Transform(int width, absl::string_view base, std::string* data) {
  if (width == 2) {
    Transform<uint16_t, kEncode>(base, data);
  } else if (width == 4) {
    Transform<uint32_t, kEncode>(base, data);
  } else {
    XorInto(base, data->data(), data->size());
  }
}

struct DeltaHeader {
  uint64_t length;
  ChunkId base;
  int width;
  size_t inner;  // where the inner frame starts
};

absl::StatusOr<DeltaHeader> ParseHeader(absl::string_view framed) {
  DeltaHeader h;
  size_t pos = 1;
  RETURN_IF_ERROR(ReadVarint(framed, &pos, &h.length, "delta frame: raw length varint"));
  if (framed.size() - pos < h.base.size() + 1) {
    return absl::DataLossError("delta frame: truncated before its base chunk id and width");
  }
  std::memcpy(h.base.data(), framed.data() + pos, h.base.size());
  pos += h.base.size();
  h.width = static_cast<uint8_t>(framed[pos]);
  if (h.width != 1 && h.width != 2 && h.width != 4) {
    return absl::DataLossError(
        absl::StrCat("delta frame: element width ", h.width, " is not 1, 2 or 4"));
  }
  h.inner = pos + 1;
  return h;
}

}  // namespace

bool CompressDelta(const CodecChoice& choice, absl::string_view raw, const ChunkId& base_id,
                   absl::string_view base, std::string* framed, const DataHint& hint) {
  if (base.size() != raw.size()) return false;
  const int width = DeltaWidth(hint, raw.size());
  std::string d(raw);
  Transform<true>(width, base, &d);
  const DataHint inner = width == 1 ? hint : DataHint{DataHint::Class::kIntegers, width, 0};
  framed->push_back(static_cast<char>(Codec::kDelta));
  AppendVarint(raw.size(), framed);
  // Not ChunkIdBytes: the frame code stays free of libsodium (the fuzz build).
  framed->append(reinterpret_cast<const char*>(base_id.data()), base_id.size());
  framed->push_back(static_cast<char>(width));
  Compress(choice, d, framed, inner);
  return true;
}

absl::StatusOr<std::optional<ChunkId>> DeltaBaseOf(absl::string_view framed) {
  if (framed.empty() || static_cast<uint8_t>(framed[0]) != static_cast<uint8_t>(Codec::kDelta)) {
    return std::optional<ChunkId>();
  }
  ASSIGN_OR_RETURN(DeltaHeader h, ParseHeader(framed));
  return std::optional<ChunkId>(h.base);
}

absl::Status DecompressDelta(absl::string_view framed, absl::string_view base, size_t max_raw,
                             std::string* raw) {
  raw->clear();
  if (framed.empty() || static_cast<uint8_t>(framed[0]) != static_cast<uint8_t>(Codec::kDelta)) {
    return absl::InvalidArgumentError("not a delta frame");
  }
  ASSIGN_OR_RETURN(DeltaHeader h, ParseHeader(framed));
  if (h.length > max_raw) {
    return absl::InvalidArgumentError(absl::StrCat("delta frame declares ", h.length,
                                                   " raw bytes, more than the limit of ", max_raw));
  }
  if (base.size() != h.length) {
    return absl::DataLossError(absl::StrCat("delta frame of ", h.length, " bytes names a base of ",
                                            base.size(), " bytes"));
  }
  // Decompress refuses a nested delta: a chain links chunks, each decoded
  // on its own with its own base.
  absl::Status status = Decompress(framed.substr(h.inner), h.length, raw);
  if (status.ok() && raw->size() != h.length) {
    status = absl::DataLossError(absl::StrCat("delta frame: inner frame decodes to ", raw->size(),
                                              " bytes, header declares ", h.length));
  }
  if (!status.ok()) {
    raw->clear();
    return absl::DataLossError(absl::StrCat("delta frame: ", status.message()));
  }
  Transform<false>(h.width, base, raw);
  return absl::OkStatus();
}

}  // namespace cairn

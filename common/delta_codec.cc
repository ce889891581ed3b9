#include "common/delta_codec.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/varint.h"

namespace cairn {

void XorInto(absl::string_view other, std::string* data) {
  char* out = data->data();
  const char* in = other.data();
  const size_t n = std::min(other.size(), data->size());
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

void CompressDelta(const CodecChoice& choice, absl::string_view raw, const ChunkId& base_id,
                   absl::string_view base, std::string* framed, const DataHint& hint) {
  std::string x(raw);
  XorInto(base, &x);
  framed->push_back(static_cast<char>(Codec::kDelta));
  AppendVarint(raw.size(), framed);
  // Not ChunkIdBytes: the frame code stays free of libsodium (the fuzz build).
  framed->append(reinterpret_cast<const char*>(base_id.data()), base_id.size());
  Compress(choice, x, framed, hint);
}

namespace {

struct DeltaHeader {
  uint64_t length;
  ChunkId base;
  size_t inner;  // where the inner frame starts
};

absl::StatusOr<DeltaHeader> ParseHeader(absl::string_view framed) {
  DeltaHeader h;
  size_t pos = 1;
  RETURN_IF_ERROR(ReadVarint(framed, &pos, &h.length, "delta frame: raw length varint"));
  if (framed.size() - pos < h.base.size()) {
    return absl::DataLossError("delta frame: truncated before its base chunk id");
  }
  std::memcpy(h.base.data(), framed.data() + pos, h.base.size());
  h.inner = pos + h.base.size();
  return h;
}

}  // namespace

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
  XorInto(base, raw);
  return absl::OkStatus();
}

}  // namespace cairn

#include "server/rpc/upload_request.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/path_text.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// Field numbers of UploadChunkRequest.
constexpr uint32_t kJobId = 1;
constexpr uint32_t kId = 2;
constexpr uint32_t kSize = 3;
constexpr uint32_t kSealed = 4;
constexpr uint32_t kBaseId = 5;
constexpr uint32_t kMac = 15;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed UploadChunkRequest: ", why));
}

// Reads forward through the pieces of one message.
class Cursor {
 public:
  explicit Cursor(const std::vector<absl::string_view>& pieces) : pieces_(pieces) { Skip(); }

  bool done() const { return piece_ == pieces_.size(); }

  // A varint of at most `max_bytes` bytes: 10 for values, 5 for tags and
  // lengths (the generated parser refuses longer ones there).
  absl::StatusOr<uint64_t> Varint(int max_bytes = 10) {
    uint64_t value = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (done()) return Malformed("a varint runs past the end");
      const uint8_t byte = static_cast<uint8_t>(pieces_[piece_][at_]);
      Advance(1);
      value |= uint64_t{byte & 0x7fu} << (7 * i);
      if ((byte & 0x80) == 0) return value;
    }
    return Malformed(absl::StrCat("a varint is longer than ", max_bytes, " bytes"));
  }

  // The next `n` bytes as views into the pieces (appended to *out), or
  // skipped when `out` is null.
  absl::Status Take(uint64_t n, std::vector<absl::string_view>* out) {
    while (n > 0) {
      if (done()) return Malformed("a field runs past the end");
      absl::string_view rest = pieces_[piece_].substr(at_);
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, rest.size()));
      if (out != nullptr) out->push_back(rest.substr(0, k));
      Advance(k);
      n -= k;
    }
    return absl::OkStatus();
  }

  // The next `n` bytes copied into *out (n already bounded by the caller).
  absl::Status Copy(uint64_t n, std::string* out) {
    std::vector<absl::string_view> parts;
    RETURN_IF_ERROR(Take(n, &parts));
    out->clear();
    out->reserve(static_cast<size_t>(n));
    for (absl::string_view part : parts) out->append(part.data(), part.size());
    return absl::OkStatus();
  }

 private:
  void Advance(size_t n) {
    at_ += n;
    Skip();
  }
  // Moves past exhausted (and empty) pieces.
  void Skip() {
    while (piece_ < pieces_.size() && at_ == pieces_[piece_].size()) {
      ++piece_;
      at_ = 0;
    }
  }

  const std::vector<absl::string_view>& pieces_;
  size_t piece_ = 0;
  size_t at_ = 0;
};

absl::Status SmallField(Cursor& in, uint64_t length, absl::string_view name, std::string* out) {
  if (length > kMaxUploadFieldBytes) {
    return absl::InvalidArgumentError(absl::StrCat("UploadChunkRequest.", name, " is ", length,
                                                   " bytes; at most ", kMaxUploadFieldBytes,
                                                   " are accepted"));
  }
  return in.Copy(length, out);
}

// More pieces than this (a message sent in tiny frames) are joined into one
// buffer first, so the work per chunk stays bounded whatever the sender does.
constexpr size_t kMaxPieces = 4096;

}  // namespace

absl::Status ParseUploadRequestPieces(const std::vector<absl::string_view>& pieces,
                                      UploadRequest* out) {
  out->job_id.clear();
  out->id.clear();
  out->size = 0;
  out->base_id.clear();
  out->mac.clear();
  out->sealed.clear();
  out->sealed_bytes = 0;
  Cursor in(pieces);
  while (!in.done()) {
    ASSIGN_OR_RETURN(uint64_t tag, in.Varint(5));
    if (tag > 0xffffffffu) return Malformed("a tag is over 32 bits");
    const uint64_t field = tag >> 3;
    const uint32_t wire = static_cast<uint32_t>(tag & 7);
    if (field == 0) return Malformed("field number 0");
    switch (wire) {
      case kVarint: {
        ASSIGN_OR_RETURN(uint64_t value, in.Varint());
        // uint32 takes the low 32 bits, as the generated parser does.
        if (field == kSize) out->size = static_cast<uint32_t>(value);
        break;
      }
      case kFixed64:
        RETURN_IF_ERROR(in.Take(8, nullptr));
        break;
      case kFixed32:
        RETURN_IF_ERROR(in.Take(4, nullptr));
        break;
      case kLengthDelimited: {
        ASSIGN_OR_RETURN(uint64_t length, in.Varint(5));
        if (length > 0x7fffffff) return Malformed("a length is over 2 GiB");
        switch (field) {
          case kJobId:
            RETURN_IF_ERROR(SmallField(in, length, "job_id", &out->job_id));
            // Every occurrence, as the generated parser checks them.
            if (!IsUtf8(out->job_id)) return Malformed("job_id is not UTF-8");
            break;
          case kId:
            RETURN_IF_ERROR(SmallField(in, length, "id", &out->id));
            break;
          case kBaseId:
            RETURN_IF_ERROR(SmallField(in, length, "base_id", &out->base_id));
            break;
          case kMac:
            RETURN_IF_ERROR(SmallField(in, length, "mac", &out->mac));
            break;
          case kSealed:
            out->sealed.clear();  // the last occurrence wins
            RETURN_IF_ERROR(in.Take(length, &out->sealed));
            out->sealed_bytes = length;
            break;
          default:
            RETURN_IF_ERROR(in.Take(length, nullptr));
        }
        break;
      }
      default:
        return Malformed(absl::StrCat("wire type ", wire, " (a group, or not protobuf)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseUploadRequest(const grpc::ByteBuffer& buffer, UploadRequest* out) {
  out->slices.clear();
  grpc::Status dumped = buffer.Dump(&out->slices);
  if (!dumped.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the received UploadChunkRequest: ", dumped.error_message()));
  }
  std::vector<absl::string_view> pieces;
  if (out->slices.size() > kMaxPieces) {
    std::string joined;
    joined.reserve(buffer.Length());
    for (const grpc::Slice& slice : out->slices) {
      joined.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    out->slices.clear();
    out->slices.emplace_back(joined.data(), joined.size());  // copied into a slice it owns
    pieces.emplace_back(reinterpret_cast<const char*>(out->slices[0].begin()),
                        out->slices[0].size());
    return ParseUploadRequestPieces(pieces, out);
  }
  pieces.reserve(out->slices.size());
  for (const grpc::Slice& slice : out->slices) {
    pieces.emplace_back(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return ParseUploadRequestPieces(pieces, out);
}

}  // namespace cairn

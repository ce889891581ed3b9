// An UploadChunkRequest (cairn/v1/agent.proto) read straight from the bytes
// gRPC received, without parsing it into the generated message: the sealed
// payload, the bulk of every upload, stays in gRPC's slices and reaches the
// pack writer as pieces, never copied whole (docs/scale.md, "Cheap ingest").
// The small fields are copied out. Decoding follows the protobuf wire format
// as the generated parser does (the last occurrence of a field wins; a known
// field with another wire type and unknown fields are skipped; job_id must be
// UTF-8), except that groups, deprecated since proto2, are refused.
//
//   grpc::ByteBuffer received;  // from ServerReader<grpc::ByteBuffer>::Read
//   UploadRequest request;
//   RETURN_IF_ERROR(ParseUploadRequest(received, &request));
//   ingest.Add(request.id, request.size, request.sealed, request.base_id);
#ifndef CAIRN_SERVER_RPC_UPLOAD_REQUEST_H_
#define CAIRN_SERVER_RPC_UPLOAD_REQUEST_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cairn {

struct UploadRequest {
  std::string job_id;
  std::string id;
  uint32_t size = 0;
  std::string base_id;
  std::string mac;  // the data port's tag (common/data_mac.h)
  // The sealed chunk, in order; views into `slices`.
  std::vector<absl::string_view> sealed;
  uint64_t sealed_bytes = 0;
  // The received slices (reference-counted, not copied): keep `sealed` valid.
  std::vector<grpc::Slice> slices;
};

// The longest job_id, id, base_id or mac accepted (ids are 32 bytes; the server
// refuses other lengths with a clearer message later).
inline constexpr size_t kMaxUploadFieldBytes = 1024;

// Decodes `buffer` into *out (replacing what it held). InvalidArgument for
// a malformed message: a truncated varint, tag or field, a tag or length in
// more than 5 bytes, a length past the end, field number 0, a group, a small
// field over kMaxUploadFieldBytes, or a job_id that is not UTF-8. A message
// that arrived in more than 4,096 slices is joined into one buffer first.
absl::Status ParseUploadRequest(const grpc::ByteBuffer& buffer, UploadRequest* out);

// The same over pieces of one message (what ParseUploadRequest gets from the
// buffer's slices); `out->slices` is left as it is.
absl::Status ParseUploadRequestPieces(const std::vector<absl::string_view>& pieces,
                                      UploadRequest* out);

}  // namespace cairn

#endif  // CAIRN_SERVER_RPC_UPLOAD_REQUEST_H_

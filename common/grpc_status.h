// The one place where absl::Status and grpc::Status are converted. gRPC
// handlers call core code that knows nothing of gRPC and convert its result
// here; clients convert what the server said back into absl::Status.
#ifndef CAIRN_COMMON_GRPC_STATUS_H_
#define CAIRN_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cairn {

// Messages longer than this are cut, so a status never carries a huge string.
inline constexpr size_t kMaxStatusMessageBytes = 1024;

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// For unary handlers: moves the value into *response, or converts the error.
//   return ReplyWith(repository_->Hello(*request), response);
template <typename Response>
grpc::Status ReplyWith(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace cairn

#endif  // CAIRN_COMMON_GRPC_STATUS_H_

// cairnctl's connection to the admin service: a channel with cairn's bounds
// and unary calls with a deadline, errors turned into absl::Status with a hint
// when the server cannot be reached.
#ifndef CAIRN_CTL_ADMIN_CLIENT_H_
#define CAIRN_CTL_ADMIN_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "common/grpc_status.h"

namespace cairn {

class AdminClient final {
 public:
  explicit AdminClient(std::string address);

  v1::AdminService::Stub* stub() { return stub_.get(); }
  const std::string& address() const { return address_; }

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                     Response*),
      const Request& request, absl::Duration deadline = absl::Seconds(60)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (status.ok()) return response;
    return Explain(status);
  }

  absl::Status Explain(const grpc::Status& status) const;

 private:
  std::string address_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

}  // namespace cairn

#endif  // CAIRN_CTL_ADMIN_CLIENT_H_

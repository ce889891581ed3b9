// cairnctl's connection to the server: one TLS channel that checks the
// server against the cairn CA and presents the admin credential's
// certificate, stubs of the admin and access services, and unary calls with
// a deadline, errors turned into absl::Status with a hint when the server
// cannot be reached or refuses the credential.
#ifndef CAIRN_CTL_ADMIN_CLIENT_H_
#define CAIRN_CTL_ADMIN_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "cairn/v1/security.grpc.pb.h"
#include "common/grpc_status.h"

namespace cairn {

class AdminClient final {
 public:
  AdminClient(std::string address, v1::ClientCredentials credentials);

  v1::AdminService::Stub* stub() { return admin_.get(); }
  const std::string& address() const { return address_; }
  const v1::ClientCredentials& credentials() const { return credentials_; }

  // A call of an AdminService or AccessService method.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request,
                                absl::Duration deadline = absl::Seconds(60)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    Response response;
    grpc::Status status;
    if constexpr (std::is_same_v<Stub, v1::AdminService::Stub>) {
      status = (admin_.get()->*method)(&context, request, &response);
    } else {
      static_assert(std::is_same_v<Stub, v1::AccessService::Stub>);
      status = (access_.get()->*method)(&context, request, &response);
    }
    if (status.ok()) return response;
    return Explain(status);
  }

  absl::Status Explain(const grpc::Status& status) const;

 private:
  std::string address_;
  v1::ClientCredentials credentials_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::AccessService::Stub> access_;
};

// The credentials file cairnctl uses: --credentials, else $CAIRN_CREDENTIALS,
// else ~/.config/cairn/credentials, else ./cairn-state/server/admin.credentials
// (the default server's first admin) — the first that is given or exists.
// FailedPrecondition saying where to get one when there is none.
absl::StatusOr<std::string> FindCredentialsFile(const std::string& flag);

}  // namespace cairn

#endif  // CAIRN_CTL_ADMIN_CLIENT_H_

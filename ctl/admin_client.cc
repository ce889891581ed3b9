#include "ctl/admin_client.h"

#include "common/limits.h"

namespace cairn {

AdminClient::AdminClient(std::string address) : address_(std::move(address)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  args.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  stub_ = v1::AdminService::NewStub(
      grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args));
}

absl::Status AdminClient::Explain(const grpc::Status& status) const {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach cairn-server at ", address_, " (", status.error_message(),
        "); is it running? Use --server HOST:PORT or CAIRN_SERVER to point elsewhere"));
  }
  return FromGrpcStatus(status);
}

}  // namespace cairn

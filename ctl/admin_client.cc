#include "ctl/admin_client.h"

#include <sys/stat.h>

#include <cstdlib>

#include "common/client_tls.h"

namespace cairn {

AdminClient::AdminClient(std::string address, v1::ClientCredentials credentials)
    : address_(std::move(address)), credentials_(std::move(credentials)) {
  std::shared_ptr<grpc::Channel> channel = NewClientChannel(address_, credentials_);
  admin_ = v1::AdminService::NewStub(channel);
  access_ = v1::AccessService::NewStub(channel);
}

absl::Status AdminClient::Explain(const grpc::Status& status) const {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach cairn-server at ", address_, " (", status.error_message(),
                     "); is it running, and is it the server of these credentials? Use --server "
                     "HOST:PORT or CAIRN_SERVER to point elsewhere"));
  }
  return FromGrpcStatus(status);
}

absl::StatusOr<std::string> FindCredentialsFile(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("CAIRN_CREDENTIALS");
  if (env != nullptr && env[0] != '\0') return std::string(env);
  std::vector<std::string> candidates;
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    candidates.push_back(absl::StrCat(home, "/.config/cairn/credentials"));
  }
  candidates.push_back("./cairn-state/server/admin.credentials");
  for (const std::string& path : candidates) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return path;
  }
  return absl::FailedPreconditionError(
      "no credentials: cairnctl needs an admin credentials file (--credentials FILE or "
      "CAIRN_CREDENTIALS). cairn-server wrote the first one to STATE_DIR/admin.credentials; "
      "an admin makes more with `cairnctl credentials create`");
}

}  // namespace cairn

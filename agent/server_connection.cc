#include "agent/server_connection.h"

#include "common/client_tls.h"

namespace cairn {

ServerConnection::ServerConnection(const std::string& address,
                                   const v1::ClientCredentials& credentials)
    : address_(address) {
  UseCredentials(credentials);
}

void ServerConnection::UseCredentials(const v1::ClientCredentials& credentials) {
  auto stub = v1::AgentService::NewStub(NewClientChannel(address_, credentials));
  absl::MutexLock lock(&mu_);
  stub_.store(stub.get());
  stubs_.push_back(std::move(stub));
}

}  // namespace cairn

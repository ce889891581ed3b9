#include "agent/server_connection.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/client_tls.h"
#include "common/data_mac.h"
#include "common/log/log.h"

namespace cairn {
namespace {

constexpr absl::Duration kRenewDataSessionBefore = absl::Minutes(5);
constexpr absl::Duration kRetryDataSessionAfter = absl::Minutes(5);

// Where to dial the data port the server named: "unix:PATH" as it is,
// ":PORT" on the host of `server`; "" when they cannot be combined.
std::string DataAddress(const std::string& server, const std::string& named) {
  if (absl::StartsWith(named, "unix:")) return named;
  if (!absl::StartsWith(named, ":") || absl::StartsWith(server, "unix:")) return "";
  const size_t colon = server.rfind(':');
  if (colon == std::string::npos) return "";
  return server.substr(0, colon) + named;
}

}  // namespace

ServerConnection::ServerConnection(const std::string& address,
                                   const v1::ClientCredentials& credentials)
    : address_(address) {
  UseCredentials(credentials);
}

void ServerConnection::UseCredentials(const v1::ClientCredentials& credentials) {
  auto stub = v1::AgentService::NewStub(NewClientChannel(address_, credentials));
  {
    absl::MutexLock lock(&mu_);
    stub_.store(stub.get());
    stubs_.push_back(std::move(stub));
  }
  // A data session belongs to the certificate that opened it, which the
  // renewal's first call retires: the next data call opens one for the new.
  ForgetDataSession();
}

std::optional<ServerConnection::DataCall> ServerConnection::StartDataCall() {
  if (IsLocalSocketAddress(address_)) return std::nullopt;
  absl::MutexLock lock(&data_mu_);
  const absl::Time now = absl::Now();
  if (data_ != nullptr && data_->expires - now < kRenewDataSessionBefore) ForgetDataSessionLocked();
  if (data_ == nullptr) {
    if (now < no_data_until_) return std::nullopt;
    no_data_until_ = now + kRetryDataSessionAfter;
    absl::StatusOr<v1::OpenDataSessionResponse> opened =
        Call(&v1::AgentService::Stub::OpenDataSession, v1::OpenDataSessionRequest(),
             absl::Seconds(30), absl::Seconds(10));
    if (!opened.ok()) {
      // An older server, or none: TLS it is.
      log::Warn("data.session_refused",
                {{"server", address_},
                 {"error", opened.status()},
                 {"note", "uploads go over TLS; asked again in 5 minutes"}});
      return std::nullopt;
    }
    const std::string address = DataAddress(address_, opened->address());
    absl::StatusOr<DataKey> key = DataKey::FromBytes(opened->key());
    sodium_memzero(opened->mutable_key()->data(), opened->key().size());
    if (address.empty() || !key.ok() || opened->session_id().size() != kDataSessionIdBytes) {
      return std::nullopt;
    }
    auto session = std::make_unique<DataSession>();
    session->stub = v1::AgentService::NewStub(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), CairnChannelArguments()));
    session->hex = absl::BytesToHexString(opened->session_id());
    session->key = std::make_shared<const DataKey>(*std::move(key));
    // The server's expiry, read on this host's clock, and never later than
    // an hour from now by it: a clock that runs apart from the server's
    // makes the session renew early, not late.
    session->expires =
        std::min(absl::FromUnixMillis(opened->expires_unix_ms()), now + absl::Hours(1));
    log::Info("data.session_opened",
              {{"address", address}, {"expires", absl::FormatTime(session->expires)}});
    data_ = std::move(session);
  }
  return DataCall{
      .stub = data_->stub, .session_hex = data_->hex, .key = data_->key, .call = ++data_->calls};
}

void ServerConnection::ForgetDataSession() {
  absl::MutexLock lock(&data_mu_);
  ForgetDataSessionLocked();
  no_data_until_ = absl::InfinitePast();
}

void ServerConnection::ForgetDataSessionLocked() { data_.reset(); }

}  // namespace cairn

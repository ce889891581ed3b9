#include "server/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/limits.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "server/auth/first_admin.h"
#include "server/auth/server_pki.h"
#include "server/rpc/access_service.h"
#include "server/rpc/admin_service.h"
#include "server/rpc/agent_service.h"
#include "server/tiers/local_tier.h"

namespace cairn {

absl::StatusOr<v1::ServerConfig> ResolveServerConfig(v1::ServerConfig config) {
  if (config.listen().empty()) config.set_listen(kDefaultListen);
  if (config.state_dir().empty()) config.set_state_dir("./cairn-state/server");
  if (config.pack_target_bytes() == 0) config.set_pack_target_bytes(64u << 20);
  if (config.pack_target_bytes() < (1u << 20) || config.pack_target_bytes() > (1ull << 32)) {
    return absl::InvalidArgumentError("pack_target_bytes must be between 1 MiB and 4 GiB");
  }
  if (config.job_lease_seconds() == 0) config.set_job_lease_seconds(3600);
  if (config.tls().server_name().empty()) config.mutable_tls()->set_server_name(kDefaultServerName);
  if (config.tls().ca_cert_file().empty() != config.tls().ca_key_file().empty()) {
    return absl::InvalidArgumentError(
        "tls.ca_cert_file and tls.ca_key_file go together (the server signs agents' "
        "certificates with the CA's key)");
  }
  if (config.tls().cert_file().empty() != config.tls().key_file().empty()) {
    return absl::InvalidArgumentError("tls.cert_file and tls.key_file go together");
  }
  if (config.min_retention_days() > 36500) {
    return absl::InvalidArgumentError("min_retention_days is at most 36500");
  }
  v1::ServerLimits* limits = config.mutable_limits();
  if (limits->max_streams_per_agent() == 0) limits->set_max_streams_per_agent(256);
  if (limits->max_agents_per_tenant() == 0) limits->set_max_agents_per_tenant(10000);
  for (const v1::TenantQuota& q : limits->tenant_quota()) {
    if (q.tenant().empty())
      return absl::InvalidArgumentError("limits.tenant_quota.tenant must be set");
  }
  if (config.tiers().empty()) {
    v1::TierConfig* tier = config.add_tiers();
    tier->set_name("hot");
    tier->mutable_local()->set_path(config.state_dir() + "/packs");
  }
  for (const v1::TierConfig& tier : config.tiers()) {
    if (tier.name().empty()) return absl::InvalidArgumentError("tiers.name must be set");
    if (tier.has_local() && tier.local().path().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tiers.local.path must be set for tier ", tier.name()));
    }
    if (!tier.has_local()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tier ", tier.name(), " needs a kind (local { path: ... })"));
    }
  }
  return config;
}

absl::StatusOr<std::unique_ptr<CairnServer>> CairnServer::Start(const v1::ServerConfig& config) {
  return Start(config, CoreOptions{.run_scheduler = true});
}

absl::StatusOr<std::unique_ptr<CairnServer>> CairnServer::Start(const v1::ServerConfig& raw_config,
                                                                CoreOptions options) {
  ASSIGN_OR_RETURN(v1::ServerConfig config, ResolveServerConfig(raw_config));
  RETURN_IF_ERROR(MakeDirectories(config.state_dir(), 0750));
  std::unique_ptr<CairnServer> server(new CairnServer());
  std::vector<std::unique_ptr<Tier>> tiers;
  for (const v1::TierConfig& tier : config.tiers()) {
    ASSIGN_OR_RETURN(std::unique_ptr<Tier> t, OpenLocalTier(tier.name(), tier.local().path()));
    if (options.wrap_tier) t = options.wrap_tier(std::move(t));
    tiers.push_back(std::move(t));
  }
  options.pack_target_bytes = config.pack_target_bytes();
  options.job_lease = absl::Seconds(config.job_lease_seconds());
  ASSIGN_OR_RETURN(ServerPki pki, LoadOrCreateServerPki(config.state_dir() + "/tls", config.tls(),
                                                        options.clock()));
  server->ca_fingerprint_ = pki.ca_fingerprint;
  options.pki = std::make_shared<const ServerPki>(pki);
  options.limits = config.limits();
  options.min_retention = absl::Hours(24) * config.min_retention_days();
  ASSIGN_OR_RETURN(server->core_, ServerCore::Open(config.state_dir() + "/catalog.db",
                                                   std::move(tiers), std::move(options)));
  server->agent_service_ = NewAgentService(server->core_.get());
  server->admin_service_ = NewAdminService(server->core_.get());
  server->enroll_service_ = NewEnrollService(server->core_.get());
  server->access_service_ = NewAccessService(server->core_.get());

  // TLS only. Client certificates are asked for but checked by the
  // Authenticator, not by the handshake: a certificate of another CA then
  // gets a clear UNAUTHENTICATED instead of a failed connection, and an
  // agent without one can still enroll.
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  tls.pem_key_cert_pairs.push_back({pki.key_pem, pki.cert_chain_pem});
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen(), grpc::SslServerCredentials(tls), &server->port_);
  if (!config.local_socket().empty()) {
    // A socket left by a server that died; bind would fail on it.
    if (::unlink(config.local_socket().c_str()) != 0 && errno != ENOENT) {
      return PosixError(errno, "remove the old local socket", config.local_socket());
    }
    builder.AddListeningPort("unix:" + config.local_socket(), grpc::InsecureServerCredentials());
  }
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  builder.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  // Let a chunk stream run ahead of the handler: with the default 64 KiB
  // lookahead every multi-MiB chunk waits for window updates.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kMaxGrpcMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 8 << 20);
  builder.RegisterService(server->agent_service_.get());
  builder.RegisterService(server->admin_service_.get());
  builder.RegisterService(server->enroll_service_.get());
  builder.RegisterService(server->access_service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen(),
                                               " (in use, or not a host:port address?)"));
  }
  if (!config.local_socket().empty() && ::chmod(config.local_socket().c_str(), 0600) != 0) {
    return PosixError(errno, "make the local socket owner-only", config.local_socket());
  }
  ASSIGN_OR_RETURN(
      server->admin_credentials_written_,
      EnsureFirstAdmin(server->core_->access(), config.state_dir() + "/admin.credentials",
                       LocalDialAddress(config.listen(), server->port_)));
  return server;
}

CairnServer::~CairnServer() { Shutdown(); }

void CairnServer::Wait() { server_->Wait(); }

void CairnServer::Shutdown() {
  if (server_ == nullptr) return;
  core_->Stop();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace cairn

#include "server/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/client_tls.h"
#include "common/file_util.h"
#include "common/limits.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "server/auth/first_admin.h"
#include "server/auth/server_pki.h"
#include "server/core/status_metrics.h"
#include "server/open_tiers.h"
#include "server/recovery/catalog_key.h"
#include "server/rpc/access_service.h"
#include "server/rpc/admin_service.h"
#include "server/rpc/agent_service.h"
#include "server/rpc/data_service.h"
#include "server/rpc/rpc_metrics.h"
#include "server/web/web_routes.h"

namespace cairn {

namespace {

// What both gRPC ports share: message bounds, flow control, metrics.
void ApplyServerSettings(grpc::ServerBuilder* builder, ServerMetrics* metrics) {
  builder->SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  builder->SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  // Let a chunk stream run ahead of the handler: with the default 64 KiB
  // lookahead every multi-MiB chunk waits for window updates.
  builder->AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kMaxGrpcMessageBytes);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 8 << 20);
  builder->experimental().SetInterceptorCreators(RpcMetricsInterceptors(metrics));
}

}  // namespace

std::string DefaultWebListen(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return "";
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) return "";
  return absl::StrCat(listen.substr(0, colon), ":", port == 0 ? 0 : port + 1);
}

std::string DefaultDataListen(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return "off";
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return "off";
  }
  return absl::StrCat(listen.substr(0, colon), ":", port == 0 ? 0 : port + 2);
}

absl::StatusOr<v1::ServerConfig> ResolveServerConfig(v1::ServerConfig config) {
  if (config.listen().empty()) config.set_listen(kDefaultListen);
  if (config.state_dir().empty()) config.set_state_dir("./cairn-state/server");
  if (config.pack_target_bytes() == 0) config.set_pack_target_bytes(64u << 20);
  if (config.pack_target_bytes() < (1u << 20) || config.pack_target_bytes() > (1ull << 32)) {
    return absl::InvalidArgumentError("pack_target_bytes must be between 1 MiB and 4 GiB");
  }
  if (config.job_lease_seconds() == 0) config.set_job_lease_seconds(3600);
  if (config.data_listen().empty()) config.set_data_listen(DefaultDataListen(config.listen()));
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
  for (v1::TierConfig& tier : *config.mutable_tiers()) RETURN_IF_ERROR(ResolveTierConfig(&tier));
  v1::CatalogBackupConfig* backup = config.mutable_catalog_backup();
  if (backup->key_file().empty()) backup->set_key_file(config.state_dir() + "/catalog.key");
  if (backup->interval_seconds() == 0) backup->set_interval_seconds(300);
  if (backup->keep() == 0) backup->set_keep(3);
  v1::PlacementConfig* placement = config.mutable_placement();
  if (placement->tier_retry_seconds() == 0) placement->set_tier_retry_seconds(30);
  auto known = [&config](const std::string& name) {
    for (const v1::TierConfig& tier : config.tiers()) {
      if (tier.name() == name) return true;
    }
    return false;
  };
  for (const std::string& name : placement->new_packs()) {
    if (!known(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("placement.new_packs names tier ", name, ", which is not in tiers"));
    }
  }
  if (placement->rules_interval_seconds() == 0) placement->set_rules_interval_seconds(3600);
  for (const v1::PlacementRule& rule : placement->rules()) {
    if (!known(rule.from()) || !known(rule.to()) || rule.from() == rule.to()) {
      return absl::InvalidArgumentError(absl::StrCat("placement.rules: from \"", rule.from(),
                                                     "\" and to \"", rule.to(),
                                                     "\" must name two different tiers of tiers"));
    }
    if (rule.older_than_days() > 36500) {
      return absl::InvalidArgumentError("placement.rules.older_than_days is at most 36500");
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
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Tier>> tiers, OpenConfiguredTiers(config));
  if (options.wrap_tier) {
    for (std::unique_ptr<Tier>& t : tiers) t = options.wrap_tier(std::move(t));
  }
  options.pack_target_bytes = config.pack_target_bytes();
  options.job_lease = absl::Seconds(config.job_lease_seconds());
  ASSIGN_OR_RETURN(ServerPki pki, LoadOrCreateServerPki(config.state_dir() + "/tls", config.tls(),
                                                        options.clock()));
  server->ca_fingerprint_ = pki.ca_fingerprint;
  options.pki = std::make_shared<const ServerPki>(pki);
  options.limits = config.limits();
  options.min_retention = absl::Hours(24) * config.min_retention_days();
  options.tier_set.new_packs.assign(config.placement().new_packs().begin(),
                                    config.placement().new_packs().end());
  options.tier_set.retry_after = absl::Seconds(config.placement().tier_retry_seconds());
  // The catalog backup: hooks into the core first, the backup itself once
  // the core (its catalog and tiers) exists.
  std::shared_ptr<CatalogChanged> changed;
  auto backup = server->catalog_backup_ref_;
  std::optional<SecretKey> catalog_key;
  if (!config.catalog_backup().disabled()) {
    bool created = false;
    ASSIGN_OR_RETURN(catalog_key,
                     LoadOrCreateCatalogKey(config.catalog_backup().key_file(), &created));
    if (created) server->catalog_key_created_ = config.catalog_backup().key_file();
    changed = std::make_shared<CatalogChanged>();
    options.on_catalog_change = [changed] { changed->Mark(); };
    options.catalog_barrier = [backup]() -> absl::Status {
      CatalogBackup* b = backup->load();
      // Null only while starting or stopping: no deletion without a bundle.
      if (b == nullptr) return absl::UnavailableError("the catalog backup is not running");
      return b->BackupNow().status();
    };
    options.on_snapshot_commit = [backup](const v1::Snapshot& snapshot) {
      if (CatalogBackup* b = backup->load(); b != nullptr) b->MirrorCommit(snapshot);
    };
  }
  ASSIGN_OR_RETURN(server->core_, ServerCore::Open(config.state_dir() + "/catalog.db",
                                                   std::move(tiers), std::move(options)));
  if (changed != nullptr) {
    server->catalog_backup_ = std::make_unique<CatalogBackup>(
        &server->core_->catalog(), &server->core_->tiers(), config.state_dir(),
        *std::move(catalog_key), changed,
        CatalogBackupOptions{
            .min_interval = absl::Seconds(config.catalog_backup().interval_seconds()),
            .keep = static_cast<int>(config.catalog_backup().keep())});
    backup->store(server->catalog_backup_.get());
    CatalogBackup* b = server->catalog_backup_.get();
    server->core_->status().SetCatalogBackupStatus([b] {
      CatalogBackupState state = b->state();
      v1::CatalogBackupStatus s;
      s.set_enabled(true);
      if (state.bundles > 0) s.set_last_unix_ms(absl::ToUnixMillis(state.last_time));
      s.set_last_object(state.last_object);
      s.set_bundles(state.bundles);
      for (const std::string& p : state.problems) s.add_problems(p);
      return s;
    });
  }
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
  ApplyServerSettings(&builder, &server->core_->metrics());
  builder.RegisterService(server->agent_service_.get());
  builder.RegisterService(server->admin_service_.get());
  builder.RegisterService(server->enroll_service_.get());
  builder.RegisterService(server->access_service_.get());
  server->unknown_methods_ = std::make_unique<grpc::CallbackGenericService>();
  builder.RegisterCallbackGenericService(server->unknown_methods_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen(),
                                               " (in use, or not a host:port address?)"));
  }
  if (!config.local_socket().empty() && ::chmod(config.local_socket().c_str(), 0600) != 0) {
    return PosixError(errno, "make the local socket owner-only", config.local_socket());
  }
  RETURN_IF_ERROR(server->StartDataPort(config.data_listen(), raw_config.data_listen().empty()));
  ASSIGN_OR_RETURN(
      server->admin_credentials_written_,
      EnsureFirstAdmin(server->core_->access(), config.state_dir() + "/admin.credentials",
                       LocalDialAddress(config.listen(), server->port_)));
  AddStatusMetrics(server->core_.get(), config.state_dir() + "/catalog.db");
  if (!config.web().disabled()) {
    const bool chosen = !config.web().listen().empty();
    const std::string web_listen =
        chosen ? config.web().listen() : DefaultWebListen(config.listen());
    server->history_ = std::make_unique<UsageHistory>(&server->core_->status(), absl::Minutes(5));
    if (web_listen.empty()) {
      server->web_problem_ = "no web listen address: set web.listen in the config";
    } else {
      absl::StatusOr<std::unique_ptr<HttpsServer>> web =
          HttpsServer::Start(web_listen, pki.key_pem, pki.cert_chain_pem,
                             WebHandler(server->core_.get(), server->history_.get()),
                             HttpsOptions{.client_ca_pem = pki.ca_cert_pem});
      if (web.ok()) {
        server->web_ = *std::move(web);
        server->core_->web_sessions().set_web_port(server->web_->port());
        server->history_->Start();
      } else if (chosen) {
        return web.status();
      } else {
        server->web_problem_ = std::string(web.status().message());
      }
    }
  }
  server->placement_rules_ = std::make_unique<PlacementRules>(
      &server->core_->maintenance(),
      std::vector<v1::PlacementRule>(config.placement().rules().begin(),
                                     config.placement().rules().end()),
      absl::Seconds(config.placement().rules_interval_seconds()));
  server->placement_rules_->Start();
  if (server->catalog_backup_ != nullptr) {
    // A first bundle soon after start, with the first admin credential in it.
    changed->Mark();
    server->catalog_backup_->Start();
  }
  return server;
}

absl::Status CairnServer::StartDataPort(const std::string& listen, bool by_default) {
  if (listen == "off") return absl::OkStatus();
  const bool unix_socket = absl::StartsWith(listen, "unix:");
  if (unix_socket && ::unlink(listen.substr(5).c_str()) != 0 && errno != ENOENT) {
    return PosixError(errno, "remove the old data socket", listen.substr(5));
  }
  data_service_ = NewDataService(core_.get());
  data_unknown_methods_ = std::make_unique<grpc::CallbackGenericService>();
  grpc::ServerBuilder builder;
  // Plaintext on purpose: what crosses it is sealed chunk bytes, each message
  // tagged under a session key that only TLS carried (docs/security.md).
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &data_port_);
  ApplyServerSettings(&builder, &core_->metrics());
  builder.RegisterService(data_service_.get());
  builder.RegisterCallbackGenericService(data_unknown_methods_.get());
  data_server_ = builder.BuildAndStart();
  if (data_server_ == nullptr || data_port_ == 0) {
    data_server_.reset();
    data_port_ = 0;
    const std::string why = absl::StrCat("cannot listen on ", listen,
                                         " for the data port (in use?); uploads go over TLS");
    if (!by_default) {
      return absl::UnavailableError(
          absl::StrCat(why, ": free it, or set data_listen to another address or \"off\""));
    }
    data_problem_ = why;
    return absl::OkStatus();
  }
  if (unix_socket && ::chmod(listen.substr(5).c_str(), 0600) != 0) {
    return PosixError(errno, "make the data socket owner-only", listen.substr(5));
  }
  core_->data_sessions().set_address(unix_socket ? listen : absl::StrCat(":", data_port_));
  return absl::OkStatus();
}

CairnServer::~CairnServer() { Shutdown(); }

void CairnServer::Wait() { server_->Wait(); }

void CairnServer::Shutdown() {
  if (web_ != nullptr) web_->Shutdown();
  if (history_ != nullptr) history_->Stop();
  if (server_ == nullptr) return;
  catalog_backup_ref_->store(nullptr);
  core_->Stop();
  if (data_server_ != nullptr) {
    data_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace cairn

// Assembles a running cairn-server from a ServerConfig: state directory, its
// CA and TLS certificate, tiers and the server core, and the gRPC services
// over it (TLS only), and the first admin credential when there is none. Used by
// main() and by tests that need a real server in-process.
//
//   ASSIGN_OR_RETURN(auto server, CairnServer::Start(config));
//   server->Wait();  // or server->Shutdown()
#ifndef CAIRN_SERVER_SERVER_H_
#define CAIRN_SERVER_SERVER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/v1/config.pb.h"
#include "server/core/server_core.h"
#include "server/maintenance/placement_rules.h"
#include "server/recovery/catalog_backup.h"
#include "server/web/https_server.h"
#include "server/web/usage_history.h"

namespace cairn {

inline constexpr char kDefaultListen[] = "127.0.0.1:7420";

// The web listener's address when the config names none: `listen`'s host
// with the next port (port 0 stays 0); "" for a Unix socket.
std::string DefaultWebListen(const std::string& listen);

// The data port's address when the config names none: `listen`'s host with
// the port two after it (port 0 stays 0); "off" for a Unix socket.
std::string DefaultDataListen(const std::string& listen);

// Fills defaults and checks values; errors name the key.
absl::StatusOr<v1::ServerConfig> ResolveServerConfig(v1::ServerConfig config);

class CairnServer final {
 public:
  static absl::StatusOr<std::unique_ptr<CairnServer>> Start(const v1::ServerConfig& config);
  // With core options a test sets (clock, SQLite VFS, scheduler); the
  // config still decides pack size, lease and tiers.
  static absl::StatusOr<std::unique_ptr<CairnServer>> Start(const v1::ServerConfig& config,
                                                            CoreOptions options);
  ~CairnServer();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // The HTTPS listener's port (metrics, status page); 0 when it is off.
  int web_port() const { return web_ != nullptr ? web_->port() : 0; }
  // Why the web listener is off although the config did not turn it off
  // ("" when it runs or was turned off).
  const std::string& web_problem() const { return web_problem_; }
  // The data port (0 when it is off) and why it is off although the config
  // did not turn it off ("" otherwise).
  int data_port() const { return data_port_; }
  const std::string& data_problem() const { return data_problem_; }
  void Wait();
  void Shutdown();
  ServerCore* core() { return core_.get(); }
  // "sha256:...": what join tokens pin and what the server prints at start.
  const std::string& ca_fingerprint() const { return ca_fingerprint_; }
  // The first admin credentials file, when this start wrote it ("" otherwise).
  const std::string& admin_credentials_written() const { return admin_credentials_written_; }
  Catalog* catalog() { return &core_->catalog(); }
  // The catalog key file, when this start made it ("" otherwise).
  const std::string& catalog_key_created() const { return catalog_key_created_; }
  // Null when catalog_backup.disabled.
  CatalogBackup* catalog_backup() { return catalog_backup_.get(); }
  PlacementRules* placement_rules() { return placement_rules_.get(); }

 private:
  CairnServer() = default;
  // Binds the data port (docs/security.md, "The data channel"); a default
  // address that is taken only leaves it off.
  absl::Status StartDataPort(const std::string& listen, bool by_default);

  std::unique_ptr<ServerCore> core_;
  std::unique_ptr<CatalogBackup> catalog_backup_;    // destroyed before the core
  std::unique_ptr<PlacementRules> placement_rules_;  // destroyed first
  // What the core's catalog barrier calls; cleared before the backup goes.
  std::shared_ptr<std::atomic<CatalogBackup*>> catalog_backup_ref_ =
      std::make_shared<std::atomic<CatalogBackup*>>(nullptr);
  std::unique_ptr<grpc::Service> agent_service_;
  std::unique_ptr<grpc::Service> admin_service_;
  std::unique_ptr<grpc::Service> enroll_service_;
  std::unique_ptr<grpc::Service> access_service_;
  // Answers methods no service registered (UNIMPLEMENTED, as gRPC would);
  // gRPC requires one because the agent service marks the generated
  // UploadChunks generic to serve it from raw buffers (rpc/agent_service.cc).
  std::unique_ptr<grpc::CallbackGenericService> unknown_methods_;
  std::unique_ptr<grpc::Server> server_;
  // The data port's own server: UploadChunks of data sessions only.
  std::unique_ptr<grpc::Service> data_service_;
  std::unique_ptr<grpc::CallbackGenericService> data_unknown_methods_;
  std::unique_ptr<grpc::Server> data_server_;
  int data_port_ = 0;
  std::string data_problem_;
  std::unique_ptr<UsageHistory> history_;  // sampled for the status page's plots
  std::unique_ptr<HttpsServer> web_;
  std::string web_problem_;
  int port_ = 0;
  std::string ca_fingerprint_;
  std::string admin_credentials_written_;
  std::string catalog_key_created_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SERVER_H_

#include "agent/agent_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<v1::AgentConfig> ResolveAgentConfig(v1::AgentConfig config) {
  if (config.server().empty()) config.set_server("127.0.0.1:7420");
  if (config.name().empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    config.set_name(host[0] != '\0' ? host : "agent");
  }
  RETURN_IF_ERROR(ValidateAgentName(config.name(), "name"));
  if (config.tenant().empty()) config.set_tenant("default");
  RETURN_IF_ERROR(ValidateAgentName(config.tenant(), "tenant"));
  if (config.state_dir().empty()) config.set_state_dir("./cairn-state/agent");
  if (config.key_file().empty()) config.set_key_file(config.state_dir() + "/tenant.key");
  if (config.credentials_file().empty()) {
    config.set_credentials_file(config.state_dir() + "/agent.credentials");
  }
  if (config.codec().empty()) config.set_codec("auto");
  RETURN_IF_ERROR(ParseCodec(config.codec()).status());
  if (config.workers() == 0) {
    config.set_workers(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (config.workers() > 256) return absl::InvalidArgumentError("workers must be at most 256");
  if (!config.has_delta_chain()) config.set_delta_chain(kDefaultDeltaChain);
  if (config.delta_chain() > static_cast<uint32_t>(kMaxDeltaDepth)) {
    return absl::InvalidArgumentError(absl::StrCat("delta_chain must be 0 (no deltas) to ",
                                                   kMaxDeltaDepth, ", got ", config.delta_chain()));
  }
  if (!config.has_bundle_file_bytes()) config.set_bundle_file_bytes(kDefaultBundleFileBytes);
  if (config.bundle_file_bytes() > kMaxBundleFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("bundle_file_bytes must be 0 (no bundles) to ",
                                                   kMaxBundleFileBytes, ", got ",
                                                   config.bundle_file_bytes()));
  }
  for (const std::string& root : config.roots()) {
    if (root.empty() || root[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat("roots: \"", root, "\" is not absolute"));
    }
  }
  for (const std::string& target : config.restore_targets()) {
    if (target.empty() || target[0] != '/' || target.find_first_not_of('/') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "restore_targets: \"", target, "\" must be an absolute directory other than /"));
    }
  }
  if (config.restore_targets().empty()) {
    std::string restores = config.state_dir() + "/restores";
    if (restores[0] != '/') {
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) != nullptr) restores = absl::StrCat(cwd, "/", restores);
    }
    config.add_restore_targets(restores);
    for (const std::string& root : config.roots()) config.add_restore_targets(root);
  }
  if (config.has_chunker()) {
    ChunkerParams params{config.chunker().min_bytes(), config.chunker().avg_bytes(),
                         config.chunker().max_bytes()};
    absl::Status status = params.Validate();
    if (!status.ok())
      return absl::InvalidArgumentError(absl::StrCat("chunker: ", status.message()));
  }
  return config;
}

absl::StatusOr<std::unique_ptr<AgentCrypto>> LoadAgentCrypto(const v1::AgentConfig& config) {
  const char* env = std::getenv("CAIRN_PASSPHRASE");
  std::string passphrase = env != nullptr ? env : "";
  absl::StatusOr<SecretKey> master = ReadKeyFile(config.key_file(), passphrase);
  if (absl::IsNotFound(master.status())) {
    return absl::NotFoundError(
        absl::StrCat("no tenant key at ", config.key_file(),
                     "; create one with `cairn-agent init`, or copy the tenant's key file there "
                     "(every agent of a tenant needs the same key to dedup and restore)"));
  }
  if (absl::IsFailedPrecondition(master.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("the key file ", config.key_file(),
                     " is passphrase-protected; set CAIRN_PASSPHRASE in the agent's environment"));
  }
  if (!master.ok()) return master.status();
  TenantKeys keys = DeriveTenantKeys(*master);
  ChunkerParams chunker = ChunkerParams::Default();
  if (config.has_chunker()) {
    chunker = ChunkerParams{config.chunker().min_bytes(), config.chunker().avg_bytes(),
                            config.chunker().max_bytes()};
  }
  ASSIGN_OR_RETURN(CodecChoice codec, ParseCodec(config.codec()));
  return std::unique_ptr<AgentCrypto>(new AgentCrypto{
      ChunkHasher(keys.id_key), Sealer(keys.seal_key), codec, chunker, keys.key_check,
      ManifestKey(keys.meta_key), config.tenant(),
      config.has_delta_chain() ? static_cast<int>(config.delta_chain()) : kDefaultDeltaChain,
      config.has_bundle_file_bytes() ? config.bundle_file_bytes() : kDefaultBundleFileBytes});
}

absl::Status CreateKeyFile(const std::string& path, absl::string_view passphrase) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat("a key file already exists at ", path,
                                                 "; refusing to replace it (data sealed "
                                                 "with it could no longer be read)"));
  }
  RETURN_IF_ERROR(MakeDirectories(DirName(path), 0700));
  return WriteKeyFile(path, SecretKey::Random(), passphrase);
}

}  // namespace cairn

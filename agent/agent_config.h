// The agent's resolved configuration and its tenant crypto: defaults filled
// in, names checked, the key file read (or created by `cairn-agent init`), and
// the hasher, sealer, codec and chunker parameters every job uses.
#ifndef CAIRN_AGENT_AGENT_CONFIG_H_
#define CAIRN_AGENT_AGENT_CONFIG_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/v1/config.pb.h"
#include "common/chunk_id.h"
#include "common/chunker.h"
#include "common/codec.h"
#include "common/manifest_mac.h"
#include "common/seal.h"

namespace cairn {

// Fills defaults (server 127.0.0.1:7420, name = host name, tenant "default",
// state_dir ./cairn-state/agent, key_file state_dir/tenant.key,
// credentials_file state_dir/agent.credentials, workers = cores) and
// validates. Errors name the key.
absl::StatusOr<v1::AgentConfig> ResolveAgentConfig(v1::AgentConfig config);

// What the data path needs from the tenant key. Immutable, thread-safe.
struct AgentCrypto {
  ChunkHasher hasher;
  Sealer sealer;
  CodecChoice codec;
  ChunkerParams chunker;
  std::string key_check;  // the tenant key's check value (common/keys.h)
  ManifestKey manifest;   // signs and checks snapshot manifests
  std::string tenant;     // whose key this is (the config's tenant)
  // Longest chain of checkpoint deltas a backup builds (config delta_chain);
  // 0: store whole chunks only.
  int delta_chain = 4;
  // Files of at most this many bytes go into bundles (config
  // bundle_file_bytes, agent/file_bundles.h); 0: every file alone.
  uint32_t bundle_file_bytes = 64 << 10;
};

inline constexpr int kDefaultDeltaChain = 4;
inline constexpr uint32_t kDefaultBundleFileBytes = 64 << 10;
inline constexpr uint32_t kMaxBundleFileBytes = 1 << 20;

// Reads the key file named by the config. `passphrase` may be empty; the
// environment variable CAIRN_PASSPHRASE is used when it is.
absl::StatusOr<std::unique_ptr<AgentCrypto>> LoadAgentCrypto(const v1::AgentConfig& config);

// Creates a new random tenant key file (refuses to overwrite one).
absl::Status CreateKeyFile(const std::string& path, absl::string_view passphrase);

}  // namespace cairn

#endif  // CAIRN_AGENT_AGENT_CONFIG_H_

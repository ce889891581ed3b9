// Snapshot manifests the server cannot forge. When an agent commits a
// snapshot it sends a MAC, under a key derived from the tenant key
// (TenantKeys::meta_key), over what the snapshot claims: the tenant, the
// agent, the root path, the root tree's id and the snapshot's id (which
// follows from its job's, so the agent knows it before committing: an older
// signed manifest shown under a newer snapshot's id does not verify).
// Before an agent trusts a
// snapshot — to restore it, or as the parent of an incremental — it checks
// the MAC, then that every tree it reads hashes to the id its (checked)
// parent names: a Merkle tree under an authenticated root. A server (or
// anyone who writes its catalog) can hide or withhold snapshots, but it
// cannot make an agent write a tree, a mode or a chunk the tenant's agents
// did not back up.
//
//   ManifestKey key(keys.meta_key);
//   commit.set_manifest_mac(key.Mac({tenant, agent, root, root_tree_id}));
//   RETURN_IF_ERROR(key.Verify(manifest, snapshot.manifest_mac()));
#ifndef CAIRN_COMMON_MANIFEST_MAC_H_
#define CAIRN_COMMON_MANIFEST_MAC_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/secret_key.h"

namespace cairn {

inline constexpr size_t kManifestMacBytes = 32;

struct SnapshotManifest {
  absl::string_view tenant;
  absl::string_view agent;
  absl::string_view root;          // the absolute path backed up, raw bytes
  absl::string_view root_tree_id;  // 32 bytes
  absl::string_view snapshot_id;   // SnapshotIdForJob(job id) (common/ids.h)
};

class ManifestKey final {
 public:
  explicit ManifestKey(const SecretKey& meta_key);

  // BLAKE2b-256 keyed with the meta key over a length-prefixed encoding of
  // the manifest under a domain string.
  std::string Mac(const SnapshotManifest& manifest) const;
  // OK when `mac` is the manifest's MAC (compared in constant time);
  // DataLoss saying the snapshot cannot be trusted otherwise (also for an
  // empty MAC: a snapshot committed before manifests were signed).
  absl::Status Verify(const SnapshotManifest& manifest, absl::string_view mac) const;

 private:
  std::array<uint8_t, 32> key_{};
};

}  // namespace cairn

#endif  // CAIRN_COMMON_MANIFEST_MAC_H_

// A state bundle: the files a server needs to come back after its disk is
// lost (the catalog, its TLS CA and keys, the first admin credential), in one
// object on a tier, compressed and sealed with the catalog key, so whoever
// holds the bucket learns nothing and can change nothing.
//
// Layout: "CAIRNSB1", then frames. A frame is flags (1 byte, bit 0 = last) |
// sealed length (u32 LE) | Sealer output of the zstd-compressed plaintext
// (at most kBundleFrameBytes raw). Each frame's seal is bound to the object
// name, its index and its last flag, so frames cannot be reordered, swapped
// between bundles, dropped from the end or followed by more. The plaintext
// stream is entries: name length (u32 LE) | name | size (u64 LE) | bytes, and
// a name length of 0 ends it.
//
//   RETURN_IF_ERROR(WriteBundle({{"catalog.db", tmp}}, key, "catalog-1.cbk", writer.get()));
//   ASSIGN_OR_RETURN(auto names, ReadBundle(tier, "catalog-1.cbk", key, staging_dir));
#ifndef CAIRN_SERVER_RECOVERY_STATE_BUNDLE_H_
#define CAIRN_SERVER_RECOVERY_STATE_BUNDLE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/chunk_id.h"
#include "common/secret_key.h"
#include "server/tiers/tier.h"

namespace cairn {

inline constexpr size_t kBundleFrameBytes = 4 << 20;

struct BundleFile {
  std::string name;  // where it goes, relative to the state directory
  std::string path;  // where it is read from now
};

// The id a frame's seal is bound to: BLAKE2b of the object name, the
// frame's index and its last flag. (Tests build hostile bundles with it.)
ChunkId BundleFrameId(absl::string_view object, uint64_t index, bool last);

// Names a bundle may hold: "catalog.db", "admin.credentials", or "tls/" and
// an object name (ValidateObjectName). Anything else is InvalidArgument:
// a hostile bundle cannot write outside the state directory.
absl::Status ValidateBundleName(absl::string_view name);

// Streams `files` into `out` (which the caller commits). Memory: one frame.
absl::Status WriteBundle(const std::vector<BundleFile>& files, const SecretKey& key,
                         absl::string_view object, TierWriter* out);

// Reads `object` from `tier`, checking every frame, and writes its files
// under `dir` (creating "tls/" as needed, files mode 0600, fsynced). DataLoss
// for anything that does not open with `key`, is truncated or has bytes after
// its last frame; nothing written is then to be trusted (the caller stages
// into an empty directory). Returns the names written.
absl::StatusOr<std::vector<std::string>> ReadBundle(Tier* tier, absl::string_view object,
                                                    const SecretKey& key, const std::string& dir);

}  // namespace cairn

#endif  // CAIRN_SERVER_RECOVERY_STATE_BUNDLE_H_

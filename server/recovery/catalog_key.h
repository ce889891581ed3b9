// The catalog key: 32 random bytes that seal the state bundles a server
// writes to its tiers (state_bundle.h). Kept in one line of text,
// "cairn-catalog-key-v1 <64 hex digits>", so an operator can copy it into a
// password manager: recovering a server whose disk is gone needs it, and it
// is the one secret that must live somewhere else than that disk.
#ifndef CAIRN_SERVER_RECOVERY_CATALOG_KEY_H_
#define CAIRN_SERVER_RECOVERY_CATALOG_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/secret_key.h"

namespace cairn {

// Reads the key at `path`. NotFound if absent; InvalidArgument (naming the
// file) if it is not a catalog key.
absl::StatusOr<SecretKey> LoadCatalogKey(const std::string& path);

// Reads the key at `path`, or makes a new one there (mode 0600, written
// atomically) when there is none; *created says which.
absl::StatusOr<SecretKey> LoadOrCreateCatalogKey(const std::string& path, bool* created);

}  // namespace cairn

#endif  // CAIRN_SERVER_RECOVERY_CATALOG_KEY_H_

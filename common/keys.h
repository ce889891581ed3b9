// Tenant keys: one master key per tenant, kept in a key file on each agent, and
// the per-purpose subkeys derived from it (chunk ids, sealing). The key file is
// written atomically with mode 0600, optionally wrapped under a passphrase
// (Argon2id + XChaCha20-Poly1305); format and threat model in docs/security.md.
//
//   ASSIGN_OR_RETURN(SecretKey master, ReadKeyFile(path, passphrase));
//   TenantKeys keys = DeriveTenantKeys(master);
#ifndef CAIRN_COMMON_KEYS_H_
#define CAIRN_COMMON_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_key.h"

namespace cairn {

inline constexpr size_t kKeyCheckBytes = 16;

struct TenantKeys {
  SecretKey id_key;    // keys ChunkHasher
  SecretKey seal_key;  // keys Sealer
  SecretKey meta_key;  // keys the MACs of snapshot manifests (common/manifest_mac.h)
  // kKeyCheckBytes derived like the subkeys: equal for equal keys, and says
  // nothing about the key. The server keeps it per tenant to refuse a second key.
  std::string key_check;
};

// "ab12cd34ef56ab78": how a key check value is shown to people.
std::string KeyCheckText(absl::string_view key_check);

// Deterministic: the same master gives the same subkeys on every node, which is
// what lets nodes of one tenant dedup against each other. Subkeys are
// independent (crypto_kdf), so one leaking reveals neither the others nor the master.
TenantKeys DeriveTenantKeys(const SecretKey& master);

// The Argon2id work factor for wrapping a key file under a passphrase.
struct PassphraseCost {
  uint64_t opslimit;
  uint64_t memlimit;  // bytes
};
// libsodium's "moderate" limits: 3 passes over 256 MiB (about a second).
PassphraseCost DefaultPassphraseCost();
// What ReadKeyFile accepts. A file asking for more is refused before any
// memory is allocated, so a crafted file cannot make us allocate gigabytes.
inline constexpr uint64_t kMaxPassphraseOpslimit = 16;
inline constexpr uint64_t kMaxPassphraseMemlimit = uint64_t{1} << 30;

// Writes `master` to `path` atomically (temp file, fsync, rename, fsync dir)
// with mode 0600. An empty passphrase stores the key unwrapped (still with a
// magic, version and checksum so damage is detected); otherwise the key is
// wrapped with a key from Argon2id(passphrase) at DefaultPassphraseCost().
absl::Status WriteKeyFile(const std::string& path, const SecretKey& master,
                          absl::string_view passphrase);
// The same with an explicit Argon2id cost (InvalidArgument outside the bounds
// ReadKeyFile accepts). Ignored when `passphrase` is empty.
absl::Status WriteKeyFile(const std::string& path, const SecretKey& master,
                          absl::string_view passphrase, const PassphraseCost& cost);

// Reads a key file written by WriteKeyFile. Errors:
//   NotFound            no file at `path`;
//   DataLoss            damaged or truncated file, or not a cairn key file;
//   FailedPrecondition  the file is passphrase-protected and `passphrase` is empty;
//   PermissionDenied    "wrong passphrase";
//   ResourceExhausted   not enough memory for Argon2id.
// A passphrase given for an unwrapped file is ignored.
absl::StatusOr<SecretKey> ReadKeyFile(const std::string& path, absl::string_view passphrase);

}  // namespace cairn

#endif  // CAIRN_COMMON_KEYS_H_

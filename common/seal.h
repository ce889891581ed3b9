// Sealer encrypts and authenticates chunks (after compression) with a fresh
// per-chunk key, the chunk id bound as associated data, so the server stores
// data it cannot read and cannot swap between ids. Format and the reasoning
// behind it (no counters, why 96-bit GCM nonces are safe here): docs/security.md.
//
//   Sealer sealer(tenant_keys.seal_key);
//   RETURN_IF_ERROR(sealer.Seal(id, compressed, &out));
//   RETURN_IF_ERROR(sealer.Open(id, out, &compressed));
#ifndef CAIRN_COMMON_SEAL_H_
#define CAIRN_COMMON_SEAL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/chunk_id.h"
#include "common/secret_key.h"

namespace cairn {

// The first byte of every sealed chunk: format version and AEAD in one. A new
// layout or algorithm gets a new value; Open() refuses values it does not know.
enum class SealAlgorithm : uint8_t {
  kAes256Gcm = 0x01,          // OpenSSL EVP AES-256-GCM; chosen when the CPU has AES-NI.
  kXChaCha20Poly1305 = 0x02,  // libsodium, constant-time everywhere; the fallback.
};

// Sealed layout (sizes in bytes):
//   format (1) | salt (16) | nonce (12) | ciphertext (= plaintext size) | tag (16)
// The per-chunk key is keyed BLAKE2b(seal_key; salt, format || id); the AEAD's
// associated data is format || salt || nonce || id.
class Sealer final {
 public:
  static constexpr size_t kSaltSize = 16;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kHeaderSize = 1 + kSaltSize + kNonceSize;
  // Bytes Seal() adds to the plaintext, the same for every algorithm.
  static constexpr size_t kOverhead = kHeaderSize + kTagSize;

  // AES-256-GCM when the CPU has AES-NI and CLMUL (fast and constant-time),
  // else XChaCha20-Poly1305 (table-based software AES leaks through timing).
  static SealAlgorithm PreferredAlgorithm();

  explicit Sealer(const SecretKey& seal_key);
  // Forces an algorithm: for tests and benchmarks.
  Sealer(const SecretKey& seal_key, SealAlgorithm algorithm);

  SealAlgorithm algorithm() const { return algorithm_; }

  // Appends the sealed form of `plaintext` (plaintext.size() + kOverhead
  // bytes) to *out. Fails (appending nothing) only for a plaintext larger
  // than AES-GCM allows (64 GiB; chunks are at most 16 MiB) or when the
  // crypto library fails (Internal). Safe to call concurrently.
  absl::Status Seal(const ChunkId& id, absl::string_view plaintext, std::string* out) const;

  // Replaces *plaintext with the opened contents (any algorithm above, whatever
  // this Sealer seals with). DataLoss naming the chunk id if `sealed` is
  // truncated, has an unknown format byte, was tampered with anywhere, or was
  // sealed under another id or key; *plaintext is then empty. `sealed` must
  // not point into *plaintext. Safe to call concurrently.
  absl::Status Open(const ChunkId& id, absl::string_view sealed, std::string* plaintext) const;

 private:
  SecretKey key_;
  SealAlgorithm algorithm_;
};

}  // namespace cairn

#endif  // CAIRN_COMMON_SEAL_H_

// Chunk ids: a keyed 256-bit hash (HMAC-SHA-256) of a chunk's plaintext, so the
// server can dedup without reading data, while someone without the tenant's id
// key cannot test whether a guessed file is stored. Why HMAC-SHA-256 and not
// keyed BLAKE2b: docs/security.md (measured on our CPUs).
//
//   ChunkHasher hasher(tenant_keys.id_key);
//   ChunkId id = hasher.Hash(chunk);  request.set_chunk_id(std::string(ChunkIdBytes(id)));
#ifndef CAIRN_COMMON_CHUNK_ID_H_
#define CAIRN_COMMON_CHUNK_ID_H_

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_key.h"

namespace cairn {

using ChunkId = std::array<uint8_t, 32>;

// 64 lowercase hex digits.
std::string ChunkIdHex(const ChunkId& id);
// The 32 raw bytes, for protobuf `bytes` fields. Valid as long as `id` lives.
absl::string_view ChunkIdBytes(const ChunkId& id);
// InvalidArgument unless `b` is exactly 32 bytes.
absl::StatusOr<ChunkId> ChunkIdFromBytes(absl::string_view b);
// Parses ChunkIdHex's output (either case). InvalidArgument unless 64 hex digits.
absl::StatusOr<ChunkId> ChunkIdFromHex(absl::string_view hex);

// Hash() is const and safe to call from many threads at once on one hasher.
class ChunkHasher final {
 public:
  // Precomputes the keyed inner and outer SHA-256 states once, so each Hash()
  // costs the data plus two compression blocks. The key is not retained.
  explicit ChunkHasher(const SecretKey& id_key);
  ChunkHasher(ChunkHasher&&) noexcept = default;
  ChunkHasher& operator=(ChunkHasher&&) noexcept = default;
  ChunkHasher(const ChunkHasher&) = delete;
  ChunkHasher& operator=(const ChunkHasher&) = delete;
  ~ChunkHasher() = default;

  // HMAC-SHA-256(id_key, data).
  ChunkId Hash(absl::string_view data) const;

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const;
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> inner_;  // after absorbing key ^ ipad
  std::unique_ptr<EVP_MD_CTX, CtxFree> outer_;  // after absorbing key ^ opad
};

}  // namespace cairn

#endif  // CAIRN_COMMON_CHUNK_ID_H_

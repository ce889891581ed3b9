#include "common/chunk_id.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

constexpr size_t kSha256BlockSize = 64;

// Failures here mean OpenSSL could not allocate a few hundred bytes or lost
// its SHA-256 provider; no caller could do anything sensible with an error.
[[noreturn]] void DieOpenSsl(const char* what) {
  std::fprintf(stderr, "cairn: OpenSSL %s failed in ChunkHasher\n", what);
  std::abort();
}

const EVP_MD* Sha256() {
  // Fetched once: implicit fetching by name on every init would cost a lock
  // and a lookup per chunk in OpenSSL 3.
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) DieOpenSsl("EVP_MD_fetch(SHA256)");
    return fetched;
  }();
  return md;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ChunkIdHex(const ChunkId& id) { return absl::BytesToHexString(ChunkIdBytes(id)); }

absl::string_view ChunkIdBytes(const ChunkId& id) {
  return absl::string_view(reinterpret_cast<const char*>(id.data()), id.size());
}

absl::StatusOr<ChunkId> ChunkIdFromBytes(absl::string_view b) {
  ChunkId id;
  if (b.size() != id.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk id must be ", id.size(), " bytes, got ", b.size()));
  }
  std::memcpy(id.data(), b.data(), id.size());
  return id;
}

absl::StatusOr<ChunkId> ChunkIdFromHex(absl::string_view hex) {
  ChunkId id;
  if (hex.size() != 2 * id.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk id must be ", 2 * id.size(), " hex digits, got ", hex.size()));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("chunk id is not hex: ", hex));
    }
    id[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

void ChunkHasher::CtxFree::operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }

ChunkHasher::ChunkHasher(const SecretKey& id_key)
    : inner_(EVP_MD_CTX_new()), outer_(EVP_MD_CTX_new()) {
  if (!inner_ || !outer_) DieOpenSsl("EVP_MD_CTX_new");
  // HMAC (RFC 2104) with a key shorter than the block: zero-pad it to 64 bytes.
  uint8_t ipad[kSha256BlockSize];
  uint8_t opad[kSha256BlockSize];
  for (size_t i = 0; i < kSha256BlockSize; ++i) {
    uint8_t k = i < SecretKey::kSize ? id_key.data()[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  bool ok = EVP_DigestInit_ex(inner_.get(), Sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(inner_.get(), ipad, sizeof(ipad)) == 1 &&
            EVP_DigestInit_ex(outer_.get(), Sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(outer_.get(), opad, sizeof(opad)) == 1;
  sodium_memzero(ipad, sizeof(ipad));
  sodium_memzero(opad, sizeof(opad));
  if (!ok) DieOpenSsl("SHA-256 init");
}

ChunkId ChunkHasher::Hash(absl::string_view data) const {
  // A per-call context copied from the keyed templates keeps Hash() const and
  // lock-free; the allocation is noise next to hashing a chunk.
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) DieOpenSsl("EVP_MD_CTX_new");
  uint8_t inner_digest[32];
  ChunkId id;
  unsigned int len = 0;
  bool ok = EVP_MD_CTX_copy_ex(ctx.get(), inner_.get()) == 1 &&
            EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), inner_digest, &len) == 1 && len == sizeof(inner_digest) &&
            EVP_MD_CTX_copy_ex(ctx.get(), outer_.get()) == 1 &&
            EVP_DigestUpdate(ctx.get(), inner_digest, sizeof(inner_digest)) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), id.data(), &len) == 1 && len == id.size();
  if (!ok) DieOpenSsl("SHA-256");
  return id;
}

}  // namespace cairn

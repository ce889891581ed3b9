#include "common/seal.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sodium_init.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

static_assert(Sealer::kSaltSize == crypto_generichash_blake2b_SALTBYTES);
static_assert(Sealer::kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);

constexpr size_t kChunkKeySize = 32;
constexpr size_t kIdSize = std::tuple_size<ChunkId>::value;
constexpr size_t kAdSize = Sealer::kHeaderSize + kIdSize;
// BLAKE2b personalisation: keeps per-chunk keys apart from any other keyed
// BLAKE2b use of the same seal key. Exactly 16 bytes.
constexpr char kChunkKeyPersonal[crypto_generichash_blake2b_PERSONALBYTES + 1] = "cairn-chunk-key1";
// GCM's per-message limit (NIST SP 800-38D): 2^39 - 256 bits. OpenSSL's update
// calls take an int, so long inputs are fed in slices.
constexpr uint64_t kGcmMaxPlaintext = (uint64_t{1} << 36) - 32;
constexpr size_t kEvpSlice = size_t{1} << 30;

// Only memory exhaustion or a broken OpenSSL gets here: Internal, naming the step.
absl::Status CryptoFailure(const char* what) {
  return absl::InternalError(absl::StrCat("sealing: ", what, " failed (out of memory, or "
                                          "OpenSSL's AES-GCM is unavailable)"));
}

// Fetched once: implicit fetching by name on every call costs a lock and a lookup.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Wipes the per-chunk key when it goes out of scope, on every path.
struct ChunkKey {
  uint8_t bytes[kChunkKeySize];
  ~ChunkKey() { sodium_memzero(bytes, sizeof(bytes)); }
};

bool IsKnown(uint8_t format) {
  return format == static_cast<uint8_t>(SealAlgorithm::kAes256Gcm) ||
         format == static_cast<uint8_t>(SealAlgorithm::kXChaCha20Poly1305);
}

// key = BLAKE2b-256(key = seal_key, salt = salt, personal, message = format || id).
// The format byte keeps the two algorithms from ever sharing a key.
absl::Status DeriveChunkKey(const SecretKey& seal_key, const uint8_t* header, const ChunkId& id,
                            ChunkKey* out) {
  uint8_t message[1 + kIdSize];
  message[0] = header[0];
  std::memcpy(message + 1, id.data(), kIdSize);
  if (crypto_generichash_blake2b_salt_personal(
          out->bytes, kChunkKeySize, message, sizeof(message), seal_key.data(), SecretKey::kSize,
          header + 1, reinterpret_cast<const uint8_t*>(kChunkKeyPersonal)) != 0) {
    return CryptoFailure("deriving the chunk key");
  }
  return absl::OkStatus();
}

void BuildAd(const uint8_t* header, const ChunkId& id, uint8_t* ad) {
  std::memcpy(ad, header, Sealer::kHeaderSize);
  std::memcpy(ad + Sealer::kHeaderSize, id.data(), kIdSize);
}

// XChaCha20 wants 24 nonce bytes; the header's 12 random bytes are zero-extended.
// The extended nonce buys nothing here because every chunk key is fresh.
void XChaChaNonce(const uint8_t* header, uint8_t* nonce) {
  std::memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  std::memcpy(nonce, header + 1 + Sealer::kSaltSize, Sealer::kNonceSize);
}

absl::Status GcmSeal(const ChunkKey& key, const uint8_t* nonce, const uint8_t* ad,
                     const uint8_t* in, size_t n, uint8_t* out, uint8_t* tag) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || Aes256Gcm() == nullptr) return CryptoFailure("AES-256-GCM setup");
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.bytes, nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, ad, kAdSize) != 1) {
    return CryptoFailure("AES-256-GCM init");
  }
  for (size_t done = 0; done < n;) {
    size_t slice = std::min(n - done, kEvpSlice);
    if (EVP_EncryptUpdate(ctx.get(), out + done, &len, in + done, static_cast<int>(slice)) != 1) {
      return CryptoFailure("AES-256-GCM encrypt");
    }
    done += slice;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out + n, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, Sealer::kTagSize, tag) != 1) {
    return CryptoFailure("AES-256-GCM final");
  }
  return absl::OkStatus();
}

// OK with *authentic set: decrypted, and the tag matched or not.
absl::Status GcmOpen(const ChunkKey& key, const uint8_t* nonce, const uint8_t* ad,
                     const uint8_t* in, size_t n, const uint8_t* tag, uint8_t* out,
                     bool* authentic) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || Aes256Gcm() == nullptr) return CryptoFailure("AES-256-GCM setup");
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.bytes, nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, ad, kAdSize) != 1) {
    return CryptoFailure("AES-256-GCM init");
  }
  for (size_t done = 0; done < n;) {
    size_t slice = std::min(n - done, kEvpSlice);
    if (EVP_DecryptUpdate(ctx.get(), out + done, &len, in + done, static_cast<int>(slice)) != 1) {
      return CryptoFailure("AES-256-GCM decrypt");
    }
    done += slice;
  }
  // SET_TAG only copies the expected tag; the comparison happens in Final.
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, Sealer::kTagSize,
                          const_cast<uint8_t*>(tag)) != 1) {
    return CryptoFailure("AES-256-GCM set tag");
  }
  *authentic = EVP_DecryptFinal_ex(ctx.get(), out + n, &len) == 1;
  return absl::OkStatus();
}

}  // namespace

SealAlgorithm Sealer::PreferredAlgorithm() {
  EnsureSodiumInitialized();
  // libsodium's check is exactly "AES-NI and PCLMULQDQ present", the condition
  // under which OpenSSL's GCM runs in constant time.
  return crypto_aead_aes256gcm_is_available() ? SealAlgorithm::kAes256Gcm
                                              : SealAlgorithm::kXChaCha20Poly1305;
}

Sealer::Sealer(const SecretKey& seal_key) : Sealer(seal_key, PreferredAlgorithm()) {}

Sealer::Sealer(const SecretKey& seal_key, SealAlgorithm algorithm)
    : key_(seal_key.Clone()), algorithm_(algorithm) {
  EnsureSodiumInitialized();
}

absl::Status Sealer::Seal(const ChunkId& id, absl::string_view plaintext, std::string* out) const {
  const size_t n = plaintext.size();
  if (algorithm_ == SealAlgorithm::kAes256Gcm && n > kGcmMaxPlaintext) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk ", ChunkIdHex(id), ": ", n, " bytes is more than AES-GCM seals in one message"));
  }
  const size_t start = out->size();
  out->resize(start + n + kOverhead);
  uint8_t* header = reinterpret_cast<uint8_t*>(out->data()) + start;
  uint8_t* body = header + kHeaderSize;
  uint8_t* tag = body + n;
  const uint8_t* in = reinterpret_cast<const uint8_t*>(plaintext.data());

  // Salt and nonce are random, never counted: a rolled-back or cloned agent
  // has no state that could make it repeat them.
  header[0] = static_cast<uint8_t>(algorithm_);
  randombytes_buf(header + 1, kSaltSize + kNonceSize);
  ChunkKey key;
  absl::Status status = DeriveChunkKey(key_, header, id, &key);
  uint8_t ad[kAdSize];
  BuildAd(header, id, ad);
  const uint8_t* nonce = header + 1 + kSaltSize;

  if (status.ok() && algorithm_ == SealAlgorithm::kAes256Gcm) {
    status = GcmSeal(key, nonce, ad, in, n, body, tag);
  } else if (status.ok()) {
    uint8_t xnonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    XChaChaNonce(header, xnonce);
    unsigned long long tag_len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(body, tag, &tag_len, in, n, ad,
                                                            kAdSize, nullptr, xnonce,
                                                            key.bytes) != 0) {
      status = CryptoFailure("XChaCha20-Poly1305 encrypt");
    }
  }
  // Nothing half-sealed is left appended.
  if (!status.ok()) out->resize(start);
  return status;
}

absl::Status Sealer::Open(const ChunkId& id, absl::string_view sealed,
                          std::string* plaintext) const {
  plaintext->clear();
  if (sealed.size() < kOverhead) {
    return absl::DataLossError(absl::StrCat("chunk ", ChunkIdHex(id), ": sealed data is ",
                                            sealed.size(), " bytes, less than the ", kOverhead,
                                            "-byte header and tag"));
  }
  const uint8_t* header = reinterpret_cast<const uint8_t*>(sealed.data());
  if (!IsKnown(header[0])) {
    return absl::DataLossError(absl::StrFormat(
        "chunk %s: unknown seal format 0x%02x (damaged, or written by a newer cairn)",
        ChunkIdHex(id), header[0]));
  }
  const size_t n = sealed.size() - kOverhead;
  const uint8_t* body = header + kHeaderSize;
  const uint8_t* tag = body + n;
  ChunkKey key;
  RETURN_IF_ERROR(DeriveChunkKey(key_, header, id, &key));
  uint8_t ad[kAdSize];
  BuildAd(header, id, ad);

  plaintext->resize(n);
  uint8_t* out = reinterpret_cast<uint8_t*>(plaintext->data());
  bool ok = false;
  if (header[0] == static_cast<uint8_t>(SealAlgorithm::kAes256Gcm)) {
    if (n <= kGcmMaxPlaintext) {
      absl::Status opened = GcmOpen(key, header + 1 + kSaltSize, ad, body, n, tag, out, &ok);
      if (!opened.ok()) {
        plaintext->clear();
        return opened;
      }
    }
  } else {
    uint8_t xnonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    XChaChaNonce(header, xnonce);
    ok = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(out, nullptr, body, n, tag, ad,
                                                             kAdSize, xnonce, key.bytes) == 0;
  }
  if (!ok) {
    // GCM decrypts before it verifies; drop what an attacker may have shaped.
    plaintext->clear();
    return absl::DataLossError(absl::StrCat(
        "chunk ", ChunkIdHex(id),
        ": sealed data failed authentication (damaged, truncated, or sealed under another "
        "chunk id or key)"));
  }
  return absl::OkStatus();
}

}  // namespace cairn

#include "common/keys.h"

#include <sodium.h>

#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/le_coding.h"
#include "common/sodium_init.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// crypto_kdf context and subkey ids. Changing either changes every chunk id
// and makes existing sealed chunks unreadable: never do it.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "cairn-tk";
constexpr uint64_t kIdKeySubkeyId = 1;
constexpr uint64_t kSealKeySubkeyId = 2;
constexpr uint64_t kMetaKeySubkeyId = 3;
constexpr uint64_t kKeyCheckSubkeyId = 4;
static_assert(kKeyCheckBytes >= crypto_kdf_BYTES_MIN);

// Key file layout (integers little-endian):
//   magic "CAIRNKEY" (8) | version (1) | protection (1) | body | checksum (16)
// body, protection 0: key (32)
// body, protection 1: opslimit (8) | memlimit (8) | salt (16) | nonce (24) |
//                     XChaCha20-Poly1305(key) (32 + 16), AD = everything before it
// checksum = BLAKE2b-128 of everything before it. It only detects damage, so
// that a flipped bit reads as DataLoss rather than as a wrong passphrase.
constexpr char kMagic[] = "CAIRNKEY";
constexpr size_t kMagicSize = 8;
constexpr uint8_t kVersion = 1;
constexpr uint8_t kUnwrapped = 0;
constexpr uint8_t kWrapped = 1;
constexpr size_t kPrefixSize = kMagicSize + 2;
constexpr size_t kChecksumSize = 16;
constexpr size_t kSaltSize = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kWrappedKeySize = SecretKey::kSize + crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kUnwrappedFileSize = kPrefixSize + SecretKey::kSize + kChecksumSize;
constexpr size_t kLimitsOffset = kPrefixSize;
constexpr size_t kSaltOffset = kLimitsOffset + 16;
constexpr size_t kNonceOffset = kSaltOffset + kSaltSize;
constexpr size_t kWrappedKeyOffset = kNonceOffset + kNonceSize;
constexpr size_t kWrappedFileSize = kWrappedKeyOffset + kWrappedKeySize + kChecksumSize;
// Anything longer is not ours; read no further than this.
constexpr size_t kMaxKeyFileSize = 4096;

static_assert(crypto_kdf_KEYBYTES == SecretKey::kSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == SecretKey::kSize);
static_assert(crypto_pwhash_SALTBYTES == 16);


void Checksum(absl::string_view covered, uint8_t* out) {
  crypto_generichash(out, kChecksumSize, reinterpret_cast<const uint8_t*>(covered.data()),
                     covered.size(), nullptr, 0);
}

const uint8_t* U8(const char* p) { return reinterpret_cast<const uint8_t*>(p); }
uint8_t* U8(char* p) { return reinterpret_cast<uint8_t*>(p); }

absl::Status CheckCost(uint64_t opslimit, uint64_t memlimit) {
  if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > kMaxPassphraseOpslimit) {
    return absl::InvalidArgumentError(absl::StrCat("Argon2id opslimit ", opslimit, " is outside [",
                                                   crypto_pwhash_OPSLIMIT_MIN, ", ",
                                                   kMaxPassphraseOpslimit, "]"));
  }
  if (memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > kMaxPassphraseMemlimit) {
    return absl::InvalidArgumentError(absl::StrCat("Argon2id memlimit ", memlimit, " is outside [",
                                                   crypto_pwhash_MEMLIMIT_MIN, ", ",
                                                   kMaxPassphraseMemlimit, "]"));
  }
  return absl::OkStatus();
}

// The key that wraps the master key. ResourceExhausted when Argon2id cannot
// get its memory.
absl::Status PassphraseKey(absl::string_view passphrase, const char* salt, uint64_t opslimit,
                           uint64_t memlimit, uint8_t* key) {
  if (crypto_pwhash(key, SecretKey::kSize, passphrase.data(), passphrase.size(), U8(salt), opslimit,
                    static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("Argon2id with ", memlimit, " bytes failed (out of memory?)"));
  }
  return absl::OkStatus();
}

}  // namespace

TenantKeys DeriveTenantKeys(const SecretKey& master) {
  EnsureSodiumInitialized();
  uint8_t sub[SecretKey::kSize];
  auto wipe = absl::MakeCleanup([&] { sodium_memzero(sub, sizeof(sub)); });
  auto derive = [&](uint64_t subkey_id) {
    crypto_kdf_derive_from_key(sub, sizeof(sub), subkey_id, kKdfContext, master.data());
    // FromBytes cannot fail: the size is right by construction.
    return *SecretKey::FromBytes(
        absl::string_view(reinterpret_cast<const char*>(sub), sizeof(sub)));
  };
  SecretKey id_key = derive(kIdKeySubkeyId);
  SecretKey seal_key = derive(kSealKeySubkeyId);
  SecretKey meta_key = derive(kMetaKeySubkeyId);
  std::string check(kKeyCheckBytes, '\0');
  crypto_kdf_derive_from_key(U8(check.data()), check.size(), kKeyCheckSubkeyId, kKdfContext,
                             master.data());
  return TenantKeys{std::move(id_key), std::move(seal_key), std::move(meta_key),
                    std::move(check)};
}

std::string KeyCheckText(absl::string_view key_check) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key_check.substr(0, 8)) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

PassphraseCost DefaultPassphraseCost() {
  return PassphraseCost{crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}

absl::Status WriteKeyFile(const std::string& path, const SecretKey& master,
                          absl::string_view passphrase) {
  return WriteKeyFile(path, master, passphrase, DefaultPassphraseCost());
}

absl::Status WriteKeyFile(const std::string& path, const SecretKey& master,
                          absl::string_view passphrase, const PassphraseCost& cost) {
  EnsureSodiumInitialized();
  if (master.data() == nullptr) return absl::InvalidArgumentError("master key is empty");
  const bool wrapped = !passphrase.empty();
  if (wrapped) RETURN_IF_ERROR(CheckCost(cost.opslimit, cost.memlimit));

  std::string file(wrapped ? kWrappedFileSize : kUnwrappedFileSize, '\0');
  auto wipe_file = absl::MakeCleanup([&] { sodium_memzero(file.data(), file.size()); });
  std::memcpy(file.data(), kMagic, kMagicSize);
  file[kMagicSize] = static_cast<char>(kVersion);
  file[kMagicSize + 1] = static_cast<char>(wrapped ? kWrapped : kUnwrapped);
  if (!wrapped) {
    std::memcpy(file.data() + kPrefixSize, master.data(), SecretKey::kSize);
  } else {
    StoreLe64(cost.opslimit, &file[kLimitsOffset]);
    StoreLe64(cost.memlimit, &file[kLimitsOffset + 8]);
    randombytes_buf(&file[kSaltOffset], kSaltSize + kNonceSize);  // salt, then nonce
    uint8_t wrap_key[SecretKey::kSize];
    auto wipe_key = absl::MakeCleanup([&] { sodium_memzero(wrap_key, sizeof(wrap_key)); });
    RETURN_IF_ERROR(
        PassphraseKey(passphrase, &file[kSaltOffset], cost.opslimit, cost.memlimit, wrap_key));
    unsigned long long out_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        U8(&file[kWrappedKeyOffset]), &out_len, master.data(), SecretKey::kSize, U8(file.data()),
        kWrappedKeyOffset, nullptr, U8(&file[kNonceOffset]), wrap_key);
  }
  const size_t covered = file.size() - kChecksumSize;
  Checksum(absl::string_view(file.data(), covered), U8(&file[covered]));
  return WriteFileAtomically(path, file, 0600);
}

absl::StatusOr<SecretKey> ReadKeyFile(const std::string& path, absl::string_view passphrase) {
  EnsureSodiumInitialized();
  absl::StatusOr<std::string> read = ReadFileToString(path, kMaxKeyFileSize);
  if (absl::IsResourceExhausted(read.status())) {
    return absl::DataLossError(absl::StrCat("key file ", path, " is larger than ", kMaxKeyFileSize,
                                            " bytes: not a cairn key file"));
  }
  if (!read.ok()) return read.status();
  std::string file = *std::move(read);
  auto wipe_file = absl::MakeCleanup([&] { sodium_memzero(file.data(), file.size()); });
  auto damaged = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("key file ", path, ": ", why));
  };

  if (file.size() < kPrefixSize) return damaged("truncated");
  if (std::memcmp(file.data(), kMagic, kMagicSize) != 0) return damaged("not a cairn key file");
  const uint8_t version = static_cast<uint8_t>(file[kMagicSize]);
  if (version != kVersion) {
    return damaged(
        absl::StrCat("unsupported version ", version, " (this cairn reads ", kVersion, ")"));
  }
  const uint8_t protection = static_cast<uint8_t>(file[kMagicSize + 1]);
  size_t expected;
  if (protection == kUnwrapped) {
    expected = kUnwrappedFileSize;
  } else if (protection == kWrapped) {
    expected = kWrappedFileSize;
  } else {
    return damaged(absl::StrCat("unknown protection type ", protection));
  }
  if (file.size() != expected) {
    return damaged(absl::StrCat(file.size() < expected ? "truncated" : "trailing bytes", " (",
                                file.size(), " bytes, expected ", expected, ")"));
  }
  const size_t covered = file.size() - kChecksumSize;
  uint8_t sum[kChecksumSize];
  Checksum(absl::string_view(file.data(), covered), sum);
  if (sodium_memcmp(sum, &file[covered], kChecksumSize) != 0) {
    return damaged("checksum mismatch (file is damaged)");
  }

  if (protection == kUnwrapped) {
    return SecretKey::FromBytes(absl::string_view(file.data() + kPrefixSize, SecretKey::kSize));
  }
  const uint64_t opslimit = LoadLe64(&file[kLimitsOffset]);
  const uint64_t memlimit = LoadLe64(&file[kLimitsOffset + 8]);
  // Checked before Argon2id runs: the checksum is no defence against a file
  // crafted to make us allocate or spin without bound.
  if (absl::Status cost = CheckCost(opslimit, memlimit); !cost.ok()) {
    return damaged(cost.message());
  }
  if (passphrase.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path, " is protected by a passphrase, and none was given"));
  }
  uint8_t wrap_key[SecretKey::kSize];
  uint8_t master[SecretKey::kSize];
  auto wipe_keys = absl::MakeCleanup([&] {
    sodium_memzero(wrap_key, sizeof(wrap_key));
    sodium_memzero(master, sizeof(master));
  });
  RETURN_IF_ERROR(PassphraseKey(passphrase, &file[kSaltOffset], opslimit, memlimit, wrap_key));
  unsigned long long master_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          master, &master_len, nullptr, U8(&file[kWrappedKeyOffset]), kWrappedKeySize,
          U8(file.data()), kWrappedKeyOffset, U8(&file[kNonceOffset]), wrap_key) != 0 ||
      master_len != SecretKey::kSize) {
    return absl::PermissionDeniedError(absl::StrCat("key file ", path, ": wrong passphrase"));
  }
  return SecretKey::FromBytes(absl::string_view(reinterpret_cast<char*>(master), sizeof(master)));
}

}  // namespace cairn

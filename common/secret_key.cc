#include "common/secret_key.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sodium_init.h"

namespace cairn {

SecretKey::SecretKey() {
  EnsureSodiumInitialized();
  // sodium_malloc places the bytes right before a guard page, mlocks them when
  // RLIMIT_MEMLOCK allows (best effort: a failed mlock is not an error), and
  // sodium_free wipes them with sodium_memzero before unmapping. It fails only when mmap does, i.e.
  // out of memory.
  data_ = static_cast<uint8_t*>(sodium_malloc(kSize));
  if (data_ == nullptr) {
    std::fprintf(stderr, "cairn: sodium_malloc failed for a secret key\n");
    std::abort();
  }
}

SecretKey SecretKey::Random() {
  SecretKey key;
  randombytes_buf(key.mutable_data(), kSize);
  return key;
}

absl::StatusOr<SecretKey> SecretKey::FromBytes(absl::string_view bytes) {
  if (bytes.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret key must be ", kSize, " bytes, got ", bytes.size()));
  }
  SecretKey key;
  std::memcpy(key.mutable_data(), bytes.data(), kSize);
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    sodium_free(data_);  // Zeroes before unmapping; accepts nullptr.
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_free(data_); }

SecretKey SecretKey::Clone() const {
  SecretKey copy;
  if (data_ != nullptr) {
    std::memcpy(copy.mutable_data(), data_, kSize);
  } else {
    sodium_memzero(copy.mutable_data(), kSize);  // Not sodium_malloc's canary fill.
  }
  return copy;
}

bool SecretKey::Equals(const SecretKey& other) const {
  if (data_ == nullptr || other.data_ == nullptr) return false;
  return sodium_memcmp(data_, other.data_, kSize) == 0;
}

}  // namespace cairn

// SecretKey holds 32 bytes of key material in locked, guarded memory
// (sodium_malloc: mlock best effort, guard pages) and wipes it on destruction.
// Move-only, so a key has exactly one owner; Clone() makes a copy explicit.
//
//   SecretKey master = SecretKey::Random();
//   ASSIGN_OR_RETURN(SecretKey k, SecretKey::FromBytes(bytes_from_somewhere));
#ifndef CAIRN_COMMON_SECRET_KEY_H_
#define CAIRN_COMMON_SECRET_KEY_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

class SecretKey final {
 public:
  static constexpr size_t kSize = 32;

  // A fresh key from the OS random source.
  static SecretKey Random();
  // InvalidArgument unless `bytes` is exactly kSize long. The caller should
  // wipe its own copy (sodium_memzero) once this returns.
  static absl::StatusOr<SecretKey> FromBytes(absl::string_view bytes);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  // kSize bytes. A moved-from key holds nothing and returns nullptr.
  const uint8_t* data() const { return data_; }
  // A second, independent owner of the same bytes.
  SecretKey Clone() const;
  // Constant-time comparison (sodium_memcmp); false if either was moved from.
  bool Equals(const SecretKey& other) const;

 private:
  // Allocates guarded memory; the caller fills it.
  SecretKey();
  uint8_t* mutable_data() { return data_; }

  uint8_t* data_ = nullptr;
};

}  // namespace cairn

#endif  // CAIRN_COMMON_SECRET_KEY_H_

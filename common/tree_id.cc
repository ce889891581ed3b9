#include "common/tree_id.h"

#include <openssl/sha.h>

namespace cairn {

std::string TreeId(absl::string_view serialized_tree) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(serialized_tree.data()), serialized_tree.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace cairn

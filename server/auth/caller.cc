#include "server/auth/caller.h"

#include "absl/strings/str_cat.h"

namespace cairn {

std::string Caller::Describe() const {
  switch (kind) {
    case Kind::kTrusted:
      return "a caller on the trusted (plaintext) transport";
    case Kind::kAgent:
      return absl::StrCat("agent ", name, " of tenant ", tenant);
    case Kind::kAdmin:
      return absl::StrCat("credential ", name);
  }
  return "an unknown caller";
}

}  // namespace cairn

#include "server/auth/caller.h"

#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "no role";
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

}  // namespace

std::string Caller::Describe() const {
  switch (kind) {
    case Kind::kAnonymous:
      return "a caller without a client certificate";
    case Kind::kInternal:
      return "the server itself";
    case Kind::kAgent:
      return absl::StrCat("agent ", name, " of tenant ", tenant);
    case Kind::kAdmin:
      return absl::StrCat("credential ", name, " (", RoleName(role), ")");
  }
  return "an unknown caller";
}

std::string Caller::Principal() const {
  switch (kind) {
    case Kind::kAnonymous:
      return "anonymous";
    case Kind::kInternal:
      return "server";
    case Kind::kAgent:
      return absl::StrCat("agent:", tenant, "/", name);
    case Kind::kAdmin:
      return absl::StrCat("admin:", name);
  }
  return "unknown";
}

}  // namespace cairn

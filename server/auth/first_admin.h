// The first admin credential. On a server with no live admin credential,
// cairn-server writes one (role admin, valid a year) to
// STATE_DIR/admin.credentials, mode 0600, like a kubeconfig: whoever can
// read the server's state directory is its first admin. cairnctl reads it
// with --credentials or CAIRN_CREDENTIALS (and finds it by itself at the
// default state directory).
//
//   ASSIGN_OR_RETURN(std::string written, EnsureFirstAdmin(core->access(), path,
//   "127.0.0.1:7420"));
#ifndef CAIRN_SERVER_AUTH_FIRST_ADMIN_H_
#define CAIRN_SERVER_AUTH_FIRST_ADMIN_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/auth/access_service.h"

namespace cairn {

// Writes the file when there is no live admin credential and no file at
// `path`; returns `path` if it wrote it, "" otherwise. `server_address` is
// what clients dial ("127.0.0.1:7420").
absl::StatusOr<std::string> EnsureFirstAdmin(AccessService& access, const std::string& path,
                                             const std::string& server_address);
// The address a client on this host dials for a server listening on
// `listen` at `port`: a wildcard host becomes 127.0.0.1.
std::string LocalDialAddress(const std::string& listen, int port);

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_FIRST_ADMIN_H_

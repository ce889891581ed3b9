#include "server/auth/first_admin.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/text_config.h"

namespace cairn {

absl::StatusOr<std::string> EnsureFirstAdmin(AccessService& access, const std::string& path,
                                             const std::string& server_address) {
  ASSIGN_OR_RETURN(bool live, access.HasLiveAdmin());
  struct stat st;
  if (live || ::stat(path.c_str(), &st) == 0) return std::string();
  ASSIGN_OR_RETURN(v1::ClientCredentials credentials,
                   access.IssueAdminCredentials("admin", v1::ROLE_ADMIN, absl::Hours(24 * 365),
                                                "server (first admin)"));
  credentials.set_server(server_address);
  absl::Status written = WriteFileAtomically(path, PrintTextConfig(credentials), 0600);
  if (!written.ok()) {
    // Nobody holds its key: withdraw it, or the next start (seeing a live
    // admin) would write none and lock every admin out.
    absl::Status withdrawn = access.WithdrawUnheldAdmin(credentials.name());
    if (!withdrawn.ok()) {
      return absl::InternalError(absl::StrCat(written.message(),
                                              "; and withdrawing the unwritten "
                                              "credential failed too: ",
                                              withdrawn.message()));
    }
    return written;
  }
  return path;
}

std::string LocalDialAddress(const std::string& listen, int port) {
  if (absl::StartsWith(listen, "unix:")) return listen;  // TLS over a Unix socket
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return absl::StrCat(host, ":", port);
}

}  // namespace cairn

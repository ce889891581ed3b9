// Brings a server's state directory back from the newest state bundle on a
// tier (`cairn-server --recover-from-tier NAME`): the catalog, the TLS CA and
// keys (so enrolled agents keep working) and the first admin credential.
// Bundles that do not open (wrong key, damaged) are skipped for the next
// older one. Files are staged in STATE/recover.tmp and moved into place with
// the catalog last, so a recovery cut short leaves no catalog behind and can
// simply be run again.
#ifndef CAIRN_SERVER_RECOVERY_STATE_RECOVERY_H_
#define CAIRN_SERVER_RECOVERY_STATE_RECOVERY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secret_key.h"
#include "server/tiers/tier.h"

namespace cairn {

struct RecoveryReport {
  std::string object;                // the bundle recovered from
  std::vector<std::string> files;    // what it restored, relative to the state dir
  std::vector<std::string> skipped;  // newer bundles that did not open, and why
};

// FailedPrecondition when `state_dir` already holds a catalog (recovery
// never overwrites one: move it away first); NotFound when the tier holds no
// bundle; DataLoss when none opens.
absl::StatusOr<RecoveryReport> RecoverStateDir(Tier* tier, const SecretKey& key,
                                               const std::string& state_dir);

}  // namespace cairn

#endif  // CAIRN_SERVER_RECOVERY_STATE_RECOVERY_H_

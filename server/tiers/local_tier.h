// The local-filesystem tier: one directory, one file per object. Writers fill a
// temporary file "<object>~<random>" in the same directory; Commit fsyncs it,
// renames it over "<object>" and fsyncs the directory, so an object is either
// wholly there or absent after a crash. '~' is never part of an object name,
// so temporary files can never be mistaken for objects. Objects are written
// around the page cache (O_DIRECT, server/tiers/direct_writer.h) where the
// file system allows it: a pack is written once and read seldom.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Tier> hot, OpenLocalTier("hot", state_dir + "/packs"));
#ifndef CAIRN_SERVER_TIERS_LOCAL_TIER_H_
#define CAIRN_SERVER_TIERS_LOCAL_TIER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/tiers/tier.h"

namespace cairn {

struct LocalTierOptions {
  // Write objects with O_DIRECT (falling back where the file system refuses);
  // false: through the page cache (config `buffered_writes: true`).
  bool direct_writes = true;
};

// Opens (creating it, mode 0750, if needed) the tier in `dir`. Removes stale
// temporary files that a crash left behind, so `dir` must belong to one process
// (the server's state-directory lock ensures that). Objects are created with
// mode 0640 (minus the umask): the server's data, readable by its admin group.
// Objects live flat in `dir`; List() and Space() read the whole directory.
absl::StatusOr<std::unique_ptr<Tier>> OpenLocalTier(const std::string& name, const std::string& dir,
                                                    LocalTierOptions options = {});

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_LOCAL_TIER_H_

// The tiers of a server config, opened: local directories and S3 buckets.
// Credentials and region an S3 tier leaves empty are filled in from the
// standard AWS environment variables first (ResolveTierConfig), so that what
// the server runs with is what it was checked with.
#ifndef CAIRN_SERVER_OPEN_TIERS_H_
#define CAIRN_SERVER_OPEN_TIERS_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/v1/config.pb.h"
#include "server/tiers/tier.h"

namespace cairn {

// Checks one tier's config and fills in its defaults (from the environment
// for S3 credentials and region). InvalidArgument naming the tier and field.
absl::Status ResolveTierConfig(v1::TierConfig* tier);

// Opens every tier of a resolved config, in order.
absl::StatusOr<std::vector<std::unique_ptr<Tier>>> OpenConfiguredTiers(
    const v1::ServerConfig& config);

}  // namespace cairn

#endif  // CAIRN_SERVER_OPEN_TIERS_H_

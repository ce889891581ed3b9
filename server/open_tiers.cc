#include "server/open_tiers.h"

#include <cstdlib>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/s3/s3_tier.h"

namespace cairn {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

absl::Status ResolveS3(const std::string& tier, v1::S3TierConfig* s3) {
  auto bad = [&tier](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("tier ", tier, ": s3.", what));
  };
  if (s3->endpoint().empty()) return bad("endpoint must be set (\"https://host[:port]\")");
  if (s3->bucket().empty()) return bad("bucket must be set");
  if (s3->region().empty()) s3->set_region(Env("AWS_REGION"));
  if (s3->region().empty()) s3->set_region(Env("AWS_DEFAULT_REGION"));
  if (s3->region().empty()) s3->set_region("us-east-1");
  if (s3->access_key_id().empty() && s3->secret_access_key().empty()) {
    s3->set_access_key_id(Env("AWS_ACCESS_KEY_ID"));
    s3->set_secret_access_key(Env("AWS_SECRET_ACCESS_KEY"));
    if (s3->session_token().empty()) s3->set_session_token(Env("AWS_SESSION_TOKEN"));
  }
  if (s3->access_key_id().empty() || s3->secret_access_key().empty()) {
    return bad(
        "access_key_id and secret_access_key must be set, in the config or as "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (s3->part_bytes() == 0) s3->set_part_bytes(32u << 20);
  if (s3->part_bytes() < (5u << 20) || s3->part_bytes() > (5ull << 30)) {
    return bad("part_bytes must be between 5 MiB and 5 GiB (S3's limits)");
  }
  if (s3->max_attempts() == 0) s3->set_max_attempts(6);
  if (s3->max_attempts() > 100) return bad("max_attempts is at most 100");
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveTierConfig(v1::TierConfig* tier) {
  if (tier->name().empty()) return absl::InvalidArgumentError("tiers.name must be set");
  RETURN_IF_ERROR(ValidateObjectName(tier->name()));  // names go into object names
  switch (tier->kind_case()) {
    case v1::TierConfig::kLocal:
      if (tier->local().path().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tiers.local.path must be set for tier ", tier->name()));
      }
      return absl::OkStatus();
    case v1::TierConfig::kS3:
      return ResolveS3(tier->name(), tier->mutable_s3());
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("tier ", tier->name(), " needs a kind (local { path: ... } or s3 { ... })"));
  }
}

absl::StatusOr<std::vector<std::unique_ptr<Tier>>> OpenConfiguredTiers(
    const v1::ServerConfig& config) {
  std::vector<std::unique_ptr<Tier>> tiers;
  std::set<std::string> names;
  for (const v1::TierConfig& tier : config.tiers()) {
    if (!names.insert(tier.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("two tiers are named ", tier.name()));
    }
    if (tier.has_local()) {
      ASSIGN_OR_RETURN(std::unique_ptr<Tier> t,
                       OpenLocalTier(tier.name(), tier.local().path(),
                                     {.direct_writes = !tier.local().buffered_writes()}));
      tiers.push_back(std::move(t));
      continue;
    }
    const v1::S3TierConfig& s3 = tier.s3();
    S3TierOptions o;
    o.endpoint = s3.endpoint();
    o.region = s3.region();
    o.bucket = s3.bucket();
    o.prefix = s3.prefix();
    o.path_style = !s3.virtual_host();
    o.access_key_id = s3.access_key_id();
    o.secret_access_key = s3.secret_access_key();
    o.session_token = s3.session_token();
    o.storage_class = s3.storage_class();
    o.ca_file = s3.ca_file();
    o.part_bytes = s3.part_bytes();
    o.max_attempts = static_cast<int>(s3.max_attempts());
    ASSIGN_OR_RETURN(std::unique_ptr<Tier> t, OpenS3Tier(tier.name(), std::move(o)));
    tiers.push_back(std::move(t));
  }
  return tiers;
}

}  // namespace cairn

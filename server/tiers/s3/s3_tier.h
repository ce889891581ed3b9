// The S3 tier: objects in an S3-compatible bucket (AWS S3, Ceph RGW, MinIO,
// GCS and R2 through their S3 API), over libcurl, signed with SigV4 by cairn
// itself (s3_signer.h). Objects live under "<prefix><object>".
//
// Writes: a writer keeps at most two parts (part_bytes) in memory: one being
// filled while the one before it is sent on a thread of its own. An object
// that fits one part is one PUT at Commit; a larger one is a multipart upload
// whose parts go out as they fill, completed at Commit (atomic: the object
// appears whole or not at all). Every upload carries Content-MD5 and the
// payload's SHA-256 (signed), and the ETag S3 returns is checked against the
// MD5 where it is one.
//
// Reads are ranged GETs. Every request is retried with exponential backoff
// and full jitter on connection errors, timeouts, 5xx, 429 and SlowDown, and
// on a short body or a wrong ETag; never on 400/403/404.
//
//   S3TierOptions o;
//   o.endpoint = "https://s3.eu-west-1.amazonaws.com"; o.region = "eu-west-1";
//   o.bucket = "cairn-packs"; o.prefix = "cluster-a/";
//   o.access_key_id = ...; o.secret_access_key = ...;
//   ASSIGN_OR_RETURN(std::unique_ptr<Tier> cold, OpenS3Tier("cold", o));
#ifndef CAIRN_SERVER_TIERS_S3_S3_TIER_H_
#define CAIRN_SERVER_TIERS_S3_S3_TIER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/tiers/tier.h"

namespace cairn {

struct S3TierOptions {
  // "http(s)://host[:port]", no path. Required.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;  // required
  // Prepended to every object name; "" or ending in '/'. Objects under other
  // prefixes of the bucket are never listed, read or deleted.
  std::string prefix;
  // true: http://endpoint/bucket/key. false: http://bucket.endpoint/key.
  bool path_style = true;
  std::string access_key_id;      // required
  std::string secret_access_key;  // required
  std::string session_token;      // optional (temporary credentials)
  // x-amz-storage-class for every object written ("STANDARD_IA", "GLACIER_IR",
  // ...); empty: the bucket's default.
  std::string storage_class;
  // A CA bundle to trust instead of the system's, for endpoints with a
  // private CA. Empty: the system's.
  std::string ca_file;

  // Objects up to this size are one PUT; larger ones multipart uploads in
  // parts of this size. S3 needs at least 5 MiB (except for the last part).
  uint64_t part_bytes = 32u << 20;

  // Retries: attempts per request (first try included) and the backoff:
  // attempt n waits a uniformly random time in [0, min(max, base * 2^n)].
  int max_attempts = 6;
  absl::Duration backoff_base = absl::Milliseconds(200);
  absl::Duration backoff_max = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(10);
  // A transfer slower than 1 KiB/s for this long is abandoned (and retried).
  absl::Duration stall_timeout = absl::Seconds(30);
  // What Space() reports as free (object stores have no fixed size).
  uint64_t capacity_bytes = 1ull << 50;
};

// Checks the options (InvalidArgument naming the field) and opens the tier.
// Does not contact the endpoint: a store that is down at start is reported
// by the first request (and by `cairnctl tier list`), not by start-up.
absl::StatusOr<std::unique_ptr<Tier>> OpenS3Tier(const std::string& name, S3TierOptions options);

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_S3_S3_TIER_H_

// Tier: the one storage seam the server writes packs through. A tier is a flat
// namespace of named, immutable-once-committed objects with ranged reads; local
// disk and S3-compatible stores implement it, and wrappers (fault injection,
// later retries or rate limits) stack on top. Every tier passes the shared
// conformance suite in tests/tiers/tier_conformance_test.cc.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Tier> tier, OpenLocalTier("hot", "/var/lib/cairn/packs"));
//   ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> w, tier->Create("pack-0001"));
//   RETURN_IF_ERROR(w->Append(bytes));
//   RETURN_IF_ERROR(w->Commit());  // only now is "pack-0001" durable and listed
#ifndef CAIRN_SERVER_TIERS_TIER_H_
#define CAIRN_SERVER_TIERS_TIER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// Object names are [A-Za-z0-9._-]{1,128}, except "." and "..". Nothing else:
// no '/', so an object name can never reach outside its tier. InvalidArgument
// naming the bad name otherwise. Every Tier method checks its name with this.
inline constexpr size_t kMaxObjectNameBytes = 128;
absl::Status ValidateObjectName(absl::string_view object);

struct TierSpace {
  uint64_t used_bytes;  // sum of committed object sizes
  uint64_t free_bytes;  // what the backing store reports as available to us
  uint64_t objects;     // committed objects
};

// One object being written. Not visible under its name (List, Read, Size)
// until Commit() returns OK. Not thread-safe: one thread at a time per writer;
// different writers may be used from different threads concurrently.
class TierWriter {
 public:
  virtual ~TierWriter() = default;  // discards the data unless Commit() returned OK

  // Appends bytes. Errors: ResourceExhausted when the store is full, others as
  // they come. A writer that failed once stays failed: every later Append and
  // Commit returns that first error, because bytes may be missing in between.
  // FailedPrecondition after Commit().
  virtual absl::Status Append(absl::string_view data) = 0;

  // Makes the object durable and visible under its name, atomically: a reader
  // sees the previous object of that name or the whole new one, never a part.
  // Replaces an existing object of the same name. Call at most once (later
  // calls: FailedPrecondition). On error the caller must treat the object as
  // not stored; it may still have become visible (e.g. renamed, but the
  // directory fsync failed), so writing it again must be, and is, safe.
  virtual absl::Status Commit() = 0;

  // Bytes appended so far.
  virtual uint64_t size() const = 0;
};

// A storage tier. All methods are thread-safe. Object names are checked with
// ValidateObjectName (InvalidArgument) before anything else.
class Tier {
 public:
  virtual ~Tier() = default;

  // The configured name ("hot", "archive"), for logs and the catalog.
  virtual std::string name() const = 0;
  // The implementation: "local", "s3", ...
  virtual std::string kind() const = 0;

  // Starts writing `object`. Nothing is visible until the writer commits.
  // Concurrent writers of the same name are allowed: the last Commit wins.
  // A writer must not outlive the tier that created it.
  virtual absl::StatusOr<std::unique_ptr<TierWriter>> Create(absl::string_view object) = 0;

  // Create + Append + Commit in one call.
  virtual absl::Status Put(absl::string_view object, absl::string_view data) = 0;

  // Replaces *out with `length` bytes at `offset`. NotFound if the object does
  // not exist; OutOfRange if offset + length is beyond its end (nothing is
  // read and nothing is allocated for the request in that case). A zero-length
  // read at or before the end is OK.
  virtual absl::Status Read(absl::string_view object, uint64_t offset, size_t length,
                            std::string* out) = 0;

  // Size in bytes of a committed object. NotFound if absent.
  virtual absl::StatusOr<uint64_t> Size(absl::string_view object) = 0;

  // Removes a committed object durably. NotFound if absent. Writers in flight
  // for the same name are unaffected.
  virtual absl::Status Delete(absl::string_view object) = 0;

  // Names of committed objects, sorted bytewise. Never temporary or partial ones.
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;

  // List, only the names that start with `prefix`. The default filters
  // List(); object stores override it to ask the store for just those.
  virtual absl::StatusOr<std::vector<std::string>> ListWithPrefix(absl::string_view prefix);

  // Usage and free space.
  virtual absl::StatusOr<TierSpace> Space() = 0;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_TIER_H_

// Keeps garbage collection from deleting a chunk or tree that a running
// backup was told is stored (the restic #1141 race). The repository answers
// every "is it stored?" lookup for a backup through FindMissingAndProtect; the
// collector deletes rows only inside Sweep. Both take one lock (shared by
// lookups, exclusive by a sweep), so an id is either deleted before a lookup
// sees it (and reported missing) or the lookup's "present" protects it.
//
//   ASSIGN_OR_RETURN(missing, guard.FindMissingAndProtect(GcObject::kChunk, ids, lookup));
//   ... collector: Begin(); ForgetAnswersBefore(oldest); SetCandidates(); Sweep(); End().
//
// Two records of "present" answers protect ids:
//  - exact rescue: while a collection has its candidates set, a candidate
//    reported present is taken out of the deletion set (counted as rescued);
//  - a reuse log of Bloom filters holding every present answer, one filter
//    per period; a new period starts whenever a backup begins. A collection
//    keeps the periods from the start of the oldest live backup on, so answers
//    given before the collection began, to backups still running, protect
//    their ids too. A false positive only keeps garbage until a later run.
// The guard also remembers, between collections, since when each orphan
// pack object has been seen, so a pack that is being catalogued right now is
// never taken for an orphan.
#ifndef CAIRN_SERVER_INGEST_GC_GUARD_H_
#define CAIRN_SERVER_INGEST_GC_GUARD_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace cairn {

enum class GcObject { kChunk = 0, kTree = 1 };

// Why a sweep must leave a candidate alone.
enum class GcSpare {
  kNo,          // may be deleted
  kRescued,     // reported present to a backup while this collection ran
  kMaybeReused  // the reuse log may hold it: reported present to a live backup
};

class GcGuard final {
 public:
  // A period also ends after this many answers (about 2% false positives).
  static constexpr uint64_t kPeriodCapacity = 1'000'000;
  // Periods beyond this many are merged, oldest first (memory bound: 1 MiB each).
  static constexpr size_t kMaxPeriods = 16;

  explicit GcGuard(std::function<absl::Time()> clock);
  GcGuard(const GcGuard&) = delete;
  GcGuard& operator=(const GcGuard&) = delete;

  // --- The repository, answering a backup ---

  // Backup `job_id` has begun (before any answer to it): starts a period.
  void BackupBegan(absl::string_view job_id);
  // Runs `find_missing` (answers by index into `ids`, as the catalog does)
  // with no sweep in between, and records every id it did not report missing.
  absl::StatusOr<std::vector<uint32_t>> FindMissingAndProtect(
      GcObject kind, absl::Span<const std::string> ids,
      absl::FunctionRef<absl::StatusOr<std::vector<uint32_t>>()> find_missing);

  // --- The collector ---

  // Starts a collection and a new period. Aborted with "a garbage collection
  // is already running" if one is.
  absl::Status Begin();
  // Drops the periods that ended before the oldest of `live_backup_jobs` (the
  // backup jobs whose lease is live, read after Begin) began: none of them
  // heard those answers. Keeps everything if one began before this guard
  // existed (a restart), drops every ended period if none is live.
  void ForgetAnswersBefore(const std::vector<std::string>& live_backup_jobs);
  // From now on a present answer for one of `ids` rescues it (exactly).
  void SetCandidates(GcObject kind, const std::vector<std::string>& ids);

  // Tells a sweep which candidates must stay. Valid only inside Sweep.
  class Sparer {
   public:
    GcSpare Why(GcObject kind, absl::string_view id) const;

   private:
    friend class GcGuard;
    explicit Sparer(const GcGuard* guard) : guard_(guard) {}
    const GcGuard* guard_;
  };
  // Runs `body` holding the lock exclusively: no lookup runs meanwhile, so
  // what `body` deletes after asking the Sparer cannot be reported present.
  absl::Status Sweep(absl::FunctionRef<absl::Status(const Sparer&)> body);
  // Ends the collection (whatever its outcome) and forgets its candidates.
  void End();

  // Of the orphan pack objects `names` seen now on `tier`, those first seen at
  // least `grace` ago. Names no longer orphaned are forgotten.
  std::vector<std::string> OrphansDue(absl::string_view tier, const std::vector<std::string>& names,
                                      absl::Duration grace);

 private:
  struct Period {
    uint64_t first = 0;  // serial numbers; a merged period spans several
    uint64_t last = 0;
    bool open = true;
    uint64_t inserts = 0;
    std::vector<uint64_t> bits;  // allocated on first insert
  };

  void StartPeriod() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Record(GcObject kind, absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool MaybeReused(GcObject kind, absl::string_view id) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::function<absl::Time()> clock_;
  // Shared by lookups, exclusive by sweeps. Taken before mu_.
  absl::Mutex sweep_mu_;
  mutable absl::Mutex mu_ ABSL_ACQUIRED_AFTER(sweep_mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::string> candidates_[2] ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> rescued_[2] ABSL_GUARDED_BY(mu_);
  std::deque<Period> periods_ ABSL_GUARDED_BY(mu_);
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 1;
  // The period each backup began in; pruned by ForgetAnswersBefore.
  absl::flat_hash_map<std::string, uint64_t> began_in_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> orphans_first_seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_GC_GUARD_H_

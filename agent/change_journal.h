// The persistent set of root-relative paths that changed and are not yet in a
// committed snapshot, so a restart or a kill -9 loses none. The daemon Adds what
// the watcher reports, Syncs a few times a second, takes a Snapshot() before a
// backup and Commit()s its sequence once the snapshot is committed.
//
//   ASSIGN_OR_RETURN(auto journal, ChangeJournal::Open(state_dir + "/changes.journal"));
//   RETURN_IF_ERROR(journal->Add("models/ckpt-7/shard-0", absl::Now()));
//   RETURN_IF_ERROR(journal->Sync());
//   ChangeJournal::Pending pending = journal->Snapshot();
//   ... back up pending.paths (or everything) ...
//   RETURN_IF_ERROR(journal->Commit(pending.sequence));
#ifndef CAIRN_AGENT_CHANGE_JOURNAL_H_
#define CAIRN_AGENT_CHANGE_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/file_util.h"

namespace cairn {

struct ChangeJournalOptions {
  // The log is rewritten with only its live state once it is this large and
  // at least twice the size the live state needs.
  uint64_t compact_at_bytes = 4u << 20;
};

// Thread-safe: the watcher thread may Add while the backup thread takes
// Snapshots and Commits. One process at a time: Open takes an exclusive
// flock on the file and fails with FailedPrecondition if another holds it.
//
// A write or fsync that fails makes the journal fail every later call with
// the same error (after a failed fsync the kernel may have dropped the data;
// retrying would claim durability we do not have). Reopen it to recover:
// Open rebuilds the state from what reached the disk.
class ChangeJournal final {
 public:
  // Opens (creating) the journal at `path` and replays it. Damage is met
  // by keeping every record before the first unreadable one (bad length,
  // bad checksum, or a record that does not parse) and then:
  //  - a torn tail, i.e. nothing intact after that spot (a crash cut an
  //    append short, or left zeros): those bytes were never acknowledged by
  //    Sync, so they are dropped and the file truncated;
  //  - otherwise (an intact record follows, so acknowledged data was hit):
  //    the rest is dropped too, but "everything" is marked dirty so the next
  //    backup scans the whole root, and the file is rewritten clean. Changes
  //    are never lost that way, only made coarser.
  // recovery_note() says which happened and at which offset. A file that
  // does not start with the journal's magic is refused (FailedPrecondition)
  // and left untouched.
  static absl::StatusOr<std::unique_ptr<ChangeJournal>> Open(const std::string& path);
  static absl::StatusOr<std::unique_ptr<ChangeJournal>> Open(const std::string& path,
                                                             const ChangeJournalOptions& options);

  ChangeJournal(const ChangeJournal&) = delete;
  ChangeJournal& operator=(const ChangeJournal&) = delete;
  ~ChangeJournal();

  // Records that `path` (root-relative as in common/path_rules.h; "" means
  // the root itself, i.e. everything) changed at `when`. Buffered: durable
  // only once Sync() returns. A path already pending since the last Snapshot()
  // is only rewritten when its time moved by a second or more, so a file under
  // constant writes does not grow the log; after a crash a pending path's
  // time may therefore be up to a second older than its newest change.
  // InvalidArgument for a path that is not a valid relative path.
  absl::Status Add(absl::string_view path, absl::Time when);
  // Marks everything dirty: the next backup must scan the whole root (after an
  // inotify overflow, or at start-up reconcile). Same durability as Add.
  absl::Status AddEverything(absl::Time when);
  // Writes what Add buffered and fsyncs it. Cheap when nothing is buffered.
  // Sync and Commit may compact the log; if only that fails they return its
  // error, but the changes are durable all the same.
  absl::Status Sync();

  // What is pending: the paths (sorted, each with its newest change time),
  // whether everything is dirty, and `sequence`, the journal position the
  // snapshot covers (pass it to Commit).
  struct Pending {
    std::vector<std::pair<std::string, absl::Time>> paths;
    uint64_t sequence = 0;
    bool everything = false;
  };
  Pending Snapshot() const;

  // After a backup of a Snapshot() committed: forgets every change recorded
  // up to `sequence`; a path changed again after it stays pending. Durable on
  // return (also makes earlier Adds durable). InvalidArgument if `sequence`
  // is beyond the newest change recorded.
  absl::Status Commit(uint64_t sequence);

  // Pending paths, not counting the "everything" mark.
  size_t size() const;
  // Empty when Open found a clean file; else what it repaired, with offsets.
  const std::string& recovery_note() const { return recovery_note_; }

 private:
  struct Entry {
    uint64_t sequence = 0;    // of the newest record written for the path
    absl::Time when;          // newest change time seen (in memory)
    absl::Time written_when;  // the time in that record
  };

  ChangeJournal(std::string path, const ChangeJournalOptions& options)
      : path_(std::move(path)), options_(options) {}
  absl::Status Load();
  absl::Status AddLocked(absl::string_view path, absl::Time when)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyDirty(absl::string_view path, uint64_t sequence, absl::Time when)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyCommit(uint64_t sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushLocked(bool sync) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MaybeCompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records a sticky failure and returns it.
  absl::Status Fail(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const ChangeJournalOptions options_;
  std::string recovery_note_;

  mutable absl::Mutex mu_;
  UniqueFd fd_ ABSL_GUARDED_BY(mu_);
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  std::string buffer_ ABSL_GUARDED_BY(mu_);          // encoded records not yet written
  uint64_t file_bytes_ ABSL_GUARDED_BY(mu_) = 0;     // written, not counting buffer_
  bool unsynced_ ABSL_GUARDED_BY(mu_) = false;       // written since the last fsync
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;  // newest assigned
  mutable uint64_t last_snapshot_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  bool everything_ ABSL_GUARDED_BY(mu_) = false;
  Entry everything_entry_ ABSL_GUARDED_BY(mu_);
  uint64_t path_bytes_ ABSL_GUARDED_BY(mu_) = 0;        // sum of pending path lengths
  uint64_t compact_retry_at_ ABSL_GUARDED_BY(mu_) = 0;  // after a failed compaction
};

}  // namespace cairn

#endif  // CAIRN_AGENT_CHANGE_JOURNAL_H_

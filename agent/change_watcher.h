// Recursive inotify over one backup root: reports the root-relative paths that
// change, so the daemon's change journal knows what the next backup must read.
// Path "" means "events were lost: rescan everything". One thread Polls.
//
//   ASSIGN_OR_RETURN(auto watcher, ChangeWatcher::Start("/data", config.excludes()));
//   std::vector<WatchEvent> events;
//   RETURN_IF_ERROR(watcher->Poll(absl::Milliseconds(500), &events));
//   for (const WatchEvent& e : events) RETURN_IF_ERROR(journal->Add(e.path, e.when));
#ifndef CAIRN_AGENT_CHANGE_WATCHER_H_
#define CAIRN_AGENT_CHANGE_WATCHER_H_

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
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/exclude_rules.h"
#include "common/file_util.h"

namespace cairn {

// One changed name. A path is reported when the entry with that name was
// created, written, closed after writing, had its metadata changed, deleted,
// or renamed from or to. A directory's path means its entry changed; when a
// directory appears under a name (mkdir, or renamed from elsewhere) the whole
// subtree is new at that name, and consumers treat it so. For directories
// created or moved in from outside the root the watcher also reports every
// entry found inside (files may be created before their directory is watched);
// a directory renamed within the root is reported by its two names only.
struct WatchEvent {
  std::string path;                 // root-relative; "" = rescan everything
  absl::Time when;                  // when Poll read the event (inotify carries no time)
  bool closed_after_write = false;  // IN_CLOSE_WRITE: a writer just closed it
};

struct WatcherStats {
  uint64_t watched_directories = 0;
  uint64_t overflows = 0;  // IN_Q_OVERFLOW seen: the kernel dropped events
  uint64_t events = 0;     // reported so far (after merging repeats)
  // The last thing that went wrong, for status pages; empty if nothing did.
  std::string problem;
  // Some directories could not be watched (watch limit, permissions, over-long
  // paths): changes below them go unseen until the watcher rebuilds (after an
  // overflow, or when the root comes back). The daemon should fall back to
  // periodic full scans while this is set.
  bool incomplete = false;
};

struct ChangeWatcherOptions {
  // Test-only: behave as if inotify_add_watch failed with ENOSPC (the watch
  // limit) once this many directories are watched. 0 = only the kernel's limit.
  size_t max_watches = 0;
  // Entries of newly appeared directories reported per Poll; past this Poll
  // reports "" instead, so moving a large tree in does not balloon memory.
  size_t max_new_entries_per_poll = 65536;
};

class ChangeWatcher final {
 public:
  // Watches `root` (reached through a symlink if it is one; nothing below it
  // is followed) and every directory below it. `excludes` are glob patterns
  // matched as the backup does: against the relative path (FNM_PATHNAME) and
  // against the bare name; excluded directories are not watched and excluded
  // names are not reported. Hitting the watch limit while setting up is not
  // an error: stats().incomplete is set and the first Poll reports "".
  // NotFound / FailedPrecondition if the root is missing or not a directory.
  static absl::StatusOr<std::unique_ptr<ChangeWatcher>> Start(const std::string& root,
                                                              std::vector<std::string> excludes);
  static absl::StatusOr<std::unique_ptr<ChangeWatcher>> Start(const std::string& root,
                                                              std::vector<std::string> excludes,
                                                              const ChangeWatcherOptions& options);

  ChangeWatcher(const ChangeWatcher&) = delete;
  ChangeWatcher& operator=(const ChangeWatcher&) = delete;
  ~ChangeWatcher();

  // Waits up to `timeout` (blocked in poll(2): no CPU while idle) for events
  // and appends them to *events; consecutive repeats of one path are merged.
  // Reports a single "" (and records it in stats()) when events were lost:
  // on IN_Q_OVERFLOW (then re-walks the tree to watch directories whose
  // creation it missed), on reaching the watch limit, and when the root
  // itself is deleted or moved away. While the root is gone every Poll tries
  // to watch it again and reports "" once it is back. OK on timeout; an error
  // only when the inotify descriptor itself fails.
  absl::Status Poll(absl::Duration timeout, std::vector<WatchEvent>* events);

  // Safe to call from any thread.
  WatcherStats stats() const;
  // The inotify descriptor, readable when events wait (for an outer poll()).
  int fd() const { return fd_.get(); }

  // Test-only: the next Poll handles an IN_Q_OVERFLOW as if the kernel had
  // queued one (through the same parsing and handling as real events).
  void InjectOverflowForTest();

 private:
  struct Dir {
    int parent = -1;   // wd of the parent; -1 for the root
    std::string name;  // "" for the root
  };
  // What one Poll has gathered so far.
  struct PollState {
    absl::Time now;
    std::vector<WatchEvent>* events;
    size_t first;  // events before this index were there before the Poll
    size_t new_entries = 0;
    uint64_t emitted = 0;
  };

  ChangeWatcher(std::string root, std::vector<std::string> excludes,
                const ChangeWatcherOptions& options, UniqueFd fd);

  // Reads what the kernel queued, at most a bounded amount per call.
  absl::Status ReadEvents(PollState* state);
  void HandleBuffer(const char* data, size_t size, PollState* state);
  void HandleEvent(int wd, uint32_t mask, uint32_t cookie, const std::string& name,
                   PollState* state);
  void Emit(std::string path, bool closed_after_write, PollState* state);

  // Watches root_/rel (child `name` of `parent`); returns the wd or -1.
  int AddWatch(int parent, const std::string& name, const std::string& rel);
  // Watches a directory that just appeared and everything below it; reports
  // what it finds inside when `state` is given.
  void WatchTree(int parent, const std::string& name, const std::string& rel, PollState* state);
  // Re-walks the whole root: watches every directory, drops stale watches.
  // An error only if the root itself cannot be watched.
  absl::Status Rebuild();
  void TryRestoreRoot();
  void LoseRoot(const std::string& why);
  void Reparent(int wd, int parent, const std::string& name);
  void Forget(int wd);  // drops our record of one watch (the kernel's is gone)
  void RemoveSubtree(int wd);
  bool PathOf(int wd, std::string* path) const;
  bool Excluded(const std::string& path, const std::string& name) const;
  void SetProblem(std::string problem, bool incomplete);

  const std::string root_;
  const ExcludeRules excludes_;
  const ChangeWatcherOptions options_;
  UniqueFd fd_;
  int root_wd_ = -1;  // -1 while the root is gone
  absl::flat_hash_map<int, Dir> dirs_;
  absl::flat_hash_map<std::pair<int, std::string>, int> children_;  // (parent, name) -> wd
  // Directory renames seen leaving a directory, by cookie, until the matching
  // IN_MOVED_TO shows where they went (else they left the root).
  absl::flat_hash_map<uint32_t, int> moves_;
  bool rebuild_needed_ = false;
  bool report_everything_ = false;
  bool incomplete_ = false;
  std::string injected_;  // raw inotify records queued by InjectOverflowForTest

  mutable absl::Mutex stats_mu_;
  WatcherStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace cairn

#endif  // CAIRN_AGENT_CHANGE_WATCHER_H_

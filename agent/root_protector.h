// Protects one root in daemon mode: a ChangeWatcher feeds a persistent
// ChangeJournal, so the daemon always knows what changed since the last
// snapshot, and a restart or kill -9 loses nothing (at start-up the whole
// root is marked for a reconciling metadata scan). Backups of the root — the
// continuous ones this protector commits itself and the ones the server
// orders — go through Backup(), which walks only what the journal names and
// holds back consistency groups that are still being written.
//
// Continuous mode: once something changed, the files have been quiet for
// `quiet`, and `interval` has passed since the last snapshot, an incremental
// snapshot is committed.
//
// A journal that fails (a write or fsync error) is a problem in the state the
// daemon reports (and so in the server's status); until it is reopened, which
// the protector tries every few seconds, every backup scans the whole root,
// so no change goes unseen.
#ifndef CAIRN_AGENT_ROOT_PROTECTOR_H_
#define CAIRN_AGENT_ROOT_PROTECTOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/agent_config.h"
#include "agent/backup_runner.h"
#include "agent/change_journal.h"
#include "agent/change_watcher.h"
#include "agent/server_connection.h"

namespace cairn {

struct ProtectionSettings {
  std::string root;  // absolute
  bool continuous = false;
  absl::Duration interval = absl::Seconds(60);
  absl::Duration quiet = absl::Seconds(2);
  std::vector<v1::ConsistencyGroup> groups;
  std::vector<std::string> excludes;
  uint64_t bandwidth_bytes_per_second = 0;
  uint32_t workers = 0;
  // Passed to every backup of the root (BackupOptions::on_entry); tests only.
  std::function<void(const std::string& path)> on_entry;
};

struct ProtectionState {
  uint64_t pending_paths = 0;
  absl::Time last_change = absl::InfinitePast();
  absl::Time last_snapshot = absl::InfinitePast();
  uint64_t overflows = 0;
  uint64_t watched_directories = 0;
  std::string problem;
};

class RootProtector final {
 public:
  // The journal lives in `state_dir`/journal-<hash of root>.
  static absl::StatusOr<std::unique_ptr<RootProtector>> Start(
      ProtectionSettings settings, const v1::AgentConfig& config, const AgentCrypto& crypto,
      ServerConnection* connection);
  ~RootProtector();

  void Update(ProtectionSettings settings);
  // A backup of the root with the journal's knowledge; one at a time.
  absl::StatusOr<BackupResult> Backup(v1::BackupLevel level, const std::string& job_id,
                                      BackupOptions::ProgressFn progress);
  ProtectionState state();
  const std::string& root() const { return root_; }

 private:
  RootProtector(std::string root, const v1::AgentConfig& config, const AgentCrypto& crypto,
                ServerConnection* connection)
      : root_(std::move(root)), config_(config), crypto_(crypto), connection_(connection) {}
  void Loop();
  void Record(const std::vector<WatchEvent>& events);
  // The journal failed: say so in the state, and scan everything until it works.
  void JournalFailed(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tries to reopen a failed journal (on the loop's thread).
  void ReopenJournal();
  // Root-relative directory of the consistency group `path` lies in, if any.
  std::string GroupOf(const std::string& path) ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::string root_;
  const v1::AgentConfig& config_;
  const AgentCrypto& crypto_;
  ServerConnection* connection_;
  std::unique_ptr<ChangeWatcher> watcher_;
  absl::Mutex backup_mu_;  // one backup of this root at a time
  // Replaced (when reopened) only holding both backup_mu_ and mu_, on the
  // loop's thread: used under backup_mu_ by backups, under mu_ or on the loop
  // thread otherwise.
  std::unique_ptr<ChangeJournal> journal_;

  absl::Mutex mu_;
  ProtectionSettings settings_ ABSL_GUARDED_BY(mu_);
  absl::Time last_change_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_snapshot_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Newest event under each consistency-group directory.
  absl::flat_hash_map<std::string, absl::Time> group_activity_ ABSL_GUARDED_BY(mu_);
  std::string problem_ ABSL_GUARDED_BY(mu_);
  std::string journal_problem_ ABSL_GUARDED_BY(mu_);  // empty while the journal works
  absl::Time journal_failed_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The whole root is marked (start-up reconcile, overflow): a backup is due
  // even though no single path is pending.
  bool whole_root_pending_ ABSL_GUARDED_BY(mu_) = true;

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_ROOT_PROTECTOR_H_

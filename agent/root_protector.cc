#include "agent/root_protector.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/log/log.h"
#include "common/path_rules.h"
#include "common/status_macros.h"
#include "common/tree_id.h"

namespace cairn {
namespace {

// One journal per root, named by a hash of the root's path.
std::string JournalName(const std::string& root) {
  return absl::StrCat("journal-", HexOf(absl::string_view(TreeId(root)).substr(0, 8)));
}

absl::Time ChangeTime(const struct stat& st) { return absl::TimeFromTimespec(st.st_ctim); }

// How long a marker must have stood unchanged to count: a writer that has
// created the marker but not yet written it (an empty `.metadata`) must not
// make its group look complete.
constexpr absl::Duration kMarkerQuiet = absl::Milliseconds(500);

// Whether the marker at `path` exists and has not changed since `now` -
// kMarkerQuiet.
bool MarkerStands(const std::string& path, absl::Time now) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && now - ChangeTime(st) >= kMarkerQuiet;
}

// The newest inode change time (writes move it too) of the directory open as
// `fd` and of everything below it, not following symlinks.
absl::Time NewestChangeBelow(int fd, int depth) {
  struct stat st;
  if (fstat(fd, &st) != 0) return absl::InfiniteFuture();  // unknown: not settled
  absl::Time newest = ChangeTime(st);
  int dup_fd = dup(fd);
  if (dup_fd < 0) return absl::InfiniteFuture();
  DIR* dir = fdopendir(dup_fd);
  if (dir == nullptr) {
    close(dup_fd);
    return absl::InfiniteFuture();
  }
  while (struct dirent* d = readdir(dir)) {
    absl::string_view name(d->d_name);
    if (name == "." || name == "..") continue;
    if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile; the directory's ctime moved
      newest = absl::InfiniteFuture();
      break;
    }
    newest = std::max(newest, ChangeTime(st));
    if (S_ISDIR(st.st_mode) && depth < 64) {
      UniqueFd child(openat(fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) {
        newest = absl::InfiniteFuture();
        break;
      }
      newest = std::max(newest, NewestChangeBelow(child.get(), depth + 1));
    }
  }
  closedir(dir);
  return newest;
}

absl::Time NewestChangeBelow(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return absl::InfiniteFuture();
  return NewestChangeBelow(fd.get(), 0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RootProtector>> RootProtector::Start(ProtectionSettings settings,
                                                                    const v1::AgentConfig& config,
                                                                    const AgentCrypto& crypto,
                                                                    ServerConnection* connection) {
  std::unique_ptr<RootProtector> p(new RootProtector(settings.root, config, crypto, connection));
  RETURN_IF_ERROR(MakeDirectories(config.state_dir(), 0700));
  ASSIGN_OR_RETURN(p->journal_,
                   ChangeJournal::Open(config.state_dir() + "/" + JournalName(settings.root)));
  // Whatever happened while no watcher ran is unknown: the next backup
  // compares every file's metadata with the last snapshot (reconcile).
  RETURN_IF_ERROR(p->journal_->AddEverything(absl::Now()));
  RETURN_IF_ERROR(p->journal_->Sync());
  absl::StatusOr<std::unique_ptr<ChangeWatcher>> watcher =
      ChangeWatcher::Start(settings.root, settings.excludes);
  if (watcher.ok()) {
    p->watcher_ = *std::move(watcher);
  } else {
    // Without a watcher every backup is a full metadata scan; say so.
    p->problem_ = absl::StrCat("not watching ", settings.root, ": ", watcher.status().message());
  }
  {
    absl::MutexLock lock(&p->mu_);
    p->settings_ = std::move(settings);
  }
  p->thread_ = std::thread([raw = p.get()] { raw->Loop(); });
  return p;
}

RootProtector::~RootProtector() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RootProtector::Update(ProtectionSettings settings) {
  absl::MutexLock lock(&mu_);
  settings_ = std::move(settings);
}

ProtectionState RootProtector::state() {
  ProtectionState s;
  absl::MutexLock lock(&mu_);
  s.pending_paths = journal_->size();
  s.last_change = last_change_;
  s.last_snapshot = last_snapshot_;
  s.problem = problem_;
  if (!journal_problem_.empty()) {
    s.problem =
        s.problem.empty() ? journal_problem_ : absl::StrCat(s.problem, "; ", journal_problem_);
  }
  if (watcher_ != nullptr) {
    WatcherStats w = watcher_->stats();
    s.overflows = w.overflows;
    s.watched_directories = w.watched_directories;
    if (s.problem.empty()) s.problem = w.problem;
  }
  return s;
}

std::string RootProtector::GroupOf(const std::string& path) {
  // The nearest ancestor directory (or the path itself) that a group's glob matches.
  std::string dir = path;
  while (true) {
    for (const v1::ConsistencyGroup& g : settings_.groups) {
      if (!dir.empty() && fnmatch(g.path().c_str(), dir.c_str(), FNM_PATHNAME) == 0) return dir;
    }
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos) return "";
    dir.resize(slash);
  }
}

void RootProtector::JournalFailed(const absl::Status& status) {
  if (journal_problem_.empty()) {
    log::Error("journal.failed", {{"root", root_},
                                  {"error", status},
                                  {"effect", "backups scan the whole root until it reopens"}});
  }
  journal_problem_ = absl::StrCat("change journal of ", root_, " failed (", status.message(),
                                  "); backups scan the whole root until it is reopened");
  journal_failed_at_ = absl::Now();
  whole_root_pending_ = true;
}

void RootProtector::ReopenJournal() {
  {
    absl::MutexLock lock(&mu_);
    if (journal_problem_.empty() || absl::Now() - journal_failed_at_ < absl::Seconds(5)) return;
  }
  absl::MutexLock one_at_a_time(&backup_mu_);
  absl::StatusOr<std::unique_ptr<ChangeJournal>> reopened =
      ChangeJournal::Open(config_.state_dir() + "/" + JournalName(root_));
  absl::Status status = reopened.status();
  // What happened while it was failing is unknown: everything is dirty.
  if (status.ok()) status = (*reopened)->AddEverything(absl::Now());
  if (status.ok()) status = (*reopened)->Sync();
  absl::MutexLock lock(&mu_);
  if (!status.ok()) {
    JournalFailed(status);
    return;
  }
  journal_ = *std::move(reopened);
  journal_problem_.clear();
  log::Info("journal.reopened", {{"root", root_}});
}

void RootProtector::Record(const std::vector<WatchEvent>& events) {
  absl::MutexLock lock(&mu_);
  for (const WatchEvent& e : events) {
    absl::Status added = journal_->Add(e.path, e.when);
    if (!added.ok()) JournalFailed(added);
    last_change_ = std::max(last_change_, e.when);
    if (e.path.empty()) whole_root_pending_ = true;
    std::string group = GroupOf(e.path);
    if (!group.empty()) group_activity_[group] = e.when;
  }
}

void RootProtector::Loop() {
  std::vector<WatchEvent> events;
  absl::Time last_sync = absl::Now();
  while (!stop_) {
    events.clear();
    if (watcher_ != nullptr) {
      absl::Status polled = watcher_->Poll(absl::Milliseconds(250), &events);
      if (!polled.ok()) {
        absl::MutexLock lock(&mu_);
        if (problem_ != polled.message()) {
          log::Warn("watcher.problem", {{"root", root_}, {"error", polled}});
        }
        problem_ = std::string(polled.message());
      }
    } else {
      absl::SleepFor(absl::Milliseconds(250));
    }
    if (!events.empty()) Record(events);
    absl::Time now = absl::Now();
    if (now - last_sync >= absl::Milliseconds(200)) {
      absl::Status synced = journal_->Sync();  // a few fsyncs a second at most
      if (!synced.ok()) {
        absl::MutexLock lock(&mu_);
        JournalFailed(synced);
      }
      last_sync = now;
    }
    ReopenJournal();
    bool due = false;
    {
      absl::MutexLock lock(&mu_);
      due = settings_.continuous && (whole_root_pending_ || journal_->size() > 0) &&
            now - last_change_ >= settings_.quiet && now - last_snapshot_ >= settings_.interval;
    }
    if (due) {
      absl::StatusOr<BackupResult> result = Backup(v1::BACKUP_LEVEL_INCREMENTAL, "", nullptr);
      if (result.ok()) {
        LogBackupCommitted("continuous", "", root_, result->snapshot);
      } else {
        log::Error("backup.failed",
                   {{"trigger", "continuous"}, {"root", root_}, {"error", result.status()}});
        absl::MutexLock lock(&mu_);
        last_snapshot_ = now;  // retry after another interval, not in a loop
      }
    }
  }
  absl::Status synced = journal_->Sync();
  if (!synced.ok()) {
    log::Warn(
        "journal.sync_failed",
        {{"root", root_}, {"error", synced}, {"effect", "the next start scans the whole root"}});
  }
}

absl::StatusOr<BackupResult> RootProtector::Backup(v1::BackupLevel level, const std::string& job_id,
                                                   BackupOptions::ProgressFn progress) {
  absl::MutexLock one_at_a_time(&backup_mu_);
  absl::Status synced = journal_->Sync();
  bool journal_ok = synced.ok();
  {
    absl::MutexLock lock(&mu_);
    if (!synced.ok()) JournalFailed(synced);
    journal_ok = journal_ok && journal_problem_.empty();
  }
  ChangeJournal::Pending pending = journal_->Snapshot();
  std::set<std::string> changed;
  // A journal that failed may have missed changes: look at everything.
  if (pending.everything || !journal_ok) changed.insert("");
  for (auto& [path, when] : pending.paths) changed.insert(path);

  BackupOptions options;
  options.root = root_;
  options.level = level;
  options.job_id = job_id;
  options.progress = std::move(progress);
  options.changed_paths = &changed;
  std::vector<std::string> held;
  absl::Mutex held_mu;
  {
    absl::MutexLock lock(&mu_);
    options.bandwidth_bytes_per_second = settings_.bandwidth_bytes_per_second;
    options.on_entry = settings_.on_entry;
    options.excludes = settings_.excludes;
    options.workers = settings_.workers;
    if (!settings_.groups.empty()) {
      // Decide once, now, which groups are settled.
      absl::Time now = absl::Now();
      std::vector<v1::ConsistencyGroup> groups = settings_.groups;
      absl::flat_hash_map<std::string, absl::Time> activity = group_activity_;
      options.hold = [this, groups, activity, now, &held, &held_mu](const std::string& dir) {
        for (const v1::ConsistencyGroup& g : groups) {
          if (fnmatch(g.path().c_str(), dir.c_str(), FNM_PATHNAME) != 0) continue;
          bool ok = false;
          for (const std::string& marker : g.markers()) {
            ok |= MarkerStands(JoinPath(root_, JoinPath(dir, marker)), now);
          }
          if (g.markers().empty()) {
            // The watcher's record misses writes it has not reported yet
            // and those made before it started (a restart mid-checkpoint):
            // the files' own change times count too.
            auto it = activity.find(dir);
            absl::Time newest = it == activity.end() ? absl::InfinitePast() : it->second;
            newest = std::max(newest, NewestChangeBelow(JoinPath(root_, dir)));
            ok = now - newest >= absl::Seconds(g.settle_seconds());
          }
          if (!ok) {
            absl::MutexLock lock(&held_mu);
            held.push_back(dir);
          }
          return !ok;
        }
        return false;
      };
    }
  }
  ASSIGN_OR_RETURN(BackupResult result, RunBackup(connection_, crypto_, config_, options));
  // The snapshot is committed whatever the journal says now. What it covers
  // is no longer pending; held groups stay pending.
  absl::Time now = absl::Now();
  absl::Status journaled = journal_->Commit(pending.sequence);
  for (const std::string& dir : held) {
    if (journaled.ok()) journaled = journal_->Add(dir, now);
  }
  if (journaled.ok()) journaled = journal_->Sync();
  absl::MutexLock lock(&mu_);
  if (!journaled.ok()) JournalFailed(journaled);
  last_snapshot_ = now;
  // A rescan asked for while the backup ran (overflow, root replaced) is
  // newer than what was committed and still marked in the journal; Record
  // holds mu_ while it marks, so reading the journal here misses none.
  if (pending.everything && journal_problem_.empty()) {
    whole_root_pending_ = journal_->Snapshot().everything;
  }
  return result;
}

}  // namespace cairn

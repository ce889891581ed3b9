#include "agent/change_watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/path_rules.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr uint32_t kEventMask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR | IN_EXCL_UNLINK;
// Below the root nothing is followed: a symlink is an entry, not a directory.
constexpr uint32_t kDirMask = kEventMask | IN_DONT_FOLLOW;
constexpr uint32_t kRootMask = kEventMask;
// Bytes of queued events one Poll handles, so a flood cannot pin it forever;
// what is left keeps the descriptor readable for the next Poll.
constexpr size_t kMaxReadBytesPerPoll = 1 << 20;
constexpr size_t kReadBufferBytes = 64 << 10;

int PollTimeoutMs(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;
  if (timeout <= absl::ZeroDuration()) return 0;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

struct DirEntry {
  std::string name;
  bool is_dir;
};

// The entries of `full` ("." and ".." left out). ENOENT / ENOTDIR (the
// directory went away or was replaced since we learned of it) give an empty
// list and OK: its removal is reported by its parent.
absl::Status ListDirectory(const std::string& full, bool follow, std::vector<DirEntry>* out) {
  out->clear();
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
  int fd = ::open(full.c_str(), flags);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return absl::OkStatus();
    return PosixError(errno, "open directory", full);
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return PosixError(err, "fdopendir", full);
  }
  errno = 0;
  while (struct dirent* d = ::readdir(dir)) {
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    bool is_dir = d->d_type == DT_DIR;
    if (d->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir =
          ::fstatat(::dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    out->push_back(DirEntry{d->d_name, is_dir});
    errno = 0;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return PosixError(err, "readdir", full);
  return absl::OkStatus();
}

}  // namespace

struct ChangeWatcher::PollState {
  absl::Time now;
  std::vector<WatchEvent>* events;
  size_t first;  // events before this index were there before the Poll
  size_t new_entries = 0;
  uint64_t emitted = 0;
};

absl::StatusOr<std::unique_ptr<ChangeWatcher>> ChangeWatcher::Start(
    const std::string& root, std::vector<std::string> excludes) {
  return Start(root, std::move(excludes), ChangeWatcherOptions());
}

absl::StatusOr<std::unique_ptr<ChangeWatcher>> ChangeWatcher::Start(
    const std::string& root, std::vector<std::string> excludes,
    const ChangeWatcherOptions& options) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) return PosixError(errno, "stat watch root", root);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("watch root ", root, " is not a directory"));
  }
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return PosixError(errno, "inotify_init1 for", root);
  std::unique_ptr<ChangeWatcher> watcher(
      new ChangeWatcher(root, std::move(excludes), options, UniqueFd(fd)));
  RETURN_IF_ERROR(watcher->Rebuild());
  // A watch limit hit while setting up is reported by the first Poll.
  return watcher;
}

ChangeWatcher::ChangeWatcher(std::string root, std::vector<std::string> excludes,
                             const ChangeWatcherOptions& options, UniqueFd fd)
    : root_(std::move(root)),
      excludes_(std::move(excludes)),
      options_(options),
      fd_(std::move(fd)) {}

ChangeWatcher::~ChangeWatcher() = default;

WatcherStats ChangeWatcher::stats() const {
  absl::MutexLock lock(&stats_mu_);
  return stats_;
}

void ChangeWatcher::InjectOverflowForTest() {
  struct inotify_event ev;
  std::memset(&ev, 0, sizeof(ev));
  ev.wd = -1;
  ev.mask = IN_Q_OVERFLOW;
  injected_.append(reinterpret_cast<const char*>(&ev), sizeof(ev));
}

absl::Status ChangeWatcher::Poll(absl::Duration timeout, std::vector<WatchEvent>* events) {
  PollState state{absl::Now(), events, events->size()};
  if (root_wd_ < 0) TryRestoreRoot();
  if (!injected_.empty()) {
    std::string raw;
    raw.swap(injected_);
    HandleBuffer(raw.data(), raw.size(), &state);
  }
  const bool have_news = report_everything_ || rebuild_needed_ || events->size() > state.first;
  struct pollfd pfd = {fd_.get(), POLLIN, 0};
  int ready = ::poll(&pfd, 1, have_news ? 0 : PollTimeoutMs(timeout));
  if (ready < 0 && errno != EINTR) return PosixError(errno, "poll", "inotify");
  if (ready > 0) {
    if (pfd.revents & (POLLERR | POLLNVAL)) {
      return absl::InternalError(absl::StrCat("inotify descriptor for ", root_, " failed"));
    }
    state.now = absl::Now();
    RETURN_IF_ERROR(ReadEvents(&state));
  }
  if (!moves_.empty()) {
    // rename(2) queues both halves before it returns, so the IN_MOVED_TO of
    // a rename within the root is already waiting if we have not read it.
    RETURN_IF_ERROR(ReadEvents(&state));
    std::vector<int> gone;
    for (const auto& [cookie, wd] : moves_) gone.push_back(wd);
    moves_.clear();
    for (int wd : gone) RemoveSubtree(wd);  // moved out of the root
  }
  if (rebuild_needed_ && root_wd_ >= 0) {
    rebuild_needed_ = false;
    absl::Status rebuilt = Rebuild();
    if (!rebuilt.ok()) LoseRoot(absl::StrCat("cannot watch the root again: ", rebuilt.message()));
  }
  if (root_wd_ < 0) TryRestoreRoot();
  if (report_everything_) {
    report_everything_ = false;
    Emit("", false, &state);
  }
  absl::MutexLock lock(&stats_mu_);
  stats_.watched_directories = dirs_.size();
  stats_.events += state.emitted;
  stats_.incomplete = incomplete_;
  return absl::OkStatus();
}

absl::Status ChangeWatcher::ReadEvents(PollState* state) {
  alignas(struct inotify_event) char buffer[kReadBufferBytes];
  size_t total = 0;
  while (total < kMaxReadBytesPerPoll) {
    ssize_t n = ::read(fd_.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return PosixError(errno, "read", "inotify");
    }
    if (n == 0) break;
    HandleBuffer(buffer, static_cast<size_t>(n), state);
    total += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void ChangeWatcher::HandleBuffer(const char* data, size_t size, PollState* state) {
  size_t offset = 0;
  while (offset + sizeof(struct inotify_event) <= size) {
    struct inotify_event ev;
    std::memcpy(&ev, data + offset, sizeof(ev));
    const size_t end = offset + sizeof(ev) + ev.len;
    if (end > size) break;  // the kernel never splits an event; be safe anyway
    const char* name = data + offset + sizeof(ev);
    HandleEvent(ev.wd, ev.mask, ev.cookie, std::string(name, ::strnlen(name, ev.len)), state);
    offset = end;
  }
}

void ChangeWatcher::HandleEvent(int wd, uint32_t mask, uint32_t cookie, const std::string& name,
                                PollState* state) {
  if (mask & IN_Q_OVERFLOW) {
    {
      absl::MutexLock lock(&stats_mu_);
      ++stats_.overflows;
    }
    SetProblem("inotify queue overflowed (the kernel dropped events); rescanning everything",
               false);
    rebuild_needed_ = true;  // directory creations may be among the lost
    report_everything_ = true;
    return;
  }
  if (!dirs_.contains(wd)) return;  // a watch we already dropped
  if (wd == root_wd_ && (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED))) {
    LoseRoot(absl::StrCat("the root ", root_,
                          (mask & IN_MOVE_SELF) ? " was moved away"
                          : (mask & IN_UNMOUNT) ? " was unmounted"
                                                : " was deleted",
                          "; waiting for it to come back"));
    return;
  }
  if (mask & IN_IGNORED) {
    Forget(wd);
    return;
  }
  std::string dir;
  if (!PathOf(wd, &dir)) return;
  if (mask & IN_UNMOUNT) {
    // A file system mounted inside the root went away.
    Emit(dir, false, state);
    return;
  }
  // The directory's own changes (IN_DELETE_SELF, IN_MOVE_SELF, IN_ATTRIB on
  // itself) come to its parent's watch too, with its name.
  if (name.empty()) return;
  std::string path = JoinPath(dir, name);
  if (Excluded(path, name)) return;
  Emit(path, (mask & IN_CLOSE_WRITE) != 0, state);
  if (!(mask & IN_ISDIR)) return;
  if (mask & IN_CREATE) {
    WatchTree(wd, name, path, state);
  } else if (mask & IN_MOVED_FROM) {
    auto it = children_.find(std::make_pair(wd, name));
    if (it != children_.end()) moves_[cookie] = it->second;
  } else if (mask & IN_MOVED_TO) {
    auto it = moves_.find(cookie);
    if (it != moves_.end() && dirs_.contains(it->second)) {
      Reparent(it->second, wd, name);  // its watches and those below stay valid
      moves_.erase(it);
    } else {
      WatchTree(wd, name, path, state);  // moved in from outside
    }
  }
}

void ChangeWatcher::Emit(std::string path, bool closed_after_write, PollState* state) {
  std::vector<WatchEvent>& events = *state->events;
  if (events.size() > state->first && events.back().path == path &&
      events.back().closed_after_write == closed_after_write) {
    events.back().when = state->now;
    return;
  }
  events.push_back(WatchEvent{std::move(path), state->now, closed_after_write});
  ++state->emitted;
}

int ChangeWatcher::AddWatch(int parent, const std::string& name, const std::string& rel) {
  const std::string full = absl::StrCat(root_, "/", rel);
  int wd = ::inotify_add_watch(fd_.get(), full.c_str(), kDirMask);
  int err = errno;
  auto it = wd >= 0 ? dirs_.find(wd) : dirs_.end();
  if (wd >= 0 && it == dirs_.end() && options_.max_watches != 0 &&
      dirs_.size() >= options_.max_watches) {
    ::inotify_rm_watch(fd_.get(), wd);
    wd = -1;
    err = ENOSPC;
  }
  if (wd < 0) {
    if (err == ENOENT || err == ENOTDIR) return -1;  // gone or replaced; its parent reports it
    if (err == ENOSPC || err == ENOMEM) {
      SetProblem(absl::StrCat("inotify watch limit reached with ", dirs_.size(),
                              " directories watched (at ", rel,
                              "); changes in unwatched directories are missed until a rescan "
                              "(raise fs.inotify.max_user_watches)"),
                 true);
    } else {
      SetProblem(absl::StrCat("cannot watch ", rel, ": ",
                              PosixError(err, "inotify_add_watch", full).message()),
                 true);
    }
    report_everything_ = true;
    return -1;
  }
  if (it == dirs_.end()) {
    dirs_.emplace(wd, Dir{parent, name});
    children_[std::make_pair(parent, name)] = wd;
    return wd;
  }
  // Already watched: the same directory seen under a new name (a rename we
  // had not paired), or a bind mount of one of its own ancestors.
  for (int w = parent; w >= 0;) {
    if (w == wd) return -1;  // would make a cycle: do not descend again
    auto up = dirs_.find(w);
    if (up == dirs_.end()) break;
    w = up->second.parent;
  }
  if (it->second.parent != parent || it->second.name != name) Reparent(wd, parent, name);
  return wd;
}

void ChangeWatcher::WatchTree(int parent, const std::string& name, const std::string& rel,
                              PollState* state) {
  struct Pending {
    int parent;
    std::string name;
    std::string rel;
  };
  std::vector<Pending> stack;
  stack.push_back(Pending{parent, name, rel});
  std::vector<DirEntry> entries;
  while (!stack.empty()) {
    Pending dir = std::move(stack.back());
    stack.pop_back();
    // Watch first, then list: whatever is created after the listing started
    // is then reported by the watch (perhaps twice, never not at all).
    int wd = AddWatch(dir.parent, dir.name, dir.rel);
    if (wd < 0) continue;
    absl::Status listed = ListDirectory(absl::StrCat(root_, "/", dir.rel), false, &entries);
    if (!listed.ok()) {
      SetProblem(std::string(listed.message()), true);
      report_everything_ = true;
      continue;
    }
    for (DirEntry& entry : entries) {
      std::string child = JoinPath(dir.rel, entry.name);
      if (Excluded(child, entry.name)) continue;
      if (state != nullptr) {
        if (state->new_entries < options_.max_new_entries_per_poll) {
          ++state->new_entries;
          Emit(child, false, state);
        } else {
          report_everything_ = true;
        }
      }
      if (entry.is_dir) stack.push_back(Pending{wd, std::move(entry.name), std::move(child)});
    }
  }
}

absl::Status ChangeWatcher::Rebuild() {
  int wd = ::inotify_add_watch(fd_.get(), root_.c_str(), kRootMask);
  if (wd < 0) return PosixError(errno, "inotify_add_watch", root_);
  incomplete_ = false;
  if (root_wd_ >= 0 && root_wd_ != wd) Forget(root_wd_);
  root_wd_ = wd;
  dirs_[wd] = Dir{-1, ""};
  absl::flat_hash_set<int> seen = {wd};
  std::vector<std::pair<int, std::string>> stack = {{wd, ""}};
  std::vector<DirEntry> entries;
  while (!stack.empty()) {
    auto [parent, rel] = std::move(stack.back());
    stack.pop_back();
    const std::string full = rel.empty() ? root_ : absl::StrCat(root_, "/", rel);
    absl::Status listed = ListDirectory(full, rel.empty(), &entries);
    if (!listed.ok()) {
      SetProblem(std::string(listed.message()), true);
      report_everything_ = true;
      continue;
    }
    for (const DirEntry& entry : entries) {
      if (!entry.is_dir) continue;
      std::string child = JoinPath(rel, entry.name);
      if (Excluded(child, entry.name)) continue;
      int child_wd = AddWatch(parent, entry.name, child);
      if (child_wd < 0 || !seen.insert(child_wd).second) continue;
      stack.emplace_back(child_wd, std::move(child));
    }
  }
  // Directories that left without our noticing (their events were lost).
  std::vector<int> stale;
  for (const auto& [w, dir] : dirs_) {
    if (!seen.contains(w)) stale.push_back(w);
  }
  for (int w : stale) {
    ::inotify_rm_watch(fd_.get(), w);
    Forget(w);
  }
  moves_.clear();
  absl::MutexLock lock(&stats_mu_);
  stats_.watched_directories = dirs_.size();
  stats_.incomplete = incomplete_;
  return absl::OkStatus();
}

void ChangeWatcher::TryRestoreRoot() {
  if (!Rebuild().ok()) return;  // still gone: try again next Poll
  SetProblem(absl::StrCat("the root ", root_, " came back; rescanning everything"), incomplete_);
  report_everything_ = true;
}

void ChangeWatcher::LoseRoot(const std::string& why) {
  for (const auto& [wd, dir] : dirs_) ::inotify_rm_watch(fd_.get(), wd);
  dirs_.clear();
  children_.clear();
  moves_.clear();
  root_wd_ = -1;
  rebuild_needed_ = false;
  SetProblem(why, false);
  report_everything_ = true;
}

void ChangeWatcher::Reparent(int wd, int parent, const std::string& name) {
  auto it = dirs_.find(wd);
  if (it == dirs_.end()) return;
  auto old = children_.find(std::make_pair(it->second.parent, it->second.name));
  if (old != children_.end() && old->second == wd) children_.erase(old);
  it->second = Dir{parent, name};
  children_[std::make_pair(parent, name)] = wd;
}

void ChangeWatcher::Forget(int wd) {
  auto it = dirs_.find(wd);
  if (it == dirs_.end()) return;
  auto key = children_.find(std::make_pair(it->second.parent, it->second.name));
  if (key != children_.end() && key->second == wd) children_.erase(key);
  dirs_.erase(it);
}

void ChangeWatcher::RemoveSubtree(int top) {
  std::vector<int> doomed;
  for (const auto& [wd, dir] : dirs_) {
    size_t steps = 0;
    for (int w = wd; w >= 0 && steps <= dirs_.size(); ++steps) {
      if (w == top) {
        doomed.push_back(wd);
        break;
      }
      auto up = dirs_.find(w);
      if (up == dirs_.end()) break;
      w = up->second.parent;
    }
  }
  for (int wd : doomed) {
    ::inotify_rm_watch(fd_.get(), wd);
    Forget(wd);
  }
}

bool ChangeWatcher::PathOf(int wd, std::string* path) const {
  std::vector<const std::string*> names;
  for (int w = wd;;) {
    auto it = dirs_.find(w);
    if (it == dirs_.end() || names.size() > dirs_.size()) return false;  // orphan or cycle
    if (it->second.parent < 0) break;
    names.push_back(&it->second.name);
    w = it->second.parent;
  }
  path->clear();
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!path->empty()) path->push_back('/');
    path->append(**it);
  }
  return true;
}

bool ChangeWatcher::Excluded(const std::string& path, const std::string& name) const {
  return excludes_.Excludes(path, name);
}

void ChangeWatcher::SetProblem(std::string problem, bool incomplete) {
  if (incomplete) incomplete_ = true;
  absl::MutexLock lock(&stats_mu_);
  stats_.problem = std::move(problem);
  stats_.incomplete = incomplete_;
}

}  // namespace cairn

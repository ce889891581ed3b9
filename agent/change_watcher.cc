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

}  // namespace


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

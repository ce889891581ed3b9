// ChangeWatcher's table of watches (agent/change_watcher.h): one inotify
// watch per directory below the root, added as directories appear (watched
// first, listed second), re-parented on renames, dropped with their subtree
// when they leave, and rebuilt from a walk after an overflow or when the
// root itself goes and comes back. Poll and the event parsing are in
// change_watcher.cc.
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

}  // namespace cairn

#include "tests/crash/power_loss.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <new>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

std::atomic<PowerLoss*> g_power{nullptr};

absl::StatusOr<std::string> ReadAll(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return PosixError(errno, "fstat", path);
  std::string out;
  RETURN_IF_ERROR(PreadFully(fd, 0, static_cast<size_t>(st.st_size), &out, path));
  return out;
}

// Regular files of `dir` (name -> inode); empty when it does not exist.
std::map<std::string, std::pair<dev_t, ino_t>> ListFiles(const std::string& dir) {
  std::map<std::string, std::pair<dev_t, ino_t>> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    struct stat st;
    if (fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(st.st_mode)) out[name] = {st.st_dev, st.st_ino};
  }
  closedir(d);
  return out;
}

std::vector<std::string> Subdirectories(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      out.push_back(dir + "/" + name);
    }
  }
  closedir(d);
  return out;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}
std::string Base(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// --- The SQLite VFS: the default one, with syncs and deletes reported. -----

struct PlFile {
  sqlite3_file base;
  sqlite3_file* real;  // follows this struct in the same allocation
  std::string* path;   // nullptr for SQLite's nameless temp files
};

sqlite3_vfs* RealVfs() { return static_cast<sqlite3_vfs*>(sqlite3_vfs_find(nullptr)); }
sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<PlFile*>(f)->real; }
bool IsCut() {
  PowerLoss* p = g_power.load();
  return p != nullptr && p->cut();
}

int PlClose(sqlite3_file* f) {
  PlFile* p = reinterpret_cast<PlFile*>(f);
  int rc = p->real->pMethods->xClose(p->real);
  delete p->path;
  p->path = nullptr;
  return rc;
}
int PlRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int PlWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (IsCut()) return SQLITE_IOERR_WRITE;
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int PlTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (IsCut()) return SQLITE_IOERR_TRUNCATE;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int PlSync(sqlite3_file* f, int flags) {
  PlFile* p = reinterpret_cast<PlFile*>(f);
  PowerLoss* power = g_power.load();
  auto real = [&] { return p->real->pMethods->xSync(p->real, flags); };
  if (power == nullptr || p->path == nullptr) return real();
  return power->SqliteSync(*p->path, real).ok() ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}
int PlFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int PlLock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int PlUnlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int PlCheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int PlFileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int PlSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int PlDeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int PlShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int PlShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void PlShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int PlShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
int PlFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int PlUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

const sqlite3_io_methods kMethods = {
    3,        PlClose,       PlRead,      PlWrite,     PlTruncate,
    PlSync,   PlFileSize,    PlLock,      PlUnlock,    PlCheckReservedLock,
    PlFileControl, PlSectorSize, PlDeviceCharacteristics, PlShmMap, PlShmLock,
    PlShmBarrier,  PlShmUnmap,   PlFetch,     PlUnfetch,
};

int PlOpen(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  PlFile* p = reinterpret_cast<PlFile*>(f);
  p->real = reinterpret_cast<sqlite3_file*>(p + 1);
  p->path = nullptr;
  p->base.pMethods = nullptr;
  int rc = RealVfs()->xOpen(RealVfs(), name, p->real, flags, out_flags);
  if (p->real->pMethods == nullptr) return rc;
  if (name != nullptr) p->path = new std::string(name);
  p->base.pMethods = &kMethods;
  return rc;
}
int PlDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  if (IsCut()) return SQLITE_IOERR_DELETE;
  int rc = RealVfs()->xDelete(RealVfs(), name, sync_dir);
  PowerLoss* power = g_power.load();
  if (rc == SQLITE_OK && power != nullptr) power->SqliteDeleted(name, sync_dir != 0);
  return rc;
}
int PlAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return RealVfs()->xAccess(RealVfs(), name, flags, out);
}
int PlFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return RealVfs()->xFullPathname(RealVfs(), name, n, out);
}
void* PlDlOpen(sqlite3_vfs*, const char* name) { return RealVfs()->xDlOpen(RealVfs(), name); }
void PlDlError(sqlite3_vfs*, int n, char* out) { RealVfs()->xDlError(RealVfs(), n, out); }
void (*PlDlSym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return RealVfs()->xDlSym(RealVfs(), h, sym);
}
void PlDlClose(sqlite3_vfs*, void* h) { RealVfs()->xDlClose(RealVfs(), h); }
int PlRandomness(sqlite3_vfs*, int n, char* out) {
  return RealVfs()->xRandomness(RealVfs(), n, out);
}
int PlSleep(sqlite3_vfs*, int us) { return RealVfs()->xSleep(RealVfs(), us); }
int PlCurrentTime(sqlite3_vfs*, double* out) { return RealVfs()->xCurrentTime(RealVfs(), out); }
int PlGetLastError(sqlite3_vfs*, int n, char* out) {
  return RealVfs()->xGetLastError(RealVfs(), n, out);
}
int PlCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return RealVfs()->xCurrentTimeInt64(RealVfs(), out);
}

}  // namespace

void PowerLoss::RegisterVfs() {
  static bool registered = [] {
    static sqlite3_vfs vfs;
    std::memset(&vfs, 0, sizeof(vfs));
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(sizeof(PlFile)) + RealVfs()->szOsFile;
    vfs.mxPathname = RealVfs()->mxPathname;
    vfs.zName = PowerLoss::kVfs;
    vfs.xOpen = PlOpen;
    vfs.xDelete = PlDelete;
    vfs.xAccess = PlAccess;
    vfs.xFullPathname = PlFullPathname;
    vfs.xDlOpen = PlDlOpen;
    vfs.xDlError = PlDlError;
    vfs.xDlSym = PlDlSym;
    vfs.xDlClose = PlDlClose;
    vfs.xRandomness = PlRandomness;
    vfs.xSleep = PlSleep;
    vfs.xCurrentTime = PlCurrentTime;
    vfs.xGetLastError = PlGetLastError;
    vfs.xCurrentTimeInt64 = PlCurrentTimeInt64;
    return sqlite3_vfs_register(&vfs, /*makeDflt=*/0) == SQLITE_OK;
  }();
  (void)registered;
}

PowerLoss::PowerLoss(std::vector<std::string> roots) : roots_(std::move(roots)) {
  RegisterVfs();
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& root : roots_) Baseline(root);
  }
  g_power = this;
  SetSyncHookForTest(this);
}

PowerLoss::~PowerLoss() {
  SetSyncHookForTest(nullptr);
  g_power = nullptr;
}

void PowerLoss::Baseline(const std::string& dir) {
  std::map<std::string, Inode>& names = listing_[dir];
  for (const auto& [name, inode] : ListFiles(dir)) {
    names[name] = inode;
    int fd = open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    absl::StatusOr<std::string> bytes = ReadAll(fd, dir + "/" + name);
    close(fd);
    if (bytes.ok()) content_[inode] = *std::move(bytes);
  }
  for (const std::string& sub : Subdirectories(dir)) Baseline(sub);
}

bool PowerLoss::Watched(const std::string& path) const {
  for (const std::string& root : roots_) {
    if (absl::StartsWith(path, root + "/") || path == root) return true;
  }
  return false;
}

void PowerLoss::CutAt(int n) {
  absl::MutexLock lock(&mu_);
  cut_at_ = n == 0 ? 0 : points_ + n;
}

int PowerLoss::points() const {
  absl::MutexLock lock(&mu_);
  return points_;
}

bool PowerLoss::cut() const {
  absl::MutexLock lock(&mu_);
  return cut_;
}

std::vector<std::string> PowerLoss::history() const {
  absl::MutexLock lock(&mu_);
  return history_;
}

bool PowerLoss::Pass(const std::string& what) {
  if (cut_) return false;
  ++points_;
  history_.push_back(what);
  if (cut_at_ != 0 && points_ >= cut_at_) {
    cut_ = true;
    history_.back() += " (power cut here)";
    return false;
  }
  return true;
}

absl::Status PowerLoss::RecordContent(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError(errno, "open", path);
  struct stat st;
  absl::StatusOr<std::string> bytes = ReadAll(fd, path);
  bool stated = fstat(fd, &st) == 0;
  close(fd);
  RETURN_IF_ERROR(bytes.status());
  if (stated) content_[{st.st_dev, st.st_ino}] = *std::move(bytes);
  return absl::OkStatus();
}

absl::Status PowerLoss::RecordListing(const std::string& dir) {
  listing_[dir] = ListFiles(dir);
  return absl::OkStatus();
}

absl::Status PowerLoss::SyncFile(int fd, const std::string& path, bool data_only) {
  absl::MutexLock lock(&mu_);
  if (!Watched(path)) return RealSyncFile(fd, path, data_only);
  if (!Pass(absl::StrCat(data_only ? "fdatasync " : "fsync ", path))) {
    return absl::DataLossError(absl::StrCat("fsync ", path, ": power cut (simulated)"));
  }
  RETURN_IF_ERROR(RealSyncFile(fd, path, data_only));
  // Read through a new descriptor: `fd` may be write-only, and the file may
  // have no name any more.
  return RecordContent(absl::StrCat("/proc/self/fd/", fd));
}

absl::Status PowerLoss::SyncDirectory(const std::string& dir) {
  absl::MutexLock lock(&mu_);
  if (!Watched(dir)) return RealSyncDirectory(dir);
  if (!Pass(absl::StrCat("fsync directory ", dir))) {
    return absl::DataLossError(absl::StrCat("fsync ", dir, ": power cut (simulated)"));
  }
  RETURN_IF_ERROR(RealSyncDirectory(dir));
  return RecordListing(dir);
}

absl::Status PowerLoss::SqliteSync(const std::string& path, const std::function<int()>& real_sync) {
  absl::MutexLock lock(&mu_);
  if (!Watched(path)) {
    return real_sync() == SQLITE_OK ? absl::OkStatus() : absl::DataLossError("sqlite sync");
  }
  if (!Pass(absl::StrCat("sqlite sync ", path))) {
    return absl::DataLossError(absl::StrCat("sync ", path, ": power cut (simulated)"));
  }
  if (real_sync() != SQLITE_OK) return absl::DataLossError(absl::StrCat("sqlite sync ", path));
  RETURN_IF_ERROR(RecordContent(path));
  // SQLite syncs the directory of a journal it created at its first sync.
  struct stat st;
  if (stat(path.c_str(), &st) == 0) listing_[Parent(path)][Base(path)] = {st.st_dev, st.st_ino};
  return absl::OkStatus();
}

void PowerLoss::SqliteDeleted(const std::string& path, bool synced_dir) {
  absl::MutexLock lock(&mu_);
  if (synced_dir && Watched(path)) listing_[Parent(path)].erase(Base(path));
}

absl::Status PowerLoss::Revert() {
  absl::MutexLock lock(&mu_);
  // Directories made since the baseline hold nothing durable until synced.
  std::vector<std::string> dirs;
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    dirs.push_back(dir);
    for (const std::string& sub : Subdirectories(dir)) walk(sub);
  };
  for (const std::string& root : roots_) walk(root);
  for (const std::string& dir : dirs) {
    const std::map<std::string, Inode>& durable = listing_[dir];
    for (const auto& [name, inode] : ListFiles(dir)) {
      // SQLite's shared-memory index is never durable; it is rebuilt.
      if (!durable.contains(name) || absl::EndsWith(name, "-shm")) {
        std::string path = dir + "/" + name;
        if (unlink(path.c_str()) != 0) return PosixError(errno, "unlink", path);
      }
    }
    for (const auto& [name, inode] : durable) {
      if (absl::EndsWith(name, "-shm")) continue;
      std::string path = dir + "/" + name;
      auto bytes = content_.find(inode);
      const std::string empty;
      const std::string& data = bytes == content_.end() ? empty : bytes->second;
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
      if (fd < 0) return PosixError(errno, "recreate", path);
      absl::Status written = WriteFully(fd, data, path);
      close(fd);
      RETURN_IF_ERROR(written);
    }
  }
  points_ = 0;
  cut_at_ = 0;
  cut_ = false;
  history_.clear();
  content_.clear();
  listing_.clear();
  for (const std::string& root : roots_) Baseline(root);
  return absl::OkStatus();
}

}  // namespace cairn

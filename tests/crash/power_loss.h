// Power loss, simulated: what a machine keeps when it loses power is what was
// made durable, not what was written. PowerLoss watches every durability
// point of a process — cairn's own (SyncFile / FsyncDirectory, through a
// SyncHook) and SQLite's (a VFS that wraps the default one) — and records,
// per file, the bytes each sync made durable and, per directory, the names a
// directory sync made durable. It can "cut the power" at the n-th such point:
// that sync and every one after it fail with EIO (the process goes on, but
// can no longer make anything durable, so nothing it acknowledges after the
// cut counts). Revert() then puts every watched file and directory back to
// its durable state: unsynced bytes are gone, unsynced creates, renames and
// unlinks are undone. Everything under the watched roots when PowerLoss
// starts counts as durable.
//
// Model: a file's content is durable as of its last fsync; a name in a
// directory as of the directory's last fsync (SQLite's own files: as of their
// first sync, since SQLite syncs the directory of the journals it creates).
//
//   PowerLoss power({state_dir});      // installs the hook, registers the VFS
//   power.CutAt(7);                    // the 7th durability point fails
//   ... run the server with CoreOptions{.catalog = {.sqlite_vfs = PowerLoss::kVfs}} ...
//   ... stop it ...
//   ASSERT_OK(power.Revert());         // the disk as the power cut left it
#ifndef CAIRN_TESTS_CRASH_POWER_LOSS_H_
#define CAIRN_TESTS_CRASH_POWER_LOSS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/file_util.h"

namespace cairn {

class PowerLoss final : public SyncHook {
 public:
  // The SQLite VFS name to open catalogs with.
  static constexpr char kVfs[] = "cairn-power-loss";

  // Registers the VFS (it passes everything through while no PowerLoss
  // exists): a catalog opened with it before a PowerLoss starts is watched
  // from then on.
  static void RegisterVfs();

  // Watches everything below `roots` (directories). Only one PowerLoss may
  // exist at a time in a process.
  explicit PowerLoss(std::vector<std::string> roots);
  ~PowerLoss() override;
  PowerLoss(const PowerLoss&) = delete;
  PowerLoss& operator=(const PowerLoss&) = delete;

  // The power goes at the `n`-th durability point from now (1 = the next);
  // 0: never.
  void CutAt(int n);
  // Durability points passed since construction or the last Revert (the cut
  // one included).
  int points() const;
  bool cut() const;
  // A description of each point, for messages ("fsync packs/pack-1~ab").
  std::vector<std::string> history() const;

  // Puts the watched files back as the cut left them; the power is back on
  // and the durable state starts over from what is now on disk.
  absl::Status Revert();

  // SyncHook.
  absl::Status SyncFile(int fd, const std::string& path, bool data_only) override;
  absl::Status SyncDirectory(const std::string& dir) override;

  // For the VFS: SQLite synced (or deleted, with a directory sync) `path`.
  absl::Status SqliteSync(const std::string& path, const std::function<int()>& real_sync);
  void SqliteDeleted(const std::string& path, bool synced_dir);

 private:
  using Inode = std::pair<dev_t, ino_t>;
  // Counts a durability point; false once the power is cut.
  bool Pass(const std::string& what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Baseline(const std::string& dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RecordContent(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RecordListing(const std::string& dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Watched(const std::string& path) const;

  const std::vector<std::string> roots_;
  mutable absl::Mutex mu_;
  int points_ ABSL_GUARDED_BY(mu_) = 0;
  int cut_at_ ABSL_GUARDED_BY(mu_) = 0;
  bool cut_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> history_ ABSL_GUARDED_BY(mu_);
  // Durable bytes of each file (by inode), and durable names of each directory.
  std::map<Inode, std::string> content_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<std::string, Inode>> listing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_TESTS_CRASH_POWER_LOSS_H_

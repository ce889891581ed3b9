// The files of one restore window. Chunks arrive on the fetcher's workers
// and are written to every place that needs them. A file is created when it
// joins the window (O_CREAT|O_EXCL|O_NOFOLLOW at its name, so nothing that
// already exists, a planted symlink included, is ever written through; only
// an overwrite goes through a temp file and a rename), and the worker that
// writes its last chunk sets its metadata and closes it.
// When the window closes, a file still incomplete fails and what was written
// of it is removed. Bounded: a window holds at most max_files files and
// max_refs chunk references, so memory does not grow with the restore.
// A new file costs four calls: create, write, times, close.
//
//   FileWindow window(options, &log);
//   RETURN_IF_ERROR(window.Add(dir, path, entry));  // until window.full()
//   absl::Status fetched = fetcher.Fetch(window.ChunkIds());  // calls window.Deliver
//   window.Close(fetched);
#ifndef CAIRN_AGENT_RESTORE_FILES_H_
#define CAIRN_AGENT_RESTORE_FILES_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/file_error_log.h"
#include "cairn/v1/types.pb.h"
#include "common/file_util.h"

namespace cairn {

// What a restore did, shared by its threads.
class RestoreLog final {
 public:
  void Failed(const std::string& path, const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    errors_.Add(path, status);
  }
  uint64_t failures() {
    absl::MutexLock lock(&mu_);
    return errors_.count();
  }
  std::vector<v1::FileError> TakeErrors() {
    absl::MutexLock lock(&mu_);
    return errors_.TakeKept();
  }
  std::atomic<uint64_t> files{0};
  std::atomic<uint64_t> directories{0};
  std::atomic<uint64_t> bytes{0};

 private:
  absl::Mutex mu_;
  FileErrorLog errors_ ABSL_GUARDED_BY(mu_);
};

class FileWindow final {
 public:
  struct Settings {
    bool overwrite = false;
    bool allow_special = false;
    size_t max_files = 1024;
    size_t max_refs = 16384;
  };
  FileWindow(Settings settings, RestoreLog* log);
  ~FileWindow() { Close(absl::CancelledError("the restore ended")); }
  FileWindow(const FileWindow&) = delete;
  FileWindow& operator=(const FileWindow&) = delete;

  // Queues `entry` (a file) to be written as `name` in `dir` (`path` for
  // messages). A file without data is written at once. An error is that
  // file's alone; the caller reports it.
  absl::Status Add(std::shared_ptr<const UniqueFd> dir, const std::string& name,
                   const std::string& path, v1::TreeEntry entry);
  bool full() const { return files_.size() >= settings_.max_files || refs_ >= settings_.max_refs; }
  bool empty() const { return files_.empty(); }
  // The distinct chunk ids the queued files need, in order of first use.
  const std::vector<std::string>& ChunkIds() const { return order_; }

  // A chunk arrived: `status` OK and its bytes, or why it cannot be used.
  // Thread-safe against other Deliver calls (not against Add or Close).
  void Deliver(const std::string& id, const absl::Status& status, absl::string_view plain);
  // Ends the window: every file not finished fails with `why` (or, when
  // `why` is OK, as missing a chunk) and its temp file is removed.
  void Close(const absl::Status& why);

 private:
  struct File {
    std::shared_ptr<const UniqueFd> dir;
    std::string name;
    std::string path;
    v1::TreeEntry entry;
    absl::Mutex open_mu;  // the first chunk's worker creates the file
    bool opened ABSL_GUARDED_BY(open_mu) = false;
    std::string temp;  // set when the file is written under a temp name (overwrite)
    UniqueFd fd;       // valid once opened, until finished
    std::atomic<int> remaining{0};
    std::atomic<bool> failed{false};
    bool finished = false;  // only the worker that wrote the last chunk sets it
  };
  struct Target {
    File* file;
    uint64_t offset;
    uint32_t size;
    // A slice of a bundle (agent/file_bundles.h): the chunk has
    // bundle_size bytes and the file's are at bundle_offset. 0: whole chunk.
    uint32_t bundle_offset;
    uint32_t bundle_size;
  };
  // Creates the file (once); the status of the first attempt.
  absl::Status Open(File* file);
  void Fail(File* file, const absl::Status& status);
  void Finish(File* file);
  // Removes what a failed or unfinished file left: its temp file, or the
  // file this restore created under its name.
  void Discard(File* file);

  const Settings settings_;
  const mode_t umask_;  // the process's, read once
  RestoreLog* log_;
  std::vector<std::unique_ptr<File>> files_;
  absl::flat_hash_map<std::string, std::vector<Target>> targets_;  // by chunk id
  std::vector<std::string> order_;
  size_t refs_ = 0;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_RESTORE_FILES_H_

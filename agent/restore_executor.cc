#include "agent/restore_executor.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "agent/progress_throttle.h"
#include "agent/restore_files.h"
#include "agent/restore_target.h"
#include "agent/spool_file.h"
#include "agent/tree_fetcher.h"
#include "agent/window_pipeline.h"
#include "common/path_rules.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "common/tree_pages.h"

namespace cairn {
namespace {

// Directories below the target: a backup never nests deeper, so a snapshot
// that does comes from a tampered catalog and must not cost unbounded stack
// and one open descriptor per level.
constexpr int kMaxRestoreDepth = 1024;

using SharedDir = std::shared_ptr<const UniqueFd>;

// Files per window, within the open-file limit (each queued file holds its
// temp file and, at worst, its own directory open). The soft limit is raised
// to the hard one first, as far as needed.
size_t WindowFiles() {
  constexpr size_t kWanted = 1024;
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 64;
  rlim_t want = 2 * kWanted + 256;
  if (limit.rlim_cur < want && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min(want, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur >= want) return kWanted;
  return std::max<size_t>(16, (limit.rlim_cur > 256 ? limit.rlim_cur - 256 : 0) / 2);
}

class Restorer final {
 public:
  Restorer(ServerConnection* connection, const AgentCrypto& crypto, const RestoreOptions& options,
           int root_fd, TreeFetcher trees, v1::Tree root)
      : options_(options),
        root_fd_(root_fd),
        trees_(std::move(trees)),
        root_(std::move(root)),
        windows_(FileWindow::Settings{.overwrite = options.overwrite,
                                      .allow_special = options.allow_special,
                                      .max_files = WindowFiles()},
                 &log_, connection, &crypto, options.snapshot_id,
                 options.workers > 0 ? options.workers
                                     : static_cast<int>(std::thread::hardware_concurrency())) {}

  absl::Status Run() {
    ASSIGN_OR_RETURN(directories_, SpoolFile::CreateAt(root_fd_, options_.target));
    ASSIGN_OR_RETURN(links_, SpoolFile::CreateAt(root_fd_, options_.target));
    const v1::Tree& root = root_;
    int fd = dup(root_fd_);
    if (fd < 0) return PosixError(errno, "dup", options_.target);
    SharedDir top = std::make_shared<const UniqueFd>(fd);
    if (options_.paths.empty()) {
      RestoreTree(top, "", root, 0);
    } else {
      for (const std::string& path : options_.paths) {
        absl::Status status = RestorePath(top, root, path);
        if (!status.ok()) log_.Failed(path, status);
      }
    }
    windows_.Drain();
    ReportProgress();
    MakeHardlinks();
    SetDirectoryMetadata();
    // One sync for the whole restore, instead of one per file.
    if (syncfs(root_fd_) != 0) return PosixError(errno, "sync the file system of", options_.target);
    return absl::OkStatus();
  }

  RestoreResult Result() {
    RestoreResult r;
    r.files = log_.files;
    r.directories = log_.directories;
    r.bytes = log_.bytes;
    r.failed = log_.failures();
    r.errors = log_.TakeErrors();
    r.chunks_fetched = windows_.stats().chunks;
    r.chunk_calls = windows_.stats().calls;
    r.tree_calls = trees_.calls();
    return r;
  }

 private:
  // Restores one snapshot path: its parents as directories, then the entry.
  absl::Status RestorePath(SharedDir dir, v1::Tree tree, const std::string& path) {
    ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitRelativePath(path));
    std::string rel;
    for (size_t i = 0; i < parts.size(); ++i) {
      ASSIGN_OR_RETURN(std::optional<v1::TreeEntry> found,
                       FindEntry(std::move(tree), parts[i], Loader()));
      if (!found.has_value()) {
        return absl::NotFoundError(absl::StrCat(path, " is not in the snapshot"));
      }
      if (i + 1 == parts.size()) return RestoreEntry(dir, rel, *found, static_cast<int>(i));
      std::string sub = JoinPath(rel, parts[i]);
      if (found->type() != v1::ENTRY_TYPE_DIRECTORY) {
        return absl::NotFoundError(absl::StrCat(sub, " is not a directory"));
      }
      ASSIGN_OR_RETURN(dir, EnterDirectory(*dir, sub, *found));
      rel = sub;
      std::string subtree = found->subtree_id();
      ASSIGN_OR_RETURN(tree, trees_.Load(subtree));
    }
    return absl::OkStatus();
  }

  TreeIterator::Load Loader() {
    return [this](const std::string& id) { return trees_.Load(id); };
  }

  // The entries of one directory, its pages (if it has them) read in order.
  void RestoreTree(const SharedDir& dir, const std::string& rel, v1::Tree tree, int depth) {
    TreeIterator entries(std::move(tree), Loader());
    while (true) {
      absl::StatusOr<const v1::TreeEntry*> entry = entries.Next();
      if (!entry.ok()) {
        log_.Failed(rel.empty() ? "." : rel, entry.status());  // the rest of it is not restored
        return;
      }
      if (*entry == nullptr) return;
      absl::Status status = RestoreEntry(dir, rel, **entry, depth);
      if (!status.ok()) log_.Failed(JoinPath(rel, absl::CHexEscape((*entry)->name())), status);
    }
  }

  // Creates (or reuses) directory `path` in `parent`; one this restore
  // created gets its metadata at the end.
  absl::StatusOr<SharedDir> EnterDirectory(const UniqueFd& parent, const std::string& path,
                                           const v1::TreeEntry& entry) {
    ASSIGN_OR_RETURN(OpenedDirectory opened, EnsureDirectory(parent.get(), entry.name(), path));
    if (opened.created) {
      v1::TreeEntry record = entry;
      record.set_name(path);
      RETURN_IF_ERROR(directories_->Append(record.SerializeAsString()).status());
    }
    ++log_.directories;
    return std::make_shared<const UniqueFd>(std::move(opened.fd));
  }

  absl::Status RestoreEntry(const SharedDir& dir, const std::string& rel,
                            const v1::TreeEntry& entry, int depth) {
    // A tampered catalog may hold any bytes: only plain names are restored.
    RETURN_IF_ERROR(ValidateName(entry.name()));
    const std::string path = JoinPath(rel, entry.name());
    switch (entry.type()) {
      case v1::ENTRY_TYPE_DIRECTORY: {
        if (depth >= kMaxRestoreDepth) {
          return absl::FailedPreconditionError(absl::StrCat(
              "directories nested more than ", kMaxRestoreDepth, " deep; not restored"));
        }
        ASSIGN_OR_RETURN(SharedDir child, EnterDirectory(*dir, path, entry));
        ASSIGN_OR_RETURN(v1::Tree subtree, trees_.Load(entry.subtree_id()));
        RestoreTree(child, path, std::move(subtree), depth + 1);
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_FILE: {
        absl::Status added = windows_.filling().Add(dir, entry.name(), path, entry);
        if (windows_.filling().full()) {
          windows_.Submit();
          ReportProgress();
        }
        return added;
      }
      case v1::ENTRY_TYPE_SYMLINK: {
        RETURN_IF_ERROR(MakeRoom(dir->get(), entry.name(), path, options_.overwrite));
        if (symlinkat(entry.link_target().c_str(), dir->get(), entry.name().c_str()) != 0) {
          return PosixError(errno, "symlink", path);
        }
        ++log_.files;
        if (geteuid() == 0 && fchownat(dir->get(), entry.name().c_str(), entry.uid(), entry.gid(),
                                       AT_SYMLINK_NOFOLLOW) != 0) {
          return PosixError(errno, "set the owner of", path);
        }
        struct timespec times[2] = {{entry.mtime_ns() / 1000000000, entry.mtime_ns() % 1000000000},
                                    {entry.mtime_ns() / 1000000000, entry.mtime_ns() % 1000000000}};
        if (entry.mtime_ns() >= 0 &&
            utimensat(dir->get(), entry.name().c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
          return PosixError(errno, "set the times of", path);
        }
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_HARDLINK: {
        // Made once every file is in place: the first name must exist.
        RETURN_IF_ERROR(ValidateRelativePath(entry.link_target()));
        v1::TreeEntry record;
        record.set_name(path);
        record.set_link_target(entry.link_target());
        return links_->Append(record.SerializeAsString()).status();
      }
      // FIFOs and socket nodes are ordinary files; device nodes are special.
      case v1::ENTRY_TYPE_FIFO:
      case v1::ENTRY_TYPE_SOCKET:
      case v1::ENTRY_TYPE_CHAR_DEVICE:
      case v1::ENTRY_TYPE_BLOCK_DEVICE: {
        const bool device = entry.type() == v1::ENTRY_TYPE_CHAR_DEVICE ||
                            entry.type() == v1::ENTRY_TYPE_BLOCK_DEVICE;
        if (device && !options_.allow_special) {
          return absl::PermissionDeniedError(
              "device node skipped (order the restore with special files allowed to create it)");
        }
        RETURN_IF_ERROR(MakeRoom(dir->get(), entry.name(), path, options_.overwrite));
        mode_t type = entry.type() == v1::ENTRY_TYPE_FIFO          ? S_IFIFO
                      : entry.type() == v1::ENTRY_TYPE_SOCKET      ? S_IFSOCK
                      : entry.type() == v1::ENTRY_TYPE_CHAR_DEVICE ? S_IFCHR
                                                                   : S_IFBLK;
        if (mknodat(dir->get(), entry.name().c_str(), type | (entry.mode() & 0777),
                    device ? static_cast<dev_t>(entry.rdev()) : 0) != 0) {
          return PosixError(errno, "mknod", path);
        }
        ++log_.files;
        return absl::OkStatus();
      }
      default:
        return absl::InvalidArgumentError("unknown entry type");
    }
  }

  void ReportProgress() {
    if (!options_.progress || !progress_.Due()) return;
    v1::JobProgress progress;
    progress.set_files_done(log_.files);
    progress.set_bytes_done(log_.bytes);
    options_.progress(progress);
  }

  void MakeHardlinks() {
    for (size_t i = 0; i < links_->size(); ++i) {
      v1::TreeEntry link;
      absl::StatusOr<std::string> record = links_->Read(i);
      if (!record.ok() || !link.ParseFromString(*record)) {
        log_.Failed("(hardlink)",
                    record.ok() ? absl::DataLossError("spool damaged") : record.status());
        continue;
      }
      absl::Status status = MakeHardlink(link.name(), link.link_target());
      if (!status.ok()) log_.Failed(absl::CHexEscape(link.name()), status);
    }
  }

  absl::Status MakeHardlink(const std::string& path, const std::string& target) {
    ASSIGN_OR_RETURN(std::vector<std::string> at, SplitRelativePath(path));
    ASSIGN_OR_RETURN(std::vector<std::string> from, SplitRelativePath(target));
    std::string name = at.back(), source = from.back();
    at.pop_back();
    from.pop_back();
    ASSIGN_OR_RETURN(UniqueFd dir, OpenDirectoryBelow(root_fd_, at, path));
    ASSIGN_OR_RETURN(UniqueFd source_dir, OpenDirectoryBelow(root_fd_, from, target));
    RETURN_IF_ERROR(MakeRoom(dir.get(), name, path, options_.overwrite));
    // flags 0: a symlink source is linked itself, never followed.
    if (linkat(source_dir.get(), source.c_str(), dir.get(), name.c_str(), 0) != 0) {
      return PosixError(errno, "link", path);
    }
    ++log_.files;
    return absl::OkStatus();
  }

  // Deepest first (the reverse of the walk's order), so setting a
  // directory's times is the last change inside it.
  void SetDirectoryMetadata() {
    for (size_t i = directories_->size(); i-- > 0;) {
      v1::TreeEntry dir;
      absl::StatusOr<std::string> record = directories_->Read(i);
      if (!record.ok() || !dir.ParseFromString(*record)) {
        log_.Failed("(directory)",
                    record.ok() ? absl::DataLossError("spool damaged") : record.status());
        continue;
      }
      absl::Status status = SetOneDirectory(dir);
      if (!status.ok()) log_.Failed(absl::CHexEscape(dir.name()), status);
    }
  }

  absl::Status SetOneDirectory(const v1::TreeEntry& dir) {
    ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitRelativePath(dir.name()));
    ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectoryBelow(root_fd_, parts, dir.name()));
    return ApplyMetadata(fd.get(), dir, options_.allow_special, dir.name());
  }

  const RestoreOptions& options_;
  const int root_fd_;
  RestoreLog log_;
  TreeFetcher trees_;
  const v1::Tree root_;  // verified before the target was touched
  WindowPipeline windows_;
  std::unique_ptr<SpoolFile> directories_;  // created directories' metadata, in walk order
  std::unique_ptr<SpoolFile> links_;        // hardlinks to make at the end
  ProgressThrottle progress_;
};

}  // namespace

absl::StatusOr<RestoreResult> RunRestore(ServerConnection* connection, const AgentCrypto& crypto,
                                         const RestoreOptions& options) {
  // The snapshot is verified (manifest MAC, root tree id) before anything is
  // created: a tampered snapshot or another tenant's key leaves no trace.
  TreeFetcher trees(connection, options.snapshot_id, crypto);
  ASSIGN_OR_RETURN(v1::Tree root_tree, trees.Root());
  ASSIGN_OR_RETURN(UniqueFd root, OpenRestoreTarget(options.target, options.protected_paths,
                                                    options.allowed_targets));
  auto restorer = std::make_unique<Restorer>(connection, crypto, options, root.get(),
                                             std::move(trees), std::move(root_tree));
  RETURN_IF_ERROR(restorer->Run());
  RestoreResult result = restorer->Result();
  return result;
}

}  // namespace cairn

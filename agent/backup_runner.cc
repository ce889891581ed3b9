#include "agent/backup_runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/chunk_uploader.h"
#include "agent/exclude_rules.h"
#include "agent/file_bundles.h"
#include "agent/file_error_log.h"
#include "agent/file_reader.h"
#include "agent/progress_throttle.h"
#include "agent/tree_spool.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/log/log.h"
#include "common/path_rules.h"
#include "common/path_text.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "common/tree_id.h"
#include "common/tree_pages.h"

namespace cairn {
namespace {

constexpr int kMaxDepth = 1024;
constexpr size_t kMaxInflightBytes = 32u << 20;
// A directory's queued entries (agent/file_bundles.h) are handed to its tree
// before the walk descends into a subdirectory past this many, so nesting
// does not multiply what is held.
constexpr size_t kMaxQueuedBeforeDescent = 256;

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

v1::EntryType TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return v1::ENTRY_TYPE_FILE;
  if (S_ISDIR(mode)) return v1::ENTRY_TYPE_DIRECTORY;
  if (S_ISLNK(mode)) return v1::ENTRY_TYPE_SYMLINK;
  if (S_ISFIFO(mode)) return v1::ENTRY_TYPE_FIFO;
  if (S_ISCHR(mode)) return v1::ENTRY_TYPE_CHAR_DEVICE;
  if (S_ISBLK(mode)) return v1::ENTRY_TYPE_BLOCK_DEVICE;
  if (S_ISSOCK(mode)) return v1::ENTRY_TYPE_SOCKET;
  return v1::ENTRY_TYPE_UNSPECIFIED;
}

enum class Dirtiness { kClean, kBelow, kWhole };

// How much of directory `dir` the changed paths touch: kWhole if one of them
// is `dir` or an ancestor (everything below must be looked at), kBelow if one
// lies strictly inside, kClean otherwise.
Dirtiness Classify(const std::set<std::string>& changed, const std::string& dir) {
  if (changed.contains("")) return Dirtiness::kWhole;
  for (size_t end = dir.find('/');; end = dir.find('/', end + 1)) {
    if (changed.contains(dir.substr(0, end))) return Dirtiness::kWhole;
    if (end == std::string::npos) break;
  }
  std::string prefix = dir + "/";
  auto it = changed.lower_bound(prefix);
  if (it != changed.end() && it->compare(0, prefix.size(), prefix) == 0) return Dirtiness::kBelow;
  return Dirtiness::kClean;
}

// Opens file `name` in `dir_fd` to back it up: without following a symlink,
// and without touching its atime where we may (O_NOATIME needs ownership).
int OpenToRead(int dir_fd, const std::string& name) {
  int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM)
    fd = openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  return fd;
}

void FillMetadata(const struct stat& st, v1::TreeEntry* entry) {
  entry->set_mode(st.st_mode & 07777);
  entry->set_uid(st.st_uid);
  entry->set_gid(st.st_gid);
  entry->set_mtime_ns(Nanos(st.st_mtim));
  entry->set_ctime_ns(Nanos(st.st_ctim));
  entry->set_inode(st.st_ino);
}

struct WalkStats {
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t bytes_scanned = 0;
  uint64_t bytes_read = 0;
  uint64_t files_failed = 0;
  uint64_t files_reread = 0;
  uint64_t directories_reused = 0;
  uint64_t files_rebundled = 0;  // unchanged, read again out of a sparse bundle
};

class BackupWalk final {
 public:
  BackupWalk(ServerConnection* connection, const AgentCrypto& crypto, const v1::AgentConfig& config,
             const BackupOptions& options, std::string job_id, std::string parent_snapshot,
             ChunkUploader* uploader, TreeSpool* spool)
      : connection_(connection),
        crypto_(crypto),
        config_(config),
        options_(options),
        job_id_(std::move(job_id)),
        parent_snapshot_(std::move(parent_snapshot)),
        uploader_(uploader),
        spool_(spool),
        chunker_(crypto.chunker, nullptr),
        excludes_(std::vector<std::string>(config.excludes().begin(), config.excludes().end())) {
    for (const std::string& pattern : options.excludes) excludes_.Add(pattern);
    struct stat st;
    if (stat(config.state_dir().c_str(), &st) == 0) {
      state_dir_dev_ = st.st_dev;
      state_dir_ino_ = st.st_ino;
    }
  }

  // Backs up the directory open as `fd`; returns its tree id.
  // `whole`: everything below may have changed (no shortcut from the
  // changed-path set).
  absl::StatusOr<std::string> Directory(int fd, const std::string& rel,
                                        const std::string& parent_tree_id, int depth, bool whole) {
    if (depth > kMaxDepth) {
      return absl::FailedPreconditionError(absl::StrCat(rel, ": directories nested too deep"));
    }
    // The parent snapshot's entries for this directory, looked up in name
    // order as the walk goes (a large directory's pages one at a time).
    std::optional<TreeIterator> previous;
    if (!parent_tree_id.empty()) {
      absl::StatusOr<v1::Tree> loaded = LoadParentTree(parent_tree_id);
      if (loaded.ok()) {
        previous.emplace(*std::move(loaded),
                         [this](const std::string& id) { return LoadParentTree(id); });
      } else if (!absl::IsNotFound(loaded.status()) && !absl::IsDataLoss(loaded.status())) {
        // The server is unreachable (or refuses): nothing below can be
        // backed up either, so the backup ends here, not one directory at a
        // time. Only a parent tree that is missing or damaged means "new".
        fatal_ = loaded.status();
        return fatal_;
      }
    }

    ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(fd, rel));
    TreeBuilder tree(
        [this](const v1::Tree& node) { return spool_->Add(node.SerializeAsString()); });
    // Entries wait here, in order, for the bundles of small files they name.
    DirectoryBundles bundles(&crypto_, uploader_);
    Listing listing{fd, &tree, &bundles};
    for (const std::string& name : names) {
      std::string path = JoinPath(rel, name);
      if (Excluded(path, name)) continue;
      if (options_.on_entry) options_.on_entry(path);
      struct stat st;
      if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // deleted since listed
        Report(path, PosixError(errno, "stat", path));
        continue;
      }
      if (st.st_dev == state_dir_dev_ && st.st_ino == state_dir_ino_) continue;
      const v1::TreeEntry* before = nullptr;
      if (previous.has_value()) {
        absl::StatusOr<const v1::TreeEntry*> found = previous->Find(name);
        if (found.ok()) {
          before = *found;
        } else if (absl::IsNotFound(found.status()) || absl::IsDataLoss(found.status())) {
          previous.reset();  // a page missing or damaged: the rest is new
        } else {
          fatal_ = found.status();
          return fatal_;
        }
      }
      v1::TreeEntry entry;
      entry.set_name(name);
      entry.set_type(TypeOf(st.st_mode));
      FillMetadata(st, &entry);
      bool queued = false;  // the entry went to `bundles` with its bytes
      const bool directory = entry.type() == v1::ENTRY_TYPE_DIRECTORY;
      absl::Status status = Entry(&listing, path, name, st, before, depth, whole, &entry, &queued);
      // The server went away or the upload failed: stop the whole walk.
      if (fatal_.ok()) fatal_ = uploader_->error();
      if (!fatal_.ok()) return fatal_;
      if (absl::IsAlreadyExists(status)) continue;  // held and not in the parent: left out
      if (!status.ok()) {
        Report(path, status);
        // Keep the previous version of what could not be read.
        if (before != nullptr && before->type() == entry.type()) bundles.Add(*before);
        continue;
      }
      if (!directory) ++stats_.files;
      if (!queued) bundles.Add(std::move(entry));
      if (bundles.full()) RETURN_IF_ERROR(DrainBundles(&listing, /*at_end=*/false));
      MaybeReportProgress(path);
    }
    RETURN_IF_ERROR(DrainBundles(&listing, /*at_end=*/true));
    ++stats_.directories;
    return tree.Finish();
  }

  const WalkStats& stats() const { return stats_; }
  FileErrorLog& errors() { return errors_; }

 private:
  // The directory being listed: where its entries go.
  struct Listing {
    int fd;
    TreeBuilder* tree;
    DirectoryBundles* bundles;
  };

  // Seals the bundles and hands the queued entries to the tree. At the end
  // of a directory that was in view whole, first reads the unchanged files
  // of sparse old bundles into new ones.
  absl::Status DrainBundles(Listing* listing, bool at_end) {
    const std::vector<size_t> sparse = at_end ? listing->bundles->Sparse() : std::vector<size_t>();
    for (size_t index : sparse) {
      const v1::TreeEntry& old = listing->bundles->queued(index);
      // A file that cannot be read again, or changed since it was looked
      // at, keeps its slice of the old bundle: that is still its content.
      int fd = OpenToRead(listing->fd, old.name());
      if (fd < 0) continue;
      UniqueFd file(fd);
      absl::StatusOr<SmallFileContent> small = ReadSmallFile(fd, old.name(), old.size());
      if (!small.ok() || small->data.size() != old.size() ||
          Nanos(small->st.st_mtim) != old.mtime_ns() ||
          Nanos(small->st.st_ctim) != old.ctime_ns() || small->st.st_ino != old.inode()) {
        continue;
      }
      v1::TreeEntry entry = old;
      stats_.bytes_read += small->data.size();
      ++stats_.files_rebundled;
      RETURN_IF_ERROR(listing->bundles->Replace(index, std::move(entry), small->data));
    }
    RETURN_IF_ERROR(listing->bundles->Drain(
        [listing](v1::TreeEntry e) { return listing->tree->Add(std::move(e)); }));
    return absl::OkStatus();
  }

  absl::Status Entry(Listing* listing, const std::string& path, const std::string& name,
                     const struct stat& st, const v1::TreeEntry* before, int depth, bool whole,
                     v1::TreeEntry* entry, bool* queued) {
    const int dir_fd = listing->fd;
    switch (entry->type()) {
      case v1::ENTRY_TYPE_DIRECTORY: {
        bool had = before != nullptr && before->type() == v1::ENTRY_TYPE_DIRECTORY;
        if (options_.hold && options_.hold(path)) {
          if (!had) return absl::AlreadyExistsError("held");
          *entry = *before;
          ++stats_.directories_reused;
          return absl::OkStatus();
        }
        bool child_whole = whole;
        if (!whole && options_.changed_paths != nullptr) {
          Dirtiness d = Classify(*options_.changed_paths, path);
          if (d == Dirtiness::kClean && had) {
            *entry = *before;  // untouched since the parent: not even listed
            ++stats_.directories_reused;
            return absl::OkStatus();
          }
          child_whole = d != Dirtiness::kBelow;
        }
        int child = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) return PosixError(errno, "open directory", path);
        // One directory's bundles open at a time; its queue waits, bounded.
        if (listing->bundles->queued_count() > kMaxQueuedBeforeDescent) {
          RETURN_IF_ERROR(DrainBundles(listing, /*at_end=*/false));
        } else {
          RETURN_IF_ERROR(listing->bundles->Seal());
        }
        UniqueFd child_fd(child);
        std::string parent_subtree;
        if (before != nullptr && before->type() == v1::ENTRY_TYPE_DIRECTORY) {
          parent_subtree = before->subtree_id();
        }
        ASSIGN_OR_RETURN(std::string id,
                         Directory(child, path, parent_subtree, depth + 1, child_whole));
        entry->set_subtree_id(id);
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_SYMLINK: {
        std::string target(static_cast<size_t>(std::max<off_t>(st.st_size, 0)) + 1, '\0');
        if (target.size() > kMaxPathTotalBytes + 1) target.resize(kMaxPathTotalBytes + 1);
        ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
        if (n < 0) return PosixError(errno, "readlink", path);
        if (static_cast<size_t>(n) >= target.size() || n == 0) {
          return absl::OutOfRangeError(absl::StrCat(path, ": symlink target too long or empty"));
        }
        target.resize(static_cast<size_t>(n));
        entry->set_link_target(target);
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_FILE:
        return File(dir_fd, path, name, st, before, entry, listing->bundles, queued);
      case v1::ENTRY_TYPE_FIFO:
      case v1::ENTRY_TYPE_SOCKET:
        return absl::OkStatus();
      case v1::ENTRY_TYPE_CHAR_DEVICE:
      case v1::ENTRY_TYPE_BLOCK_DEVICE:
        entry->set_rdev(st.st_rdev);
        return absl::OkStatus();
      default:
        return absl::UnimplementedError(absl::StrCat(path, ": unknown file type"));
    }
  }

  absl::Status File(int dir_fd, const std::string& path, const std::string& name,
                    const struct stat& st, const v1::TreeEntry* before, v1::TreeEntry* entry,
                    DirectoryBundles* bundles, bool* queued) {
    entry->set_size(static_cast<uint64_t>(st.st_size));
    stats_.bytes_scanned += static_cast<uint64_t>(st.st_size);
    if (st.st_nlink > 1) {
      auto [it, inserted] = hardlinks_.try_emplace(std::make_pair(st.st_dev, st.st_ino), path);
      if (!inserted) {
        entry->set_type(v1::ENTRY_TYPE_HARDLINK);
        entry->set_link_target(it->second);
        entry->set_size(0);
        stats_.bytes_scanned -= static_cast<uint64_t>(st.st_size);
        return absl::OkStatus();
      }
    }
    // Unchanged since the parent snapshot: trust the metadata (not at full).
    if (before != nullptr && options_.level != v1::BACKUP_LEVEL_FULL &&
        before->type() == v1::ENTRY_TYPE_FILE && before->size() == entry->size() &&
        before->mtime_ns() == entry->mtime_ns() && before->ctime_ns() == entry->ctime_ns() &&
        before->inode() == entry->inode()) {
      *entry->mutable_chunks() = before->chunks();
      entry->set_kind(before->kind());
      entry->set_data_class(before->data_class());
      entry->set_plot(before->plot());
      return absl::OkStatus();
    }
    int fd = OpenToRead(dir_fd, name);
    if (fd < 0) return PosixError(errno, "open", path);
    UniqueFd file(fd);
    if (bundles->Bundles(entry->size())) {
      absl::StatusOr<SmallFileContent> small = ReadSmallFile(fd, path, crypto_.bundle_file_bytes);
      if (small.ok()) {
        FillMetadata(small->st, entry);
        stats_.bytes_scanned += small->data.size() - entry->size();
        entry->set_size(small->data.size());
        RecordProbe(small->probe, entry);
        stats_.bytes_read += small->data.size();
        if (small->reads > 1) ++stats_.files_reread;
        *queued = true;
        return bundles->AddSmall(std::move(*entry), small->data);
      }
      // Grown past the bundle limit since it was looked at: chunked below.
      if (!absl::IsOutOfRange(small.status())) return small.status();
    }
    ASSIGN_OR_RETURN(FileContent content, ReadFileChunks(fd, path, crypto_, &chunker_, uploader_,
                                                         JoinPath(options_.root, path)));
    // Describe the version that was read.
    FillMetadata(content.st, entry);
    stats_.bytes_scanned += static_cast<uint64_t>(content.st.st_size) - entry->size();
    entry->set_size(static_cast<uint64_t>(content.st.st_size));
    for (v1::ChunkRef& ref : content.chunks) *entry->add_chunks() = std::move(ref);
    RecordProbe(content.probe, entry);
    stats_.bytes_read += content.bytes_read;
    if (content.reads > 1) ++stats_.files_reread;
    return absl::OkStatus();
  }

  // A tree of the parent snapshot, checked against its id. An index node's
  // pages are read ahead with it (GetTrees, up to 64 a call), so a paged
  // directory costs a call or two per index node, not one per page.
  absl::StatusOr<v1::Tree> LoadParentTree(const std::string& id) {
    std::string bytes;
    if (auto cached = parent_pages_.find(id); cached != parent_pages_.end()) {
      bytes = std::move(cached->second);
      parent_pages_bytes_ -= bytes.size();
      parent_pages_.erase(cached);
    } else {
      v1::GetTreeRequest request;
      request.set_id(id);
      request.set_snapshot_id(parent_snapshot_);
      ASSIGN_OR_RETURN(v1::GetTreeResponse response,
                       connection_->Call(&v1::AgentService::Stub::GetTree, request,
                                         absl::Seconds(60), absl::Seconds(10)));
      bytes = std::move(*response.mutable_tree());
    }
    // The parent's root was signed (RunBackup checked its manifest); each
    // tree must hash to the id its checked parent names.
    if (TreeId(bytes) != id) {
      return absl::DataLossError(
          absl::StrCat("a tree of the parent snapshot (", HexOf(id), ") does not match its id"));
    }
    v1::Tree tree;
    if (!tree.ParseFromString(bytes)) {
      return absl::DataLossError("the parent snapshot's tree does not parse");
    }
    if (tree.pages_size() > 0) RETURN_IF_ERROR(ReadPagesAhead(tree));
    return tree;
  }

  // Fetches the pages of index node `index` into parent_pages_, where the
  // walk finds them as it reaches them (nested directories and index levels
  // add theirs). Pages a lookup skipped are never taken: past
  // kMaxParentPagesBytes the cache starts over, so memory stays bounded.
  absl::Status ReadPagesAhead(const v1::Tree& index) {
    if (parent_pages_bytes_ > kMaxParentPagesBytes) {
      parent_pages_.clear();
      parent_pages_bytes_ = 0;
    }
    for (int start = 0; start < index.pages_size();) {
      v1::GetTreesRequest request;
      request.set_snapshot_id(parent_snapshot_);
      for (int i = start;
           i < index.pages_size() && static_cast<size_t>(request.ids_size()) < kMaxTreesPerCall;
           ++i) {
        request.add_ids(index.pages(i).tree_id());
      }
      ASSIGN_OR_RETURN(v1::GetTreesResponse response,
                       connection_->Call(&v1::AgentService::Stub::GetTrees, request,
                                         absl::Seconds(60), absl::Seconds(10)));
      if (response.trees_size() == 0) {
        return absl::DataLossError("the server answered GetTrees with no tree");
      }
      // The server may answer fewer than asked (its byte bound per call).
      for (int i = 0; i < response.trees_size() && i < request.ids_size(); ++i) {
        std::string& slot = parent_pages_[request.ids(i)];
        parent_pages_bytes_ += response.trees(i).size() - slot.size();
        slot = std::move(*response.mutable_trees(i));
      }
      start += std::min(response.trees_size(), request.ids_size());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListNames(int fd, const std::string& rel) {
    int dup_fd = dup(fd);
    if (dup_fd < 0) return PosixError(errno, "dup", rel);
    DIR* dir = fdopendir(dup_fd);
    if (dir == nullptr) {
      close(dup_fd);
      return PosixError(errno, "opendir", rel.empty() ? options_.root : rel);
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* d = readdir(dir)) {
      absl::string_view name(d->d_name);
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
    int err = errno;
    closedir(dir);
    if (err != 0) return PosixError(err, "readdir", rel);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool Excluded(const std::string& path, const std::string& name) const {
    return excludes_.Excludes(path, name);
  }

  void Report(const std::string& path, const absl::Status& status) {
    ++stats_.files_failed;
    errors_.Add(path, status);
  }

  void MaybeReportProgress(const std::string& path) {
    if (!options_.progress || !progress_.Due()) return;
    v1::JobProgress progress;
    progress.set_files_done(stats_.files);
    progress.set_bytes_done(stats_.bytes_scanned);
    progress.set_current_path(PathToText(path));
    options_.progress(job_id_, progress);
  }

  ServerConnection* connection_;
  const AgentCrypto& crypto_;
  const v1::AgentConfig& config_;
  const BackupOptions& options_;
  std::string job_id_;
  std::string parent_snapshot_;
  ChunkUploader* uploader_;
  TreeSpool* spool_;
  Chunker chunker_;  // one for the walk, Reset per file extent
  dev_t state_dir_dev_ = 0;
  ino_t state_dir_ino_ = 0;
  absl::flat_hash_map<std::pair<dev_t, ino_t>, std::string> hardlinks_;
  // Pages of the parent snapshot read ahead (LoadParentTree), by id.
  static constexpr size_t kMaxParentPagesBytes = 32u << 20;
  absl::flat_hash_map<std::string, std::string> parent_pages_;
  size_t parent_pages_bytes_ = 0;
  WalkStats stats_;
  FileErrorLog errors_;
  ExcludeRules excludes_;
  ProgressThrottle progress_;
  absl::Status fatal_;  // once set, the walk stops
};

void FailJob(ServerConnection* connection, const std::string& job_id, const absl::Status& status) {
  v1::FinishJobRequest finish;
  finish.set_job_id(job_id);
  finish.set_state(v1::JOB_STATE_FAILED);
  finish.set_error(TruncateUtf8(PathToText(status.message()), 4096));
  connection->Call(&v1::AgentService::Stub::FinishJob, finish, absl::Seconds(10), absl::Seconds(5))
      .IgnoreError();
}

}  // namespace

absl::StatusOr<BackupResult> RunBackup(ServerConnection* connection, const AgentCrypto& crypto,
                                       const v1::AgentConfig& config,
                                       const BackupOptions& options) {
  absl::Time start = absl::Now();
  if (options.root.empty() || options.root[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("the root \"", options.root, "\" must be an absolute path"));
  }
  // The root itself may be reached through a symlink; nothing inside is.
  int root_fd = open(options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return PosixError(errno, "open root", options.root);
  UniqueFd root(root_fd);

  v1::BeginBackupRequest begin;
  begin.set_agent(config.name());
  begin.add_roots(options.root);
  begin.set_level(options.level);
  begin.set_job_id(options.job_id);
  ASSIGN_OR_RETURN(v1::BeginBackupResponse job,
                   connection->Call(&v1::AgentService::Stub::BeginBackup, begin));
  // The parent's trees are trusted (unchanged files keep their chunks) only
  // under a manifest this tenant's key signed.
  if (!job.parent_root_tree_id().empty()) {
    absl::Status trusted = crypto.manifest.Verify(
        SnapshotManifest{crypto.tenant, config.name(), options.root, job.parent_root_tree_id(),
                         job.parent_snapshot_id()},
        job.parent_manifest_mac());
    if (!trusted.ok()) {
      absl::Status refused = absl::DataLossError(absl::StrCat(
          "the parent snapshot ", job.parent_snapshot_id(),
          " cannot be trusted: ", trusted.message(), " (run a full backup: --level full)"));
      FailJob(connection, job.job_id(), refused);
      return refused;
    }
  }

  auto run = [&]() -> absl::StatusOr<BackupResult> {
    ASSIGN_OR_RETURN(std::unique_ptr<TreeSpool> spool,
                     TreeSpool::Create(config.state_dir() + "/spool"));
    int workers = static_cast<int>(options.workers > 0 ? options.workers : config.workers());
    ChunkUploader uploader(connection, &crypto, job.job_id(), workers, kMaxInflightBytes,
                           options.bandwidth_bytes_per_second);
    BackupWalk walk(connection, crypto, config, options, job.job_id(), job.parent_snapshot_id(),
                    &uploader, spool.get());
    // Without a parent there is nothing to reuse: look at everything.
    bool whole = options.changed_paths == nullptr || job.parent_root_tree_id().empty() ||
                 options.changed_paths->contains("");
    absl::StatusOr<std::string> root_tree =
        walk.Directory(root.get(), "", job.parent_root_tree_id(), 0, whole);
    // Closing the upload stream also tells why it failed, if it did (the
    // server's reason, such as a full disk, says more than "it broke").
    absl::StatusOr<UploadStats> upload = uploader.Finish();
    if (!upload.ok()) return upload.status();
    if (!root_tree.ok()) return root_tree.status();
    RETURN_IF_ERROR(spool->Send(connection, job.job_id()));

    v1::CommitSnapshotRequest commit;
    commit.set_job_id(job.job_id());
    commit.set_root_tree_id(*root_tree);
    commit.set_manifest_mac(crypto.manifest.Mac(SnapshotManifest{
        crypto.tenant, config.name(), options.root, *root_tree, SnapshotIdForJob(job.job_id())}));
    v1::BackupStats stats;
    stats.set_files(walk.stats().files);
    stats.set_directories(walk.stats().directories);
    stats.set_bytes_scanned(walk.stats().bytes_scanned);
    stats.set_bytes_read(walk.stats().bytes_read);
    stats.set_files_failed(walk.stats().files_failed);
    stats.set_files_reread(walk.stats().files_reread);
    stats.set_files_rebundled(walk.stats().files_rebundled);
    stats.set_chunks_new(upload->chunks_uploaded);
    stats.set_bytes_uploaded(upload->bytes_uploaded);
    stats.set_chunks_as_deltas(upload->chunks_as_deltas);
    stats.set_chunks_waited(upload->chunks_waited);
    stats.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
    *commit.mutable_stats() = stats;
    for (const v1::FileError& e : walk.errors().kept()) *commit.add_file_errors() = e;
    ASSIGN_OR_RETURN(v1::CommitSnapshotResponse committed,
                     connection->Call(&v1::AgentService::Stub::CommitSnapshot, commit));
    BackupResult result;
    result.snapshot = committed.snapshot();
    result.errors = walk.errors().TakeKept();
    return result;
  };
  absl::StatusOr<BackupResult> result = run();
  if (!result.ok()) FailJob(connection, job.job_id(), result.status());
  return result;
}

void LogBackupCommitted(absl::string_view trigger, const std::string& job_id,
                        const std::string& root, const v1::Snapshot& snapshot) {
  const v1::BackupStats& stats = snapshot.stats();
  log::Info("backup.committed", {{"trigger", trigger},
                                 {"job", job_id},
                                 {"root", root},
                                 {"snapshot", snapshot.id()},
                                 {"files", stats.files()},
                                 {"bytes_read", stats.bytes_read()},
                                 {"bytes_uploaded", stats.bytes_uploaded()},
                                 {"files_failed", stats.files_failed()},
                                 {"seconds", stats.seconds()}});
}

}  // namespace cairn

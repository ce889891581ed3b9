#include "agent/restore_executor.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <deque>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/file_error_log.h"
#include "agent/tree_spool.h"
#include "common/chunk_id.h"
#include "common/codec.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// Files restored together: their chunks are fetched in one stream.
constexpr size_t kBatchFiles = 256;
constexpr uint64_t kBatchBytes = 256u << 20;
// Directories below the target: a backup never nests deeper, so a snapshot
// that does comes from a tampered catalog and must not cost unbounded stack
// and one open descriptor per level.
constexpr int kMaxRestoreDepth = 1024;

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    --ts.tv_sec;
  }
  return ts;
}

bool IsPrefixPath(const std::string& dir, const std::string& path) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         (dir.back() == '/' || path[dir.size()] == '/'));
}

// A file being restored: its temp file in the destination directory.
struct PendingFile {
  int dir_fd;
  std::string name;
  std::string path;
  std::string temp_name;
  UniqueFd fd;
  v1::TreeEntry entry;
  bool failed = false;
};

class Restorer final {
 public:
  Restorer(ServerConnection* connection, const AgentCrypto& crypto, const RestoreOptions& options)
      : connection_(connection), crypto_(crypto), options_(options) {
    is_root_ = geteuid() == 0;
  }

  absl::Status Run(int root_fd) {
    root_fd_ = root_fd;
    ASSIGN_OR_RETURN(v1::Tree root, LoadTree(""));
    if (options_.paths.empty()) {
      RETURN_IF_ERROR(RestoreTree(root_fd, "", root));
    } else {
      for (const std::string& path : options_.paths) {
        absl::Status status = RestorePath(root, path);
        if (!status.ok()) Report(path, status);
      }
    }
    return FlushFiles();
  }

  RestoreResult& result() {
    result_.errors = errors_.kept();
    return result_;
  }

 private:
  absl::StatusOr<v1::Tree> LoadTree(const std::string& id) {
    v1::GetTreeRequest request;
    request.set_snapshot_id(options_.snapshot_id);
    request.set_id(id);
    ASSIGN_OR_RETURN(v1::GetTreeResponse response,
                     connection_->Call(&v1::AgentService::Stub::GetTree, request));
    // Subtrees are content-addressed: one that does not hash to its id was
    // tampered with, and checking makes a cycle of trees impossible.
    if (!id.empty() && TreeId(response.tree()) != id) {
      return absl::DataLossError(absl::StrCat("tree ", HexOf(id), " does not match its id"));
    }
    v1::Tree tree;
    if (!tree.ParseFromString(response.tree())) {
      return absl::DataLossError(absl::StrCat("tree ", HexOf(id), " does not parse"));
    }
    return tree;
  }

  // Restores one snapshot path: creates its parents, then the entry.
  absl::Status RestorePath(const v1::Tree& root, const std::string& path) {
    RETURN_IF_ERROR(ValidateRelativePath(path));
    ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitRelativePath(path));
    v1::Tree tree = root;
    int dir_fd = root_fd_;
    std::vector<UniqueFd> parents;
    std::string rel;
    for (size_t i = 0; i < parts.size(); ++i) {
      const v1::TreeEntry* found = nullptr;
      for (const v1::TreeEntry& e : tree.entries()) {
        if (e.name() == parts[i]) found = &e;
      }
      if (found == nullptr) return absl::NotFoundError(absl::StrCat(path, " is not in the snapshot"));
      if (i + 1 == parts.size()) {
        depth_ = static_cast<int>(i);
        absl::Status status = RestoreEntry(dir_fd, rel, *found);
        depth_ = 0;
        // Queued files refer to directory descriptors closed on return.
        absl::Status flushed = FlushFiles();
        return status.ok() ? flushed : status;
      }
      if (found->type() != v1::ENTRY_TYPE_DIRECTORY) {
        return absl::NotFoundError(absl::StrCat(JoinPath(rel, parts[i]), " is not a directory"));
      }
      ASSIGN_OR_RETURN(UniqueFd child,
                       EnsureDirectory(dir_fd, JoinPath(rel, parts[i]), parts[i]));
      dir_fd = child.get();
      parents.push_back(std::move(child));
      rel = JoinPath(rel, parts[i]);
      std::string subtree = found->subtree_id();
      ASSIGN_OR_RETURN(tree, LoadTree(subtree));
    }
    return absl::OkStatus();
  }

  absl::Status RestoreTree(int dir_fd, const std::string& rel, const v1::Tree& tree) {
    for (const v1::TreeEntry& entry : tree.entries()) {
      absl::Status status = RestoreEntry(dir_fd, rel, entry);
      if (!status.ok()) Report(JoinPath(rel, CleanName(entry.name())), status);
    }
    return absl::OkStatus();
  }

  std::string CleanName(const std::string& name) { return absl::CHexEscape(name); }

  absl::Status RestoreEntry(int dir_fd, const std::string& rel, const v1::TreeEntry& entry) {
    // A tampered catalog may hold any bytes: only plain names are restored.
    RETURN_IF_ERROR(ValidateName(entry.name()));
    std::string path = JoinPath(rel, entry.name());
    switch (entry.type()) {
      case v1::ENTRY_TYPE_DIRECTORY: {
        if (depth_ >= kMaxRestoreDepth) {
          return absl::FailedPreconditionError(absl::StrCat(
              "directories nested more than ", kMaxRestoreDepth, " deep; not restored"));
        }
        ++depth_;
        absl::Cleanup leave = [this] { --depth_; };
        ASSIGN_OR_RETURN(UniqueFd child, EnsureDirectory(dir_fd, path, entry.name()));
        ASSIGN_OR_RETURN(v1::Tree subtree, LoadTree(entry.subtree_id()));
        RETURN_IF_ERROR(RestoreTree(child.get(), path, subtree));
        // The directory's files land before its metadata is set (renames
        // change its mtime); then its descriptor is closed.
        RETURN_IF_ERROR(FlushFiles());
        ApplyDirectoryMetadata(child.get(), entry);
        ++result_.directories;
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_FILE:
        return QueueFile(dir_fd, path, entry);
      case v1::ENTRY_TYPE_SYMLINK: {
        RETURN_IF_ERROR(MakeRoom(dir_fd, path, entry.name()));
        if (symlinkat(entry.link_target().c_str(), dir_fd, entry.name().c_str()) != 0) {
          return PosixError(errno, "symlink", path);
        }
        if (is_root_) {
          fchownat(dir_fd, entry.name().c_str(), entry.uid(), entry.gid(), AT_SYMLINK_NOFOLLOW);
        }
        struct timespec times[2] = {ToTimespec(entry.mtime_ns()), ToTimespec(entry.mtime_ns())};
        utimensat(dir_fd, entry.name().c_str(), times, AT_SYMLINK_NOFOLLOW);
        ++result_.files;
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_HARDLINK: {
        // The first name must be restored (written) before its links.
        RETURN_IF_ERROR(FlushFiles());
        RETURN_IF_ERROR(ValidateRelativePath(entry.link_target()));
        ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitRelativePath(entry.link_target()));
        int parent = root_fd_;
        UniqueFd holder;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
          int next = openat(parent, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (next < 0) return PosixError(errno, "open link source directory", entry.link_target());
          holder = UniqueFd(next);
          parent = next;
        }
        RETURN_IF_ERROR(MakeRoom(dir_fd, path, entry.name()));
        // flags 0: a symlink source is linked itself, never followed.
        if (linkat(parent, parts.back().c_str(), dir_fd, entry.name().c_str(), 0) != 0) {
          return PosixError(errno, "link", path);
        }
        ++result_.files;
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_FIFO:
      case v1::ENTRY_TYPE_CHAR_DEVICE:
      case v1::ENTRY_TYPE_BLOCK_DEVICE: {
        if (!options_.allow_special) {
          return absl::PermissionDeniedError(
              "special file skipped (order the restore with special files allowed to create it)");
        }
        RETURN_IF_ERROR(MakeRoom(dir_fd, path, entry.name()));
        mode_t type = entry.type() == v1::ENTRY_TYPE_FIFO         ? S_IFIFO
                      : entry.type() == v1::ENTRY_TYPE_CHAR_DEVICE ? S_IFCHR
                                                                   : S_IFBLK;
        if (mknodat(dir_fd, entry.name().c_str(), type | (entry.mode() & 0777),
                    static_cast<dev_t>(entry.rdev())) != 0) {
          return PosixError(errno, "mknod", path);
        }
        ++result_.files;
        return absl::OkStatus();
      }
      case v1::ENTRY_TYPE_SOCKET:
        return absl::OkStatus();  // sockets are not restorable; nothing to do
      default:
        return absl::InvalidArgumentError("unknown entry type");
    }
  }

  // Makes sure `name` in `dir_fd` is free for a new entry: absent, or (with
  // overwrite) a non-directory that is removed. Never follows a link.
  absl::Status MakeRoom(int dir_fd, const std::string& path, const std::string& name) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return absl::OkStatus();
      return PosixError(errno, "stat", path);
    }
    if (!options_.overwrite) {
      return absl::AlreadyExistsError(absl::StrCat(path, " exists (restore with overwrite)"));
    }
    if (S_ISDIR(st.st_mode)) {
      return absl::AlreadyExistsError(absl::StrCat(path, " exists as a directory"));
    }
    if (unlinkat(dir_fd, name.c_str(), 0) != 0) return PosixError(errno, "remove", path);
    return absl::OkStatus();
  }

  // Creates (or reuses) a real directory and opens it without following links.
  absl::StatusOr<UniqueFd> EnsureDirectory(int dir_fd, const std::string& path, const std::string& name) {
    if (mkdirat(dir_fd, name.c_str(), 0700) != 0 && errno != EEXIST) {
      return PosixError(errno, "mkdir", path);
    }
    int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return absl::FailedPreconditionError(absl::StrCat(
            path, " exists in the target and is not a directory (a symlink?); refusing to "
                  "write through it"));
      }
      return PosixError(errno, "open directory", path);
    }
    return UniqueFd(fd);
  }

  absl::Status QueueFile(int dir_fd, const std::string& path, const v1::TreeEntry& entry) {
    struct stat st;
    if (fstatat(dir_fd, entry.name().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!options_.overwrite) {
        return absl::AlreadyExistsError(absl::StrCat(path, " exists (restore with overwrite)"));
      }
      if (S_ISDIR(st.st_mode)) {
        return absl::AlreadyExistsError(absl::StrCat(path, " exists as a directory"));
      }
    }
    unsigned char random[8];
    randombytes_buf(random, sizeof(random));
    std::string temp = absl::StrCat(
        ".cairn-restore-",
        HexOf(absl::string_view(reinterpret_cast<const char*>(random), sizeof(random))));
    int fd = openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
    if (fd < 0) return PosixError(errno, "create", path);
    PendingFile file{dir_fd, entry.name(), path, temp, UniqueFd(fd), entry};
    if (ftruncate(fd, static_cast<off_t>(entry.size())) != 0) {
      absl::Status status = PosixError(errno, "truncate", path);
      unlinkat(dir_fd, temp.c_str(), 0);
      return status;
    }
    for (const v1::ChunkRef& chunk : entry.chunks()) {
      batch_bytes_ += chunk.size();
    }
    batch_.push_back(std::move(file));
    if (batch_.size() >= kBatchFiles || batch_bytes_ >= kBatchBytes) return FlushFiles();
    return absl::OkStatus();
  }

  // Fetches the chunks of the queued files, writes them, and moves each file
  // into place.
  absl::Status FlushFiles() {
    if (batch_.empty()) return absl::OkStatus();
    // Where each chunk goes: (file index, offset), by chunk id.
    absl::flat_hash_map<std::string, std::vector<std::pair<size_t, const v1::ChunkRef*>>> wanted;
    std::vector<std::string> order;
    for (size_t i = 0; i < batch_.size(); ++i) {
      for (const v1::ChunkRef& chunk : batch_[i].entry.chunks()) {
        auto [it, inserted] = wanted.try_emplace(chunk.id());
        if (inserted) order.push_back(chunk.id());
        it->second.emplace_back(i, &chunk);
      }
    }
    absl::Status fetched = absl::OkStatus();
    for (size_t start = 0; start < order.size() && fetched.ok(); start += kMaxReadIdsPerCall) {
      size_t end = std::min(order.size(), start + kMaxReadIdsPerCall);
      fetched = FetchChunks(order, start, end, wanted);
    }
    for (PendingFile& file : batch_) {
      absl::Status status = fetched.ok() && !file.failed ? Finalize(file)
                            : !fetched.ok()              ? fetched
                                                         : absl::DataLossError("chunk failed");
      if (!status.ok()) {
        unlinkat(file.dir_fd, file.temp_name.c_str(), 0);
        if (!file.failed || !fetched.ok()) Report(file.path, status);
      }
    }
    batch_.clear();
    batch_bytes_ = 0;
    MaybeProgress();
    return absl::OkStatus();
  }

  // Streams the chunks [start, end) of `order` and writes each where it goes.
  // The stream is read on this thread; decryption, decompression, the id
  // check and the writes run on a pool of workers (one per core by default),
  // at most 2 chunks per worker queued, so memory stays bounded.
  absl::Status FetchChunks(
      const std::vector<std::string>& order, size_t start, size_t end,
      absl::flat_hash_map<std::string, std::vector<std::pair<size_t, const v1::ChunkRef*>>>&
          wanted) {
    v1::ReadChunksRequest request;
    request.set_snapshot_id(options_.snapshot_id);
    for (size_t i = start; i < end; ++i) request.add_ids(order[i]);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Hours(1)));
    std::unique_ptr<grpc::ClientReader<v1::ReadChunkResponse>> reader =
        connection_->stub()->ReadChunks(&context, request);

    const size_t workers = std::max<size_t>(1, options_.workers > 0
                                                   ? options_.workers
                                                   : std::thread::hardware_concurrency());
    absl::Mutex mu;
    std::deque<v1::ReadChunkResponse> queue;
    bool closing = false;
    auto work = [&] {
      std::string framed, plain;
      while (true) {
        v1::ReadChunkResponse chunk;
        {
          absl::MutexLock lock(&mu);
          auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
            return !queue.empty() || closing;
          };
          mu.Await(absl::Condition(&ready));
          if (queue.empty()) return;
          chunk = std::move(queue.front());
          queue.pop_front();
        }
        const auto& targets = wanted.at(chunk.id());
        absl::Status status = OpenChunk(chunk.id(), chunk.sealed(), &framed, &plain);
        if (status.ok() && plain.size() != targets.front().second->size()) {
          status = absl::DataLossError(absl::StrCat("chunk ", HexOf(chunk.id()), " has ",
                                                    plain.size(), " bytes, the file expects ",
                                                    targets.front().second->size()));
        }
        for (const auto& [index, ref] : targets) {
          PendingFile& file = batch_[index];
          absl::Status write = status;
          if (write.ok()) write = PwriteAll(file.fd.get(), plain, ref->offset(), file.path);
          absl::MutexLock lock(&mu);
          if (!write.ok() && !file.failed) {
            file.failed = true;
            Report(file.path, write);
          }
          if (write.ok()) result_.bytes += plain.size();
        }
      }
    };
    std::vector<std::thread> pool;
    for (size_t i = 0; i < workers; ++i) pool.emplace_back(work);

    absl::Status status = absl::OkStatus();
    v1::ReadChunkResponse response;
    size_t next = start;
    while (reader->Read(&response)) {
      if (next >= end || response.id() != order[next]) {
        context.TryCancel();
        status = absl::DataLossError("the server sent chunks out of order");
        break;
      }
      ++next;
      absl::MutexLock lock(&mu);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return queue.size() < 2 * workers; };
      mu.Await(absl::Condition(&room));
      queue.push_back(std::move(response));
    }
    {
      absl::MutexLock lock(&mu);
      closing = true;
    }
    for (std::thread& t : pool) t.join();
    grpc::Status rpc = reader->Finish();
    RETURN_IF_ERROR(status);
    if (!rpc.ok()) return FromGrpcStatus(rpc);
    if (next != end) return absl::DataLossError("the server sent fewer chunks than asked");
    return absl::OkStatus();
  }

  absl::Status OpenChunk(const std::string& id_bytes, const std::string& sealed,
                         std::string* framed, std::string* plain) {
    ASSIGN_OR_RETURN(ChunkId id, ChunkIdFromBytes(id_bytes));
    RETURN_IF_ERROR(crypto_.sealer.Open(id, sealed, framed));
    RETURN_IF_ERROR(Decompress(*framed, kMaxChunkBytes, plain));
    // The id is the keyed hash of the plaintext: a chunk stored under the
    // wrong id, or corrupted before sealing, is caught here.
    if (crypto_.hasher.Hash(*plain) != id) {
      return absl::DataLossError(absl::StrCat("chunk ", ChunkIdHex(id),
                                              " does not match its id after decryption"));
    }
    return absl::OkStatus();
  }

  static absl::Status PwriteAll(int fd, absl::string_view data, uint64_t offset,
                                const std::string& path) {
    while (!data.empty()) {
      ssize_t n = pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(errno, "write", path);
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  absl::Status Finalize(PendingFile& file) {
    const v1::TreeEntry& entry = file.entry;
    int fd = file.fd.get();
    if (is_root_ && fchown(fd, entry.uid(), entry.gid()) != 0) {
      return PosixError(errno, "chown", file.path);
    }
    mode_t mode = entry.mode() & (options_.allow_special ? 07777 : 01777);
    if (fchmod(fd, mode) != 0) return PosixError(errno, "chmod", file.path);
    struct timespec times[2] = {ToTimespec(entry.mtime_ns()), ToTimespec(entry.mtime_ns())};
    if (futimens(fd, times) != 0) return PosixError(errno, "set times of", file.path);
    if (fsync(fd) != 0) return PosixError(errno, "fsync", file.path);
    // Re-check just before the rename: the name may have appeared since.
    struct stat st;
    if (fstatat(file.dir_fd, file.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!options_.overwrite) {
        return absl::AlreadyExistsError(absl::StrCat(file.path, " exists (restore with overwrite)"));
      }
      if (S_ISDIR(st.st_mode)) {
        return absl::AlreadyExistsError(absl::StrCat(file.path, " exists as a directory"));
      }
    }
    // rename replaces a planted symlink itself; it never writes through it.
    if (renameat(file.dir_fd, file.temp_name.c_str(), file.dir_fd, file.name.c_str()) != 0) {
      return PosixError(errno, "rename into place", file.path);
    }
    ++result_.files;
    return absl::OkStatus();
  }

  void Report(const std::string& path, const absl::Status& status) {
    errors_.Add(path, status);
    result_.failed = errors_.count();
  }

  void MaybeProgress() {
    if (!options_.progress) return;
    absl::Time now = absl::Now();
    if (now - last_progress_ < absl::Seconds(1)) return;
    last_progress_ = now;
    v1::JobProgress progress;
    progress.set_files_done(result_.files);
    progress.set_bytes_done(result_.bytes);
    options_.progress(progress);
  }

  void ApplyDirectoryMetadata(int fd, const v1::TreeEntry& entry) {
    if (is_root_) fchown(fd, entry.uid(), entry.gid());
    fchmod(fd, entry.mode() & (options_.allow_special ? 07777 : 01777));
    struct timespec times[2] = {ToTimespec(entry.mtime_ns()), ToTimespec(entry.mtime_ns())};
    futimens(fd, times);
    fsync(fd);
  }

  ServerConnection* connection_;
  const AgentCrypto& crypto_;
  const RestoreOptions& options_;
  bool is_root_ = false;
  int root_fd_ = -1;
  int depth_ = 0;  // directories entered below the target
  std::vector<PendingFile> batch_;
  uint64_t batch_bytes_ = 0;
  RestoreResult result_;
  FileErrorLog errors_;
  absl::Time last_progress_ = absl::Now();
};

// The real path of `path`, or of its longest existing ancestor joined with
// the rest, where "." and ".." in the missing part are resolved by name (as
// mkdir -p would walk them).
std::string RealPathOf(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) != nullptr) return buf;
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return path;
  std::string parent = RealPathOf(slash == 0 ? "/" : path.substr(0, slash));
  std::string last = path.substr(slash + 1);
  if (last.empty() || last == ".") return parent;
  std::string joined = last == ".."   ? DirName(parent)
                       : parent == "/" ? "/" + last
                                       : parent + "/" + last;
  if (realpath(joined.c_str(), buf) != nullptr) return buf;
  return joined;
}

}  // namespace

absl::StatusOr<RestoreResult> RunRestore(ServerConnection* connection, const AgentCrypto& crypto,
                                         const RestoreOptions& options) {
  const std::string& target = options.target;
  if (target.empty() || target[0] != '/' || target.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the restore target must be an absolute path");
  }
  if (target.find_first_not_of('/') == std::string::npos) {
    return absl::InvalidArgumentError("restoring into / is refused; name a directory");
  }
  auto check = [&](const std::string& real_target) -> absl::Status {
    if (real_target == "/") {
      return absl::InvalidArgumentError("restoring into / is refused; name a directory");
    }
    for (const std::string& p : options.protected_paths) {
      if (p.empty()) continue;
      std::string real = RealPathOf(p);
      if (IsPrefixPath(real_target, real) || IsPrefixPath(real, real_target)) {
        return absl::PermissionDeniedError(absl::StrCat(
            "refusing to restore into ", target, ": it overlaps the agent's own ", real));
      }
    }
    return absl::OkStatus();
  };
  // Before anything is created (a refused target gets no directories), and
  // again once it exists and its real path is certain.
  RETURN_IF_ERROR(check(RealPathOf(target)));
  RETURN_IF_ERROR(MakeDirectories(target, 0700));
  std::string real_target = RealPathOf(target);
  RETURN_IF_ERROR(check(real_target));
  int fd = open(real_target.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return PosixError(errno, "open restore target", target);
  UniqueFd root(fd);
  Restorer restorer(connection, crypto, options);
  RETURN_IF_ERROR(restorer.Run(root.get()));
  fsync(root.get());
  return std::move(restorer.result());
}

}  // namespace cairn

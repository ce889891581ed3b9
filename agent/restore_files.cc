#include "agent/restore_files.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/restore_target.h"
#include "common/ids.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

absl::Status WriteAt(int fd, absl::string_view data, uint64_t offset, const std::string& path) {
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

std::string TempName() {
  unsigned char random[8];
  randombytes_buf(random, sizeof(random));
  return absl::StrCat(".cairn-restore-",
                      HexOf(absl::string_view(reinterpret_cast<const char*>(random), 8)));
}

}  // namespace

FileWindow::FileWindow(Settings settings, RestoreLog* log)
    : settings_(settings),
      umask_([] {
        mode_t m = umask(0);
        umask(m);
        return m;
      }()),
      log_(log) {}

absl::Status FileWindow::Add(std::shared_ptr<const UniqueFd> dir, const std::string& name,
                             const std::string& path, v1::TreeEntry entry) {
  auto file = std::make_unique<File>();
  file->dir = std::move(dir);
  file->name = name;
  file->path = path;
  file->remaining = entry.chunks_size();
  file->entry = std::move(entry);
  File* f = file.get();
  // Created here, on the walk's one thread: workers creating files in the
  // same directory at once would only queue (and spin) on its lock.
  RETURN_IF_ERROR(Open(f));
  files_.push_back(std::move(file));
  if (f->remaining == 0) {
    Finish(f);  // no data (empty, or all holes)
    return absl::OkStatus();
  }
  for (const v1::ChunkRef& c : f->entry.chunks()) {
    auto [it, inserted] = targets_.try_emplace(c.id());
    if (inserted) order_.push_back(c.id());
    it->second.push_back(Target{f, c.offset(), c.size(), c.bundle_offset(), c.bundle_size()});
    ++refs_;
  }
  return absl::OkStatus();
}

absl::Status FileWindow::Open(File* file) {
  absl::MutexLock lock(&file->open_mu);
  if (file->opened) return file->fd.valid() ? absl::OkStatus() : absl::CancelledError("failed");
  file->opened = true;
  const int dir = file->dir->get();
  // Created with its final permission bits when the umask keeps them all.
  mode_t mode = file->entry.mode() & 0777;
  if ((mode & umask_) != 0) mode = 0600;
  int fd =
      openat(dir, file->name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0 && errno == EEXIST) {
    absl::Status rule = ExistingEntry(file->path, false, settings_.overwrite);
    if (!rule.ok()) return rule;
    // Overwrite: a temp file beside it, renamed over it once complete.
    file->temp = TempName();
    fd =
        openat(dir, file->temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0) {
    file->temp.clear();
    return PosixError(errno, "create", file->path);
  }
  file->fd = UniqueFd(fd);
  // Holes, and a hole at the end, come from the size; chunks fill the rest.
  uint64_t data_end = 0;
  for (const v1::ChunkRef& c : file->entry.chunks()) data_end = c.offset() + c.size();
  if (data_end != file->entry.size() &&
      ftruncate(fd, static_cast<off_t>(file->entry.size())) != 0) {
    absl::Status status = PosixError(errno, "truncate", file->path);
    // What this restore just created goes again.
    file->fd.reset();
    unlinkat(dir, (file->temp.empty() ? file->name : file->temp).c_str(), 0);
    return status;
  }
  return absl::OkStatus();
}

void FileWindow::Fail(File* file, const absl::Status& status) {
  if (file->failed.exchange(true)) return;  // reported once
  log_->Failed(file->path, status);
}

void FileWindow::Discard(File* file) {
  absl::MutexLock lock(&file->open_mu);
  if (!file->opened || !file->fd.valid()) return;
  file->fd.reset();
  const std::string& name = file->temp.empty() ? file->name : file->temp;
  unlinkat(file->dir->get(), name.c_str(), 0);
}

void FileWindow::Finish(File* file) {
  file->finished = true;
  if (file->failed) return;
  const v1::TreeEntry& e = file->entry;
  // Only what creation did not already get right: times always; owner when
  // it is not ours; mode when set-id or sticky bits, the umask or a temp file
  // got in the way. Failures are reported, and the file is still put in place.
  bool owner = geteuid() == 0 && (e.uid() != geteuid() || e.gid() != getegid());
  bool mode = (e.mode() & 07000) != 0 || (e.mode() & 0777 & umask_) != 0 || !file->temp.empty();
  absl::Status metadata = ApplyMetadata(file->fd.get(), e, settings_.allow_special, file->path,
                                        MetadataParts{.owner = owner, .mode = mode});
  if (!metadata.ok()) log_->Failed(file->path, metadata);
  if (!file->temp.empty()) {
    absl::Status moved =
        MoveIntoPlace(file->dir->get(), file->temp, file->name, file->path, settings_.overwrite);
    if (!moved.ok()) {
      Fail(file, moved);
      return;
    }
    file->temp.clear();
  }
  absl::Status closed = file->fd.Close(file->path);
  if (!closed.ok()) log_->Failed(file->path, closed);
  ++log_->files;
}

void FileWindow::Deliver(const std::string& id, const absl::Status& status,
                         absl::string_view plain) {
  auto it = targets_.find(id);
  if (it == targets_.end()) return;  // the fetcher checks ids; nothing to do
  for (const Target& t : it->second) {
    File* file = t.file;
    if (!file->failed) {
      absl::Status written = status;
      // A bundle's slice lies inside it (compared without adding, so a
      // hostile tree cannot wrap around); a plain chunk is the extent.
      const uint64_t expected = t.bundle_size > 0 ? t.bundle_size : t.size;
      if (written.ok() && (plain.size() != expected || t.bundle_offset > expected ||
                           t.size > expected - t.bundle_offset)) {
        written = absl::DataLossError(
            absl::StrCat("chunk ", HexOf(id), " has ", plain.size(), " bytes, the file expects ",
                         t.size, t.bundle_size > 0 ? " in a bundle of " : "",
                         t.bundle_size > 0 ? absl::StrCat(expected) : ""));
      }
      absl::string_view bytes;
      if (written.ok()) bytes = plain.substr(t.bundle_size > 0 ? t.bundle_offset : 0, t.size);
      if (written.ok()) written = Open(file);
      if (written.ok()) written = WriteAt(file->fd.get(), bytes, t.offset, file->path);
      if (written.ok()) {
        log_->bytes += bytes.size();
      } else {
        Fail(file, written);
      }
    }
    if (--file->remaining == 0) Finish(file);
  }
}

void FileWindow::Close(const absl::Status& why) {
  for (const std::unique_ptr<File>& file : files_) {
    if (file->finished && !file->failed) continue;
    if (!file->finished) {
      Fail(file.get(),
           why.ok() ? absl::DataLossError("the server did not send all its chunks") : why);
    }
    Discard(file.get());
  }
  files_.clear();
  targets_.clear();
  order_.clear();
  refs_ = 0;
}

}  // namespace cairn

#include "agent/restore_files.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/restore_target.h"
#include "common/ids.h"
#include "common/posix_error.h"

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

absl::Status FileWindow::Add(std::shared_ptr<const UniqueFd> dir, const std::string& name,
                             const std::string& path, v1::TreeEntry entry) {
  auto file = std::make_unique<File>();
  file->temp = TempName();
  int fd = openat(dir->get(), file->temp.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return PosixError(errno, "create", path);
  file->fd = UniqueFd(fd);
  file->dir = std::move(dir);
  file->name = name;
  file->path = path;
  // Holes, and a hole at the end, come from the size; chunks fill the rest.
  uint64_t data_end = 0;
  for (const v1::ChunkRef& c : entry.chunks()) data_end = c.offset() + c.size();
  if (data_end != entry.size() && ftruncate(fd, static_cast<off_t>(entry.size())) != 0) {
    absl::Status status = PosixError(errno, "truncate", path);
    unlinkat(file->dir->get(), file->temp.c_str(), 0);
    return status;
  }
  file->remaining = entry.chunks_size();
  file->entry = std::move(entry);
  File* f = file.get();
  files_.push_back(std::move(file));
  for (const v1::ChunkRef& c : f->entry.chunks()) {
    auto [it, inserted] = targets_.try_emplace(c.id());
    if (inserted) order_.push_back(c.id());
    it->second.push_back(Target{f, c.offset(), c.size()});
    ++refs_;
  }
  if (f->remaining == 0) Finish(f);
  return absl::OkStatus();
}

void FileWindow::Fail(File* file, const absl::Status& status) {
  if (file->failed.exchange(true)) return;  // reported once
  log_->Failed(file->path, status);
}

void FileWindow::Finish(File* file) {
  file->finished = true;
  if (file->failed) return;
  // Metadata failures are reported, and the file is still put in place.
  absl::Status metadata =
      ApplyMetadata(file->fd.get(), file->entry, settings_.allow_special, file->path);
  if (!metadata.ok()) log_->Failed(file->path, metadata);
  absl::Status moved = MoveIntoPlace(file->dir->get(), file->temp, file->name, file->path,
                                     settings_.overwrite);
  if (!moved.ok()) {
    Fail(file, moved);
    return;
  }
  file->fd.reset();
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
      if (written.ok() && plain.size() != t.size) {
        written = absl::DataLossError(absl::StrCat("chunk ", HexOf(id), " has ", plain.size(),
                                                   " bytes, the file expects ", t.size));
      }
      if (written.ok()) written = WriteAt(file->fd.get(), plain, t.offset, file->path);
      if (written.ok()) {
        log_->bytes += plain.size();
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
      Fail(file.get(), why.ok() ? absl::DataLossError("the server did not send all its chunks")
                                : why);
    }
    unlinkat(file->dir->get(), file->temp.c_str(), 0);
  }
  files_.clear();
  targets_.clear();
  order_.clear();
  refs_ = 0;
}

}  // namespace cairn

#include "agent/spool_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<SpoolFile>> SpoolFile::Create(const std::string& dir) {
  RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  ASSIGN_OR_RETURN(UniqueFd dir_fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  return CreateAt(dir_fd.get(), dir);
}

absl::StatusOr<std::unique_ptr<SpoolFile>> SpoolFile::CreateAt(int dir_fd,
                                                               const std::string& shown) {
  int fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    // File systems without O_TMPFILE: a named file, unlinked at once.
    for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
      std::string name = absl::StrCat(".cairn-spool-", getpid(), "-", attempt);
      fd = openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd >= 0) unlinkat(dir_fd, name.c_str(), 0);
    }
    if (fd < 0) return PosixError(errno, "create a spool file in", shown);
  }
  return std::unique_ptr<SpoolFile>(new SpoolFile(UniqueFd(fd), shown));
}

absl::StatusOr<size_t> SpoolFile::Append(absl::string_view record) {
  if (record.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError("a spool record is at most 4 GiB");
  }
  // pwrite at our own end: a failed write leaves nothing half-counted.
  uint64_t offset = end_;
  absl::string_view rest = record;
  while (!rest.empty()) {
    ssize_t n = pwrite(fd_.get(), rest.data(), rest.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "write spool in", shown_);
    }
    rest.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  records_.push_back(Record{end_, static_cast<uint32_t>(record.size())});
  end_ = offset;
  return records_.size() - 1;
}

absl::StatusOr<std::string> SpoolFile::Read(size_t index) const {
  if (index >= records_.size()) return absl::OutOfRangeError("no such spool record");
  std::string out;
  RETURN_IF_ERROR(
      PreadFully(fd_.get(), records_[index].offset, records_[index].length, &out, shown_));
  return out;
}

}  // namespace cairn

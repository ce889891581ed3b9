#include "server/tiers/direct_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {

void DirectWriter::FreeAligned::operator()(char* p) const { std::free(p); }

absl::StatusOr<DirectWriter> DirectWriter::Open(const std::string& path, int extra_flags,
                                                mode_t mode, bool direct) {
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | extra_flags;
  if (direct) {
    absl::StatusOr<UniqueFd> fd = OpenFile(path, flags | O_DIRECT, mode);
    if (fd.ok()) return DirectWriter(path, *std::move(fd), /*direct=*/true);
    // EINVAL: this file system does not do O_DIRECT. Anything else is an
    // answer about the path, which a buffered open would give again.
    if (!absl::IsInvalidArgument(fd.status())) return fd.status();
  }
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, flags, mode));
  return DirectWriter(path, std::move(fd), /*direct=*/false);
}

DirectWriter::DirectWriter(std::string path, UniqueFd fd, bool direct)
    : path_(std::move(path)), fd_(std::move(fd)), direct_(direct) {
  if (!direct_) return;
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, kBufferBytes) != 0) p = nullptr;
  buffer_.reset(static_cast<char*>(p));
  // Without a buffer (no memory) the writer writes through the page cache.
  if (buffer_ == nullptr) direct_ = false;
}

absl::Status DirectWriter::Append(absl::string_view data) {
  if (finished_) {
    return absl::FailedPreconditionError(absl::StrCat("write ", path_, ": already finished"));
  }
  if (!direct_) {
    RETURN_IF_ERROR(WriteFully(fd_.get(), data, path_));
    size_ += data.size();
    return absl::OkStatus();
  }
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kBufferBytes - used_);
    std::memcpy(buffer_.get() + used_, data.data(), n);
    used_ += n;
    size_ += n;
    data.remove_prefix(n);
    if (used_ == kBufferBytes) {
      RETURN_IF_ERROR(WriteBlock(used_));
      used_ = 0;
    }
    if (!direct_ && !data.empty()) {  // fell back: the rest goes straight out
      RETURN_IF_ERROR(WriteFully(fd_.get(), data, path_));
      size_ += data.size();
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status DirectWriter::WriteBlock(size_t length) {
  if (direct_) {
    const ssize_t n = ::pwrite(fd_.get(), buffer_.get(), length, static_cast<off_t>(written_));
    if (n == static_cast<ssize_t>(length)) {
      written_ += length;
      return absl::OkStatus();
    }
    if (n >= 0) {
      // A short direct write (a full disk): nothing more fits.
      return PosixError(ENOSPC, "write", path_);
    }
    if (errno != EINVAL) return PosixError(errno, "write", path_);
    // Refused (alignment this file system does not take): go buffered.
    const int flags = ::fcntl(fd_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
      return PosixError(errno, "fcntl(O_DIRECT off)", path_);
    }
    direct_ = false;
  }
  // Buffered: write at the end of what is in the file.
  if (::lseek(fd_.get(), static_cast<off_t>(written_), SEEK_SET) < 0) {
    return PosixError(errno, "lseek", path_);
  }
  RETURN_IF_ERROR(WriteFully(fd_.get(), absl::string_view(buffer_.get(), length), path_));
  written_ += length;
  return absl::OkStatus();
}

absl::Status DirectWriter::Finish() {
  if (finished_) return absl::OkStatus();
  if (used_ > 0) {
    if (direct_) {
      // The last block goes out whole, zero-padded (through the page cache
      // too, should WriteBlock fall back); the file is then cut to its size.
      const size_t padded = (used_ + kAlignment - 1) / kAlignment * kAlignment;
      std::memset(buffer_.get() + used_, 0, padded - used_);
      const uint64_t before = written_;
      RETURN_IF_ERROR(WriteBlock(padded));
      written_ = before + used_;
      if (::ftruncate(fd_.get(), static_cast<off_t>(written_)) != 0) {
        return PosixError(errno, "ftruncate", path_);
      }
    } else {
      RETURN_IF_ERROR(WriteBlock(used_));
    }
    used_ = 0;
  }
  finished_ = true;
  return absl::OkStatus();
}

}  // namespace cairn

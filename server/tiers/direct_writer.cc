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
namespace {

// Sets or clears O_DIRECT on `fd`; false (errno set) when refused.
bool SetDirect(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  return ::fcntl(fd, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT)) == 0;
}

}  // namespace

void DirectWriter::FreeAligned::operator()(char* p) const { std::free(p); }

absl::StatusOr<DirectWriter> DirectWriter::Open(const std::string& path, int extra_flags,
                                                mode_t mode, bool direct) {
  // Opened without O_DIRECT, which is then asked for: an open with O_DIRECT
  // on a file system that refuses it would create the file and then fail,
  // and a retry with O_EXCL would find its own file in the way.
  ASSIGN_OR_RETURN(UniqueFd fd,
                   OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | extra_flags, mode));
  return DirectWriter(path, std::move(fd), direct);
}

DirectWriter::DirectWriter(std::string path, UniqueFd fd, bool direct)
    : path_(std::move(path)), fd_(std::move(fd)), direct_(false) {
  if (!direct) return;
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, kBufferBytes) != 0) return;  // no memory: buffered
  buffer_.reset(static_cast<char*>(p));
  // EINVAL: this file system does not do O_DIRECT; it is written buffered.
  direct_ = SetDirect(fd_.get(), true);
}

absl::Status DirectWriter::WriteAt(const char* data, size_t length) {
  while (length > 0) {
    const ssize_t n = ::pwrite(fd_.get(), data, length, static_cast<off_t>(written_));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && direct_) {
        // Refused (an alignment this file system does not take): go buffered.
        if (!SetDirect(fd_.get(), false)) return PosixError(errno, "fcntl(O_DIRECT off)", path_);
        direct_ = false;
        continue;
      }
      return PosixError(errno, "write", path_);
    }
    if (n == 0) return PosixError(ENOSPC, "write", path_);
    data += n;
    length -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
    // A short direct write leaves an unaligned rest: finish it buffered.
    if (direct_ && length > 0 && (written_ % kAlignment != 0)) {
      if (!SetDirect(fd_.get(), false)) return PosixError(errno, "fcntl(O_DIRECT off)", path_);
      direct_ = false;
    }
  }
  return absl::OkStatus();
}

absl::Status DirectWriter::Append(absl::string_view data) {
  if (finished_) {
    return absl::FailedPreconditionError(absl::StrCat("write ", path_, ": already finished"));
  }
  size_ += data.size();
  while (!data.empty()) {
    if (!direct_ && used_ == 0) return WriteAt(data.data(), data.size());
    const size_t n = std::min(data.size(), kBufferBytes - used_);
    std::memcpy(buffer_.get() + used_, data.data(), n);
    used_ += n;
    data.remove_prefix(n);
    if (used_ == kBufferBytes) {
      RETURN_IF_ERROR(WriteAt(buffer_.get(), used_));
      used_ = 0;
    }
  }
  return absl::OkStatus();
}

absl::Status DirectWriter::Finish() {
  if (finished_) return absl::OkStatus();
  if (used_ > 0) {
    if (direct_) {
      // The last block goes out whole, zero-padded; the file is then cut
      // back to the bytes appended.
      const size_t padded = (used_ + kAlignment - 1) / kAlignment * kAlignment;
      std::memset(buffer_.get() + used_, 0, padded - used_);
      RETURN_IF_ERROR(WriteAt(buffer_.get(), padded));
      written_ = size_;
      if (::ftruncate(fd_.get(), static_cast<off_t>(written_)) != 0) {
        return PosixError(errno, "ftruncate", path_);
      }
    } else {
      RETURN_IF_ERROR(WriteAt(buffer_.get(), used_));
    }
    used_ = 0;
  }
  finished_ = true;
  return absl::OkStatus();
}

}  // namespace cairn

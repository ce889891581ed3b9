#include "common/byte_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace cairn {

FdRangeSource::FdRangeSource(int fd, uint64_t offset, uint64_t length, std::string path_for_errors)
    : fd_(fd),
      position_(offset),
      // Saturate rather than wrap, so a bogus length cannot make end_ < offset.
      end_(length > std::numeric_limits<uint64_t>::max() - offset
               ? std::numeric_limits<uint64_t>::max()
               : offset + length),
      path_(std::move(path_for_errors)) {}

absl::StatusOr<size_t> FdRangeSource::Read(char* buf, size_t n) {
  n = static_cast<size_t>(std::min<uint64_t>(n, end_ - position_));
  // pread takes a signed off_t.
  if (n > 0 && position_ > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("read ", path_, ": offset ", position_, " is beyond what pread accepts"));
  }
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd_, buf + done, n - done, static_cast<off_t>(position_));
    if (got < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "pread", path_);
    }
    if (got == 0) {
      return absl::AbortedError(absl::StrCat("read ", path_, ": file ends at offset ", position_,
                                             ", before the expected end ", end_,
                                             " (it shrank while being read)"));
    }
    done += static_cast<size_t>(got);
    position_ += static_cast<uint64_t>(got);
  }
  return done;
}

absl::StatusOr<size_t> StringSource::Read(char* buf, size_t n) {
  n = std::min(n, data_.size());
  if (n > 0) std::memcpy(buf, data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

}  // namespace cairn

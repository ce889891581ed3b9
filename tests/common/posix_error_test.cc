// PosixError: every errno becomes one status code the same way everywhere
// (missing, exists, denied, full, invalid, try again, other), and the message
// names the operation, the path and the system's description.
#include "common/posix_error.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(PosixErrorTest, EachErrnoMapsToItsCode) {
  const std::vector<std::pair<int, absl::StatusCode>> cases = {
      {ENOENT, absl::StatusCode::kNotFound},
      {ENOTDIR, absl::StatusCode::kNotFound},
      {EEXIST, absl::StatusCode::kAlreadyExists},
      {EACCES, absl::StatusCode::kPermissionDenied},
      {EPERM, absl::StatusCode::kPermissionDenied},
      {EROFS, absl::StatusCode::kPermissionDenied},
      {ENOSPC, absl::StatusCode::kResourceExhausted},
      {EDQUOT, absl::StatusCode::kResourceExhausted},
      {EMFILE, absl::StatusCode::kResourceExhausted},
      {ENFILE, absl::StatusCode::kResourceExhausted},
      {ENOMEM, absl::StatusCode::kResourceExhausted},
      {EINVAL, absl::StatusCode::kInvalidArgument},
      {ENAMETOOLONG, absl::StatusCode::kInvalidArgument},
      {ELOOP, absl::StatusCode::kInvalidArgument},
      {EINTR, absl::StatusCode::kUnavailable},
      {EAGAIN, absl::StatusCode::kUnavailable},
      {EIO, absl::StatusCode::kInternal},
      {EBADF, absl::StatusCode::kInternal},
      {EXDEV, absl::StatusCode::kInternal},
  };
  for (const auto& [err, code] : cases) {
    EXPECT_EQ(PosixError(err, "op", "/p").code(), code) << std::strerror(err);
  }
}

TEST(PosixErrorTest, TheMessageNamesTheOperationThePathAndTheError) {
  absl::Status status = PosixError(ENOSPC, "write", "/var/cairn/packs/pack-1~");
  EXPECT_EQ(status.message(),
            absl::StrCat("write /var/cairn/packs/pack-1~: ", std::strerror(ENOSPC)));
  // Odd paths go in as they are; an empty one still leaves the shape.
  EXPECT_EQ(PosixError(EIO, "read", "").message(), absl::StrCat("read : ", std::strerror(EIO)));
  EXPECT_EQ(PosixError(EEXIST, "link", "a b").message(),
            absl::StrCat("link a b: ", std::strerror(EEXIST)));
  // An unknown errno is Internal with the system's text for it.
  absl::Status odd = PosixError(9999, "ioctl", "/dev/x");
  EXPECT_EQ(odd.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(odd.message(), absl::StrCat("ioctl /dev/x: ", std::strerror(9999)));
}

}  // namespace
}  // namespace cairn

// Turns errno into an absl::Status in exactly one place, so every file error
// names the operation and the path and maps ENOSPC, ENOENT, EACCES the same way.
//
//   if (fd < 0) return PosixError(errno, "open", path);
#ifndef CAIRN_COMMON_POSIX_ERROR_H_
#define CAIRN_COMMON_POSIX_ERROR_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace cairn {

absl::Status PosixError(int err, absl::string_view op, absl::string_view path);

}  // namespace cairn

#endif  // CAIRN_COMMON_POSIX_ERROR_H_

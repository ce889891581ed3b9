// The files a job could not back up or restore: every one is counted, the
// first kMaxFileErrors are kept with their path and error for the job record.
#ifndef CAIRN_AGENT_FILE_ERROR_LOG_H_
#define CAIRN_AGENT_FILE_ERROR_LOG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cairn/v1/types.pb.h"
#include "common/limits.h"
#include "common/path_text.h"

namespace cairn {

class FileErrorLog final {
 public:
  void Add(const std::string& path, const absl::Status& status) {
    ++count_;
    if (kept_.size() < kMaxFileErrors) {
      v1::FileError& e = kept_.emplace_back();
      e.set_path(path);
      // Messages quote paths, which need not be UTF-8; a proto string must be.
      e.set_error(PathToText(status.message()));
    }
  }
  uint64_t count() const { return count_; }
  const std::vector<v1::FileError>& kept() const { return kept_; }
  std::vector<v1::FileError> TakeKept() { return std::move(kept_); }

 private:
  uint64_t count_ = 0;
  std::vector<v1::FileError> kept_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_FILE_ERROR_LOG_H_

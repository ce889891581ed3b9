// An unlinked temp file that holds records a job produces faster than it
// can use them (directory trees waiting for their chunks to be durable,
// directory metadata a restore applies at the end), so memory holds only an
// offset per record. The file has no name: nothing is left behind, whatever
// happens to the process.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<SpoolFile> spool, SpoolFile::Create(dir));
//   ASSIGN_OR_RETURN(size_t i, spool->Append(bytes));
//   ASSIGN_OR_RETURN(std::string back, spool->Read(i));
#ifndef CAIRN_AGENT_SPOOL_FILE_H_
#define CAIRN_AGENT_SPOOL_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/file_util.h"

namespace cairn {

class SpoolFile final {
 public:
  // In directory `dir` (created if missing), or in the directory open as
  // `dir_fd` (the second form never names a path, for restores).
  static absl::StatusOr<std::unique_ptr<SpoolFile>> Create(const std::string& dir);
  static absl::StatusOr<std::unique_ptr<SpoolFile>> CreateAt(int dir_fd, const std::string& shown);

  // Appends a record; its index (0, 1, ...).
  absl::StatusOr<size_t> Append(absl::string_view record);
  absl::StatusOr<std::string> Read(size_t index) const;
  size_t size() const { return records_.size(); }

 private:
  struct Record {
    uint64_t offset;
    uint32_t length;
  };
  SpoolFile(UniqueFd fd, std::string shown) : fd_(std::move(fd)), shown_(std::move(shown)) {}

  UniqueFd fd_;
  std::string shown_;  // for error messages
  uint64_t end_ = 0;
  std::vector<Record> records_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_SPOOL_FILE_H_

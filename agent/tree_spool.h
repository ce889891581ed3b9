// Holds the directory trees a backup produces until its chunks are durable:
// trees are appended to a temp file in the agent's state directory (so memory
// does not grow with the number of directories' entries) and sent afterwards,
// children before parents, skipping those the server already has.
#ifndef CAIRN_AGENT_TREE_SPOOL_H_
#define CAIRN_AGENT_TREE_SPOOL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/server_connection.h"
#include "common/file_util.h"
#include "common/tree_id.h"

namespace cairn {

class TreeSpool final {
 public:
  // Creates an unlinked temp file in `dir`.
  static absl::StatusOr<std::unique_ptr<TreeSpool>> Create(const std::string& dir);

  // Appends a serialized tree; returns its id (SHA-256 of the bytes).
  absl::StatusOr<std::string> Add(const std::string& tree);
  // Sends every spooled tree the server lacks, in the order added.
  absl::Status Send(ServerConnection* connection, const std::string& job_id);
  size_t trees() const { return records_.size(); }

 private:
  struct Record {
    std::string id;
    uint64_t offset;
    uint32_t length;
  };
  TreeSpool(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;
  std::string path_;
  uint64_t size_ = 0;
  std::vector<Record> records_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_TREE_SPOOL_H_

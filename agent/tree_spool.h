// Holds the directory trees a backup produces until its chunks are durable:
// trees go to a SpoolFile in the agent's state directory (so memory does not
// grow with the number of directories' entries) and are sent afterwards,
// children before parents, skipping those the server already has.
#ifndef CAIRN_AGENT_TREE_SPOOL_H_
#define CAIRN_AGENT_TREE_SPOOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/server_connection.h"
#include "agent/spool_file.h"

namespace cairn {

class TreeSpool final {
 public:
  // Creates the spool in `dir`.
  static absl::StatusOr<std::unique_ptr<TreeSpool>> Create(const std::string& dir);

  // Appends a serialized tree; returns its id (SHA-256 of the bytes).
  absl::StatusOr<std::string> Add(const std::string& tree);
  // Sends every spooled tree the server lacks, in the order added.
  absl::Status Send(ServerConnection* connection, const std::string& job_id);
  size_t trees() const { return ids_.size(); }

 private:
  explicit TreeSpool(std::unique_ptr<SpoolFile> file) : file_(std::move(file)) {}

  std::unique_ptr<SpoolFile> file_;
  std::vector<std::string> ids_;  // of record i
};

}  // namespace cairn

#endif  // CAIRN_AGENT_TREE_SPOOL_H_

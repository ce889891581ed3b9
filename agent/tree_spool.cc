#include "agent/tree_spool.h"

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "common/tree_id.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<TreeSpool>> TreeSpool::Create(const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<SpoolFile> file, SpoolFile::Create(dir));
  return std::unique_ptr<TreeSpool>(new TreeSpool(std::move(file)));
}

absl::StatusOr<std::string> TreeSpool::Add(const std::string& tree) {
  if (tree.size() > kMaxTreeBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a directory tree node is ", tree.size(), " bytes serialized; the limit is ",
                     kMaxTreeBytes, " (one entry this large: a file of too many chunks)"));
  }
  RETURN_IF_ERROR(file_->Append(tree).status());
  ids_.push_back(TreeId(tree));
  return ids_.back();
}

absl::Status TreeSpool::Send(ServerConnection* connection, const std::string& job_id) {
  for (size_t start = 0; start < ids_.size();) {
    size_t end = std::min(ids_.size(), start + kMaxIdsPerCall);
    v1::FindMissingTreesRequest find;
    find.set_job_id(job_id);
    for (size_t i = start; i < end; ++i) find.add_ids(ids_[i]);
    ASSIGN_OR_RETURN(v1::FindMissingTreesResponse missing,
                     connection->Call(&v1::AgentService::Stub::FindMissingTrees, find));
    v1::PutTreesRequest put;
    put.set_job_id(job_id);
    size_t put_bytes = 0;
    auto flush = [&]() -> absl::Status {
      if (put.trees_size() == 0) return absl::OkStatus();
      RETURN_IF_ERROR(connection->Call(&v1::AgentService::Stub::PutTrees, put).status());
      put.clear_trees();
      put_bytes = 0;
      return absl::OkStatus();
    };
    for (uint32_t index : missing.missing()) {
      if (index >= end - start) return absl::InternalError("server sent a bad tree index");
      ASSIGN_OR_RETURN(std::string data, file_->Read(start + index));
      if (static_cast<size_t>(put.trees_size()) >= kMaxTreesPerCall ||
          put_bytes + data.size() > kMaxTreesBytesPerCall) {
        RETURN_IF_ERROR(flush());
      }
      put_bytes += data.size();
      *put.add_trees() = std::move(data);
    }
    RETURN_IF_ERROR(flush());
    start = end;
  }
  return absl::OkStatus();
}

}  // namespace cairn

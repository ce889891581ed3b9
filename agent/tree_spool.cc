#include "agent/tree_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<TreeSpool>> TreeSpool::Create(const std::string& dir) {
  RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    // Filesystems without O_TMPFILE: a named file, unlinked at once.
    std::string templ = dir + "/trees-XXXXXX";
    fd = mkostemp(templ.data(), O_CLOEXEC);
    if (fd < 0) return PosixError(errno, "create tree spool in", dir);
    unlink(templ.c_str());
  }
  return std::unique_ptr<TreeSpool>(new TreeSpool(UniqueFd(fd), dir));
}

absl::StatusOr<std::string> TreeSpool::Add(const std::string& tree) {
  if (tree.size() > kMaxTreeBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a directory's listing is ", tree.size(), " bytes serialized; the limit is ",
        kMaxTreeBytes, " (split very large directories)"));
  }
  RETURN_IF_ERROR(WriteFully(fd_.get(), tree, path_));
  std::string id = TreeId(tree);
  records_.push_back(Record{id, size_, static_cast<uint32_t>(tree.size())});
  size_ += tree.size();
  return id;
}

absl::Status TreeSpool::Send(ServerConnection* connection, const std::string& job_id) {
  for (size_t start = 0; start < records_.size();) {
    size_t end = std::min(records_.size(), start + kMaxIdsPerCall);
    v1::FindMissingTreesRequest find;
    find.set_job_id(job_id);
    for (size_t i = start; i < end; ++i) find.add_ids(records_[i].id);
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
      const Record& r = records_[start + index];
      if (static_cast<size_t>(put.trees_size()) >= kMaxTreesPerCall ||
          put_bytes + r.length > kMaxTreesBytesPerCall) {
        RETURN_IF_ERROR(flush());
      }
      std::string data;
      RETURN_IF_ERROR(PreadFully(fd_.get(), r.offset, r.length, &data, path_));
      put_bytes += data.size();
      *put.add_trees() = std::move(data);
    }
    RETURN_IF_ERROR(flush());
    start = end;
  }
  return absl::OkStatus();
}

}  // namespace cairn

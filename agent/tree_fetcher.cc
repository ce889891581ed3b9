#include "agent/tree_fetcher.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "common/tree_id.h"
#include "common/tree_pages.h"

namespace cairn {

absl::StatusOr<v1::Tree> TreeFetcher::Parse(const std::string& id, const std::string& bytes) {
  v1::Tree tree;
  if (!tree.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("tree ", HexOf(id), " does not parse"));
  }
  Expect(tree);
  return tree;
}

void TreeFetcher::Expect(const v1::Tree& tree) {
  // Its pages (a large directory's index) or its subdirectories, in order.
  std::vector<std::string> children = ChildTreeIds(tree);
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    ++expected_[*it];
    upcoming_.push_front(std::move(*it));
  }
}

absl::StatusOr<v1::Tree> TreeFetcher::Root() {
  v1::GetTreeRequest request;
  request.set_snapshot_id(snapshot_id_);
  ++calls_;
  ASSIGN_OR_RETURN(v1::GetTreeResponse response,
                   connection_->Call(&v1::AgentService::Stub::GetTree, request));
  const v1::Snapshot& s = response.snapshot();
  if (s.id() != snapshot_id_ || s.roots_size() != 1) {
    return absl::DataLossError(
        absl::StrCat("the server did not describe snapshot ", snapshot_id_, " with its root tree"));
  }
  RETURN_IF_ERROR(crypto_->manifest.Verify(
      SnapshotManifest{crypto_->tenant, s.agent(), s.roots(0), s.root_tree_id(), s.id()},
      s.manifest_mac()));
  if (TreeId(response.tree()) != s.root_tree_id()) {
    return absl::DataLossError(
        absl::StrCat("the root tree of snapshot ", snapshot_id_, " does not match its signed id"));
  }
  return Parse(s.root_tree_id(), response.tree());
}

absl::StatusOr<v1::Tree> TreeFetcher::Load(const std::string& id) {
  auto hit = cache_.find(id);
  if (hit == cache_.end()) {
    // This tree and the next ones the walk will want, as far as the budget goes.
    v1::GetTreesRequest request;
    request.set_snapshot_id(snapshot_id_);
    request.add_ids(id);
    absl::flat_hash_set<std::string> asked{id};
    for (const std::string& next : upcoming_) {
      if (static_cast<size_t>(request.ids_size()) >= kMaxTreesPerCall ||
          cached_bytes_ >= kMaxCachedBytes / 2) {
        break;
      }
      if (next.size() == kChunkIdBytes && !cache_.contains(next) && asked.insert(next).second) {
        request.add_ids(next);
      }
    }
    ++calls_;
    ASSIGN_OR_RETURN(v1::GetTreesResponse response,
                     connection_->Call(&v1::AgentService::Stub::GetTrees, request));
    if (response.trees_size() == 0 || response.trees_size() > request.ids_size()) {
      return absl::DataLossError("the server answered GetTrees with a wrong number of trees");
    }
    for (int i = 0; i < response.trees_size(); ++i) {
      const std::string& want = request.ids(i);
      std::string* bytes = response.mutable_trees(i);
      if (TreeId(*bytes) != want) {
        // Only the tree asked for fails now; a bad one read ahead fails
        // when (and if) the walk gets to it.
        if (want == id) {
          return absl::DataLossError(absl::StrCat("tree ", HexOf(want), " does not match its id"));
        }
        continue;
      }
      if (cached_bytes_ + bytes->size() > kMaxCachedBytes && want != id) continue;
      cached_bytes_ += bytes->size();
      cache_[want] = std::move(*bytes);
    }
    hit = cache_.find(id);
    if (hit == cache_.end()) return absl::InternalError("tree fetch lost its first tree");
  }
  std::string bytes;
  auto expected = expected_.find(id);
  if (expected != expected_.end() && --expected->second > 0) {
    bytes = hit->second;  // wanted again later
  } else {
    if (expected != expected_.end()) expected_.erase(expected);
    bytes = std::move(hit->second);
    cached_bytes_ -= bytes.size();
    cache_.erase(hit);
  }
  // Forget `id` in the queue of upcoming trees (it is usually at the front).
  for (auto it = upcoming_.begin(); it != upcoming_.end(); ++it) {
    if (*it == id) {
      upcoming_.erase(it);
      break;
    }
  }
  return Parse(id, bytes);
}

}  // namespace cairn

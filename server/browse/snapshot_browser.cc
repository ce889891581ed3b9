#include "server/browse/snapshot_browser.h"

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

uint32_t PageLimit(uint32_t requested) {
  if (requested == 0) return 1000;
  return std::min(requested, kMaxFilesPage);
}

// The order of a depth-first walk over sorted names: paths compare component
// by component, so '/' sorts before every byte a name may hold ("a/z" comes
// before "a.b", since "a" < "a.b"). Plain byte order would put "a.b" first.
bool WalkOrderLess(absl::string_view a, absl::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

// An entry as listed: chunk lists are not for browsing.
v1::TreeEntry Listed(const v1::TreeEntry& entry) {
  v1::TreeEntry copy = entry;
  copy.clear_chunks();
  return copy;
}

}  // namespace

absl::StatusOr<v1::Tree> SnapshotBrowser::LoadTree(int64_t tenant, absl::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> data, catalog_->trees().Get(tenant, id));
  if (!data.has_value()) {
    return absl::DataLossError(absl::StrCat("catalog: tree ", HexOf(id), " is missing"));
  }
  v1::Tree tree;
  if (!tree.ParseFromString(*data)) {
    return absl::DataLossError(absl::StrCat("catalog: tree ", HexOf(id), " does not parse"));
  }
  return tree;
}

absl::StatusOr<v1::ListFilesResponse> SnapshotBrowser::ListFiles(
    const v1::ListFilesRequest& request) {
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot,
                   catalog_->snapshots().Get(request.snapshot_id()));
  if (!snapshot.has_value()) {
    return absl::NotFoundError(absl::StrCat("no snapshot ", request.snapshot_id()));
  }
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(snapshot->tenant()));
  const uint32_t limit = PageLimit(request.limit());

  // Descend to the prefix.
  std::string tree_id = snapshot->root_tree_id();
  std::string base;
  v1::ListFilesResponse response;
  if (!request.prefix().empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitRelativePath(request.prefix()));
    for (size_t i = 0; i < parts.size(); ++i) {
      ASSIGN_OR_RETURN(v1::Tree tree, LoadTree(tenant, tree_id));
      const v1::TreeEntry* found = nullptr;
      for (const v1::TreeEntry& e : tree.entries()) {
        if (e.name() == parts[i]) found = &e;
      }
      if (found == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("no ", request.prefix(), " in snapshot ", request.snapshot_id()));
      }
      base = JoinPath(base, parts[i]);
      if (found->type() != v1::ENTRY_TYPE_DIRECTORY) {
        if (i + 1 != parts.size()) {
          return absl::NotFoundError(absl::StrCat(base, " is not a directory"));
        }
        v1::FileInfo* info = response.add_files();
        info->set_path(base);
        *info->mutable_entry() = Listed(*found);
        return response;
      }
      tree_id = found->subtree_id();
    }
  }

  // Entries below, depth first in name order; the page token is the last
  // path already returned.
  const std::string& after = request.page_token();
  bool full = false;
  std::function<absl::Status(const std::string&, const std::string&)> walk =
      [&](const std::string& dir, const std::string& id) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Tree tree, LoadTree(tenant, id));
    for (const v1::TreeEntry& e : tree.entries()) {
      if (full) return absl::OkStatus();
      std::string path = JoinPath(dir, e.name());
      bool is_dir = e.type() == v1::ENTRY_TYPE_DIRECTORY;
      // Skip what an earlier page returned. A returned directory is still
      // entered when `after` is the directory itself or lies inside it, since
      // the rest of its entries come later.
      bool returned = !after.empty() && !WalkOrderLess(after, path);
      bool contains_after = is_dir && !after.empty() && after.size() >= path.size() &&
                            after.compare(0, path.size(), path) == 0 &&
                            (after.size() == path.size() || after[path.size()] == '/');
      if (!returned) {
        if (static_cast<uint32_t>(response.files_size()) >= limit) {
          full = true;
          response.set_next_page_token(response.files(response.files_size() - 1).path());
          return absl::OkStatus();
        }
        v1::FileInfo* info = response.add_files();
        info->set_path(path);
        *info->mutable_entry() = Listed(e);
      }
      if (is_dir && request.recursive() && (!returned || contains_after)) {
        RETURN_IF_ERROR(walk(path, e.subtree_id()));
      }
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(walk(base, tree_id));
  return response;
}

absl::StatusOr<v1::DiffSnapshotsResponse> SnapshotBrowser::Diff(
    const v1::DiffSnapshotsRequest& request) {
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> from,
                   catalog_->snapshots().Get(request.from_snapshot_id()));
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> to,
                   catalog_->snapshots().Get(request.to_snapshot_id()));
  if (!from.has_value() || !to.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "no snapshot ", !from.has_value() ? request.from_snapshot_id() : request.to_snapshot_id()));
  }
  if (from->tenant() != to->tenant()) {
    return absl::InvalidArgumentError("the two snapshots belong to different tenants");
  }
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(from->tenant()));
  const uint32_t limit = PageLimit(request.limit());
  v1::DiffSnapshotsResponse response;

  auto add = [&](const std::string& path, v1::ChangeKind kind, v1::EntryType type) {
    if (static_cast<uint32_t>(response.changes_size()) >= limit) {
      response.set_truncated(true);
      return;
    }
    v1::Change* change = response.add_changes();
    change->set_path(path);
    change->set_kind(kind);
    change->set_type(type);
  };
  // Adds every path below a directory that exists on one side only.
  std::function<absl::Status(const std::string&, const std::string&, v1::ChangeKind)> whole =
      [&](const std::string& dir, const std::string& id, v1::ChangeKind kind) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Tree tree, LoadTree(tenant, id));
    for (const v1::TreeEntry& e : tree.entries()) {
      if (response.truncated()) return absl::OkStatus();
      std::string path = JoinPath(dir, e.name());
      add(path, kind, e.type());
      if (e.type() == v1::ENTRY_TYPE_DIRECTORY) RETURN_IF_ERROR(whole(path, e.subtree_id(), kind));
    }
    return absl::OkStatus();
  };
  std::function<absl::Status(const std::string&, const std::string&, const std::string&)> walk =
      [&](const std::string& dir, const std::string& a_id,
          const std::string& b_id) -> absl::Status {
    if (a_id == b_id) return absl::OkStatus();
    ASSIGN_OR_RETURN(v1::Tree a, LoadTree(tenant, a_id));
    ASSIGN_OR_RETURN(v1::Tree b, LoadTree(tenant, b_id));
    int i = 0, j = 0;
    while ((i < a.entries_size() || j < b.entries_size()) && !response.truncated()) {
      const v1::TreeEntry* ea = i < a.entries_size() ? &a.entries(i) : nullptr;
      const v1::TreeEntry* eb = j < b.entries_size() ? &b.entries(j) : nullptr;
      if (eb == nullptr || (ea != nullptr && ea->name() < eb->name())) {
        std::string path = JoinPath(dir, ea->name());
        add(path, v1::CHANGE_KIND_REMOVED, ea->type());
        if (ea->type() == v1::ENTRY_TYPE_DIRECTORY) {
          RETURN_IF_ERROR(whole(path, ea->subtree_id(), v1::CHANGE_KIND_REMOVED));
        }
        ++i;
        continue;
      }
      if (ea == nullptr || eb->name() < ea->name()) {
        std::string path = JoinPath(dir, eb->name());
        add(path, v1::CHANGE_KIND_ADDED, eb->type());
        if (eb->type() == v1::ENTRY_TYPE_DIRECTORY) {
          RETURN_IF_ERROR(whole(path, eb->subtree_id(), v1::CHANGE_KIND_ADDED));
        }
        ++j;
        continue;
      }
      std::string path = JoinPath(dir, ea->name());
      if (ea->type() != eb->type()) {
        add(path, v1::CHANGE_KIND_MODIFIED, eb->type());
      } else if (ea->type() == v1::ENTRY_TYPE_DIRECTORY) {
        if (ea->mode() != eb->mode() || ea->uid() != eb->uid() || ea->gid() != eb->gid()) {
          add(path, v1::CHANGE_KIND_METADATA, eb->type());
        }
        RETURN_IF_ERROR(walk(path, ea->subtree_id(), eb->subtree_id()));
      } else {
        bool content_same = ea->size() == eb->size() && ea->link_target() == eb->link_target() &&
                            ea->chunks_size() == eb->chunks_size();
        for (int k = 0; content_same && k < ea->chunks_size(); ++k) {
          content_same = ea->chunks(k).id() == eb->chunks(k).id() &&
                         ea->chunks(k).offset() == eb->chunks(k).offset();
        }
        if (!content_same) {
          add(path, v1::CHANGE_KIND_MODIFIED, eb->type());
        } else if (ea->mode() != eb->mode() || ea->uid() != eb->uid() || ea->gid() != eb->gid() ||
                   ea->mtime_ns() != eb->mtime_ns()) {
          add(path, v1::CHANGE_KIND_METADATA, eb->type());
        }
      }
      ++i;
      ++j;
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(walk("", from->root_tree_id(), to->root_tree_id()));
  return response;
}

}  // namespace cairn

#include "server/browse/snapshot_browser.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/status_macros.h"
#include "common/tree_pages.h"
#include "server/browse/paged_diff.h"

namespace cairn {
namespace {

// Differing leaves a diff of one paged directory holds at most (~2 KiB
// each) before it merges the two directories whole instead.
constexpr size_t kMaxDiffLeaves = 1024;

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

// The name of the component of `path` right below directory `dir`, if
// `path` lies below `dir` ("" is the top).
std::optional<std::string> ComponentBelow(absl::string_view path, absl::string_view dir) {
  if (path.empty()) return std::nullopt;
  if (!dir.empty()) {
    if (path.size() <= dir.size() + 1 || path.substr(0, dir.size()) != dir ||
        path[dir.size()] != '/') {
      return std::nullopt;
    }
    path.remove_prefix(dir.size() + 1);
  }
  return std::string(path.substr(0, path.find('/')));
}

// Directories below a snapshot's root that a walk enters at most: a backup
// never nests deeper (agent/backup_runner.cc), so a deeper chain of trees was
// crafted, and following it would cost the server its stack.
constexpr size_t kMaxWalkDepth = 1024;

absl::Status CheckDepth(absl::string_view dir) {
  if (static_cast<size_t>(std::count(dir.begin(), dir.end(), '/')) >= kMaxWalkDepth) {
    return absl::DataLossError(absl::StrCat("directories nested more than ", kMaxWalkDepth,
                                            " deep in the snapshot; not walked further"));
  }
  return absl::OkStatus();
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

  const TreeIterator::Load load = [&](const std::string& id) { return LoadTree(tenant, id); };

  // Descend to the prefix: in a paged directory, only the pages on the way.
  std::string tree_id = snapshot->root_tree_id();
  std::string base;
  v1::ListFilesResponse response;
  if (!request.prefix().empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitRelativePath(request.prefix()));
    for (size_t i = 0; i < parts.size(); ++i) {
      ASSIGN_OR_RETURN(v1::Tree tree, LoadTree(tenant, tree_id));
      ASSIGN_OR_RETURN(std::optional<v1::TreeEntry> found,
                       FindEntry(std::move(tree), parts[i], load));
      if (!found.has_value()) {
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
  // path already returned. A directory that holds it resumes at its
  // component: the pages before it are not even loaded, so listing a
  // directory of a million entries page by page costs each page's share.
  const std::string& after = request.page_token();
  bool full = false;
  std::function<absl::Status(const std::string&, const std::string&)> walk;
  auto visit = [&](const std::string& dir, const v1::TreeEntry& e) -> absl::Status {
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
    return absl::OkStatus();
  };
  walk = [&](const std::string& dir, const std::string& id) -> absl::Status {
    RETURN_IF_ERROR(CheckDepth(dir));
    ASSIGN_OR_RETURN(v1::Tree tree, LoadTree(tenant, id));
    TreeIterator entries(std::move(tree), load);
    if (std::optional<std::string> resume = ComponentBelow(after, dir); resume.has_value()) {
      ASSIGN_OR_RETURN(const v1::TreeEntry* hit, entries.Find(*resume));
      if (hit != nullptr) RETURN_IF_ERROR(visit(dir, *hit));
    }
    while (!full) {
      ASSIGN_OR_RETURN(const v1::TreeEntry* e, entries.Next());
      if (e == nullptr) break;
      RETURN_IF_ERROR(visit(dir, *e));
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
  const TreeIterator::Load load = [&](const std::string& id) { return LoadTree(tenant, id); };
  // Adds every path below a directory that exists on one side only.
  std::function<absl::Status(const std::string&, const std::string&, v1::ChangeKind)> whole =
      [&](const std::string& dir, const std::string& id, v1::ChangeKind kind) -> absl::Status {
    RETURN_IF_ERROR(CheckDepth(dir));
    ASSIGN_OR_RETURN(v1::Tree tree, LoadTree(tenant, id));
    TreeIterator entries(std::move(tree), load);
    while (!response.truncated()) {
      ASSIGN_OR_RETURN(const v1::TreeEntry* e, entries.Next());
      if (e == nullptr) break;
      std::string path = JoinPath(dir, e->name());
      add(path, kind, e->type());
      if (e->type() == v1::ENTRY_TYPE_DIRECTORY)
        RETURN_IF_ERROR(whole(path, e->subtree_id(), kind));
    }
    return absl::OkStatus();
  };
  std::function<absl::Status(const std::string&, const std::string&, const std::string&)> walk =
      [&](const std::string& dir, const std::string& a_id,
          const std::string& b_id) -> absl::Status {
    if (a_id == b_id) return absl::OkStatus();
    RETURN_IF_ERROR(CheckDepth(dir));
    ASSIGN_OR_RETURN(v1::Tree a, LoadTree(tenant, a_id));
    ASSIGN_OR_RETURN(v1::Tree b, LoadTree(tenant, b_id));
    // A paged directory: only the leaves that hold a difference, unless
    // too many do; then both directories whole, page by page.
    std::optional<DifferingLeaves> leaves;
    if (a.level() > 0 || b.level() > 0) {
      ASSIGN_OR_RETURN(leaves, DifferingLeaves::Of(a, b, load, kMaxDiffLeaves));
    }
    using Source = std::function<absl::StatusOr<const v1::TreeEntry*>()>;
    Source next_a, next_b;
    std::optional<TreeIterator> a_it, b_it;
    size_t ai = 0, bi = 0;
    if (leaves.has_value()) {
      next_a = [&]() -> absl::StatusOr<const v1::TreeEntry*> {
        return ai < leaves->a.size() ? &leaves->a[ai++] : nullptr;
      };
      next_b = [&]() -> absl::StatusOr<const v1::TreeEntry*> {
        return bi < leaves->b.size() ? &leaves->b[bi++] : nullptr;
      };
    } else {
      a_it.emplace(std::move(a), load);
      b_it.emplace(std::move(b), load);
      next_a = [&] { return a_it->Next(); };
      next_b = [&] { return b_it->Next(); };
    }
    ASSIGN_OR_RETURN(const v1::TreeEntry* ea, next_a());
    ASSIGN_OR_RETURN(const v1::TreeEntry* eb, next_b());
    while ((ea != nullptr || eb != nullptr) && !response.truncated()) {
      if (eb == nullptr || (ea != nullptr && ea->name() < eb->name())) {
        std::string path = JoinPath(dir, ea->name());
        add(path, v1::CHANGE_KIND_REMOVED, ea->type());
        if (ea->type() == v1::ENTRY_TYPE_DIRECTORY) {
          RETURN_IF_ERROR(whole(path, ea->subtree_id(), v1::CHANGE_KIND_REMOVED));
        }
        ASSIGN_OR_RETURN(ea, next_a());
        continue;
      }
      if (ea == nullptr || eb->name() < ea->name()) {
        std::string path = JoinPath(dir, eb->name());
        add(path, v1::CHANGE_KIND_ADDED, eb->type());
        if (eb->type() == v1::ENTRY_TYPE_DIRECTORY) {
          RETURN_IF_ERROR(whole(path, eb->subtree_id(), v1::CHANGE_KIND_ADDED));
        }
        ASSIGN_OR_RETURN(eb, next_b());
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
          // A bundle slice is its bundle's id, offset and length.
          content_same = ea->chunks(k).id() == eb->chunks(k).id() &&
                         ea->chunks(k).offset() == eb->chunks(k).offset() &&
                         ea->chunks(k).size() == eb->chunks(k).size() &&
                         ea->chunks(k).bundle_offset() == eb->chunks(k).bundle_offset();
        }
        // A small file the agent moved out of a sparse bundle into a new one
        // (agent/file_bundles.h) names another chunk for the same bytes; it
        // kept the size, mtime, ctime and inode that the backup itself
        // trusts as "unchanged" (a write moves the ctime).
        if (!content_same && ea->chunks_size() == 1 && eb->chunks_size() == 1 &&
            ea->chunks(0).bundle_size() > 0 && eb->chunks(0).bundle_size() > 0) {
          content_same = ea->size() == eb->size() && ea->mtime_ns() == eb->mtime_ns() &&
                         ea->ctime_ns() == eb->ctime_ns() && ea->inode() == eb->inode() &&
                         ea->ctime_ns() != 0;
        }
        if (!content_same) {
          add(path, v1::CHANGE_KIND_MODIFIED, eb->type());
        } else if (ea->mode() != eb->mode() || ea->uid() != eb->uid() || ea->gid() != eb->gid() ||
                   ea->mtime_ns() != eb->mtime_ns()) {
          add(path, v1::CHANGE_KIND_METADATA, eb->type());
        }
      }
      ASSIGN_OR_RETURN(ea, next_a());
      ASSIGN_OR_RETURN(eb, next_b());
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(walk("", from->root_tree_id(), to->root_tree_id()));
  return response;
}

}  // namespace cairn

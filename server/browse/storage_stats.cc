#include "server/browse/storage_stats.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/data_classifier.h"
#include "common/file_kind.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// Snapshots to walk: the one asked for, or the newest of each (agent, roots).
absl::StatusOr<std::vector<v1::Snapshot>> SnapshotsToWalk(Catalog* catalog,
                                                          const v1::StorageStatsRequest& request) {
  std::vector<v1::Snapshot> out;
  if (!request.snapshot_id().empty() && !request.agent().empty()) {
    return absl::InvalidArgumentError("give a snapshot or an agent, not both");
  }
  if (!request.snapshot_id().empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::Snapshot> s,
                     catalog->snapshots().Get(request.snapshot_id()));
    if (!s.has_value())
      return absl::NotFoundError(absl::StrCat("no snapshot ", request.snapshot_id()));
    out.push_back(*std::move(s));
    return out;
  }
  ASSIGN_OR_RETURN(std::vector<v1::Snapshot> all,
                   catalog->snapshots().List(request.agent(), UINT32_MAX));
  absl::flat_hash_set<std::string> seen;  // newest first: keep the first per agent and roots
  for (v1::Snapshot& s : all) {
    // Lengths first: a root's bytes may hold any separator.
    std::string key = absl::StrCat(s.agent().size(), ":", s.agent());
    for (const std::string& root : s.roots()) absl::StrAppend(&key, root.size(), ":", root);
    if (seen.insert(key).second) out.push_back(std::move(s));
  }
  if (out.empty() && !request.agent().empty()) {
    return absl::NotFoundError(absl::StrCat("agent ", request.agent(), " has no snapshot"));
  }
  return out;
}

std::string KindLabel(const v1::TreeEntry& entry) {
  // Values from a newer agent than this server knows read as unknown.
  const auto kind = static_cast<FileKind>(entry.kind() <= 255 ? entry.kind() : 0);
  std::string label(FileKindName(kind));
  if (kind == FileKind::kUnknown && entry.data_class() != 0 && entry.data_class() <= 255) {
    absl::StrAppend(&label, "/", DataClassName(static_cast<DataClass>(entry.data_class())));
  }
  return label;
}

class StatsWalk {
 public:
  StatsWalk(Catalog* catalog, uint32_t plot_points)
      : catalog_(catalog), plot_points_(std::min(plot_points, kMaxPlotPoints)) {}

  absl::Status Walk(const v1::Snapshot& snapshot) {
    ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(snapshot.tenant()));
    std::vector<std::string> pending = {snapshot.root_tree_id()};
    while (!pending.empty()) {
      std::string id = std::move(pending.back());
      pending.pop_back();
      if (!trees_seen_.insert(absl::StrCat(tenant, ":", id)).second) continue;
      ASSIGN_OR_RETURN(std::optional<std::string> data, catalog_->trees().Get(tenant, id));
      v1::Tree tree;
      if (!data.has_value() || !tree.ParseFromString(*data)) {
        return absl::DataLossError(absl::StrCat("catalog: tree ", HexOf(id), " of snapshot ",
                                                snapshot.id(), " is missing or malformed"));
      }
      // One catalog lookup per tree for the chunks its files reach first.
      std::vector<std::string> fresh;
      std::vector<Owner> owners;
      for (const v1::TreePage& page : tree.pages()) pending.push_back(page.tree_id());
      for (const v1::TreeEntry& entry : tree.entries()) {
        if (entry.type() == v1::ENTRY_TYPE_DIRECTORY) {
          pending.push_back(entry.subtree_id());
        } else if (entry.type() == v1::ENTRY_TYPE_FILE) {
          AddFile(tenant, entry, &fresh, &owners);
        }
      }
      // In slices, so the chunk store's lock is not held for a whole
      // directory of checkpoints while uploads wait for it.
      for (size_t start = 0; start < fresh.size(); start += kMaxIdsPerCall) {
        const size_t end = std::min(fresh.size(), start + kMaxIdsPerCall);
        ASSIGN_OR_RETURN(std::vector<std::optional<ChunkLocation>> where,
                         catalog_->chunks().LocateMany(
                             tenant, absl::MakeConstSpan(fresh).subspan(start, end - start)));
        for (size_t i = 0; i < where.size(); ++i) {
          if (!where[i].has_value()) continue;  // damaged or lost: verify reports those
          const Owner& owner = owners[start + i];
          owner.stats->set_stored_bytes(
              owner.stats->stored_bytes() +
              (owner.of == 0 ? where[i]->length : where[i]->length * owner.share / owner.of));
          if (owner.counts_chunk) owner.stats->set_chunks(owner.stats->chunks() + 1);
        }
      }
    }
    return absl::OkStatus();
  }

  void Finish(v1::StorageStatsResponse* response) {
    std::vector<std::pair<std::string, v1::KindStats>> rows(by_kind_.begin(), by_kind_.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return a.second.stored_bytes() != b.second.stored_bytes()
                 ? a.second.stored_bytes() > b.second.stored_bytes()
                 : a.first < b.first;
    });
    for (auto& [kind, stats] : rows) {
      stats.set_kind(kind);
      *response->add_kinds() = std::move(stats);
    }
    const auto [x_label, y_label] = PlotAxisNames();
    response->set_x_label(std::string(x_label));
    response->set_y_label(std::string(y_label));
  }

  std::vector<v1::PlotPoint>* points() { return &points_; }

 private:
  // Who a chunk's stored bytes are credited to: all of them, or for a
  // slice of a bundle of small files, its share (share / of).
  struct Owner {
    v1::KindStats* stats;
    uint64_t share = 0;
    uint64_t of = 0;  // 0: the whole chunk
    bool counts_chunk = true;
  };

  // Counts the file; the chunks (bundle slices) no earlier file reached go
  // to *fresh, with the stats they will be credited to in *owners.
  void AddFile(int64_t tenant, const v1::TreeEntry& entry, std::vector<std::string>* fresh,
               std::vector<Owner>* owners) {
    v1::KindStats& stats = by_kind_[KindLabel(entry)];
    stats.set_files(stats.files() + 1);
    stats.set_logical_bytes(stats.logical_bytes() + entry.size());
    for (const v1::ChunkRef& ref : entry.chunks()) {
      const bool slice = ref.bundle_size() > 0;
      std::string key = absl::StrCat(tenant, ":", ref.id());
      if (slice) absl::StrAppend(&key, "@", ref.bundle_offset());
      if (chunks_seen_.insert(std::move(key)).second) {
        fresh->push_back(ref.id());
        owners->push_back(
            slice ? Owner{&stats, ref.size(), ref.bundle_size(), ref.bundle_offset() == 0}
                  : Owner{&stats});
      }
    }
    if (entry.plot().size() == 2 && points_.size() < plot_points_) {
      v1::PlotPoint& point = points_.emplace_back();
      point.set_x(static_cast<uint8_t>(entry.plot()[0]) / 255.0f);
      point.set_y(static_cast<uint8_t>(entry.plot()[1]) / 255.0f);
      point.set_data_class(std::string(DataClassName(
          static_cast<DataClass>(entry.data_class() <= 255 ? entry.data_class() : 0))));
    }
  }

  Catalog* catalog_;
  const uint32_t plot_points_;
  absl::flat_hash_set<std::string> trees_seen_;
  absl::flat_hash_set<std::string> chunks_seen_;
  // Node-based: AddFile hands out pointers to the stats while adding kinds.
  absl::node_hash_map<std::string, v1::KindStats> by_kind_;
  std::vector<v1::PlotPoint> points_;
};

}  // namespace

absl::StatusOr<v1::StorageStatsResponse> ComputeStorageStats(
    Catalog* catalog, const v1::StorageStatsRequest& request) {
  ASSIGN_OR_RETURN(std::vector<v1::Snapshot> snapshots, SnapshotsToWalk(catalog, request));
  StatsWalk walk(catalog, request.plot_points());
  v1::StorageStatsResponse response;
  for (const v1::Snapshot& s : snapshots) {
    RETURN_IF_ERROR(walk.Walk(s));
    response.add_snapshot_ids(s.id());
  }
  walk.Finish(&response);
  for (v1::PlotPoint& p : *walk.points()) *response.add_points() = std::move(p);
  return response;
}

}  // namespace cairn

// cairnctl stats: what the backed-up data is and what it costs to store.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/limits.h"
#include "ctl/cli.h"
#include "ctl/output.h"
#include "ctl/svg_plot.h"

namespace cairn::ctl {
namespace {

std::string Ratio(uint64_t logical, uint64_t stored) {
  if (stored == 0) return "-";
  return absl::StrFormat("%.2fx", static_cast<double>(logical) / stored);
}

absl::Status WritePlot(const v1::StorageStatsResponse& stats, const std::string& path) {
  std::vector<ScatterPoint> points;
  for (const v1::PlotPoint& p : stats.points()) points.push_back({p.x(), p.y(), p.data_class()});
  return WriteFileAtomically(path,
                             ScatterSvg("cairn: how the classifier sees files with no known format",
                                        stats.x_label(), stats.y_label(), points),
                             0644);
}

}  // namespace

int Stats(AdminClient& client) {
  v1::StorageStatsRequest request;
  request.set_snapshot_id(absl::GetFlag(FLAGS_snapshot));
  request.set_agent(absl::GetFlag(FLAGS_agent));
  const std::string plot = absl::GetFlag(FLAGS_plot);
  if (!plot.empty()) request.set_plot_points(kMaxPlotPoints);
  auto stats = client.Call(&v1::AdminService::Stub::GetStorageStats, request);
  if (!stats.ok()) return Fail(stats.status());
  if (!plot.empty()) {
    absl::Status written = WritePlot(*stats, plot);
    if (!written.ok()) return Fail(written);
    std::cerr << "wrote " << plot << " (" << stats->points_size() << " files)\n";
  }
  if (PrintedJson(*stats)) return 0;
  uint64_t files = 0, logical = 0, stored = 0;
  for (const v1::KindStats& k : stats->kinds()) {
    files += k.files();
    logical += k.logical_bytes();
    stored += k.stored_bytes();
  }
  if (absl::GetFlag(FLAGS_by_kind)) {
    Table table({"KIND", "FILES", "LOGICAL", "STORED", "RATIO", "CHUNKS"});
    for (const v1::KindStats& k : stats->kinds()) {
      table.Add({k.kind(), absl::StrCat(k.files()), HumanBytes(k.logical_bytes()),
                 HumanBytes(k.stored_bytes()), Ratio(k.logical_bytes(), k.stored_bytes()),
                 absl::StrCat(k.chunks())});
    }
    table.Add({"total", absl::StrCat(files), HumanBytes(logical), HumanBytes(stored),
               Ratio(logical, stored), ""});
    std::cout << table.Render();
  } else {
    std::cout << absl::StrFormat("%d files, %s logical, %s stored (%s) in %d snapshot(s)\n", files,
                                 HumanBytes(logical), HumanBytes(stored), Ratio(logical, stored),
                                 stats->snapshot_ids_size());
  }
  return 0;
}

}  // namespace cairn::ctl

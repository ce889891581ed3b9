// A scatter plot as a self-contained SVG file (no script, no external fonts
// or styles): points in [0, 1] x [0, 1], coloured by a class name, with axes,
// ticks and a legend. For `cairnctl stats --plot FILE`.
#ifndef CAIRN_CTL_SVG_PLOT_H_
#define CAIRN_CTL_SVG_PLOT_H_

#include <string>
#include <vector>

namespace cairn::ctl {

struct ScatterPoint {
  float x;
  float y;
  std::string series;
};

// Points outside [0, 1] are drawn at the edge. Text is XML-escaped.
std::string ScatterSvg(const std::string& title, const std::string& x_label,
                       const std::string& y_label, const std::vector<ScatterPoint>& points);

}  // namespace cairn::ctl

#endif  // CAIRN_CTL_SVG_PLOT_H_

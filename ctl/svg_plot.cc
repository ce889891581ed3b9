#include "ctl/svg_plot.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/xml_escape.h"

namespace cairn::ctl {
namespace {

constexpr int kWidth = 720;
constexpr int kHeight = 520;
constexpr int kLeft = 70;
constexpr int kRight = 170;  // room for the legend
constexpr int kTop = 40;
constexpr int kBottom = 60;
// Colour-blind-safe (Okabe-Ito), one per series in name order.
constexpr const char* kColors[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                   "#CC79A7", "#56B4E9", "#F0E442", "#000000"};

// In [0, 1], NaN at 0: the values come from the server.
float Unit(float v) { return v >= 0.0f ? std::min(v, 1.0f) : 0.0f; }

double PlotX(float x) { return kLeft + Unit(x) * (kWidth - kLeft - kRight); }
double PlotY(float y) { return kHeight - kBottom - Unit(y) * (kHeight - kTop - kBottom); }

// Escaped, without the control characters XML 1.0 does not allow.
std::string Text(const std::string& s) {
  std::string kept;
  for (char c : s) {
    if (static_cast<uint8_t>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') kept.push_back(c);
  }
  return XmlEscape(kept);
}

}  // namespace

std::string ScatterSvg(const std::string& title, const std::string& x_label,
                       const std::string& y_label, const std::vector<ScatterPoint>& points) {
  std::map<std::string, size_t> series;  // name -> count, in name order
  for (const ScatterPoint& p : points) ++series[p.series];
  std::map<std::string, const char*> color;
  size_t next = 0;
  for (const auto& [name, count] : series) color[name] = kColors[next++ % std::size(kColors)];

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%d\" y=\"24\" font-size=\"15\">%s</text>\n",
      kWidth, kHeight, kWidth, kHeight, kLeft, Text(title));
  // Axes and ticks at 0, 0.25, ..., 1.
  absl::StrAppendFormat(&svg,
                        "<g stroke=\"#444\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>\n",
                        PlotX(0), PlotY(0), PlotX(1), PlotY(0), PlotX(0), PlotY(0), PlotX(0),
                        PlotY(1));
  for (int i = 0; i <= 4; ++i) {
    const float t = i / 4.0f;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f</text>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                          PlotX(t), PlotY(0) + 18, t, PlotX(0) - 6, PlotY(t) + 4, t);
  }
  absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                        (PlotX(0) + PlotX(1)) / 2, kHeight - 18, Text(x_label));
  absl::StrAppendFormat(&svg,
                        "<text transform=\"translate(18 %.1f) rotate(-90)\" "
                        "text-anchor=\"middle\">%s</text>\n",
                        (PlotY(0) + PlotY(1)) / 2, Text(y_label));
  svg += "<g fill-opacity=\"0.7\">\n";
  for (const ScatterPoint& p : points) {
    absl::StrAppendFormat(&svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                          PlotX(p.x), PlotY(p.y), color[p.series]);
  }
  svg += "</g>\n";
  int row = 0;
  for (const auto& [name, count] : series) {
    const int y = kTop + 20 + 20 * row++;
    absl::StrAppendFormat(&svg,
                          "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"%s\"/>"
                          "<text x=\"%d\" y=\"%d\">%s (%d)</text>\n",
                          kWidth - kRight + 20, y - 4, color[name], kWidth - kRight + 32, y,
                          Text(name), count);
  }
  if (points.empty()) {
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no classified "
                          "files: only files of 256 KiB or more with no known format are</text>\n",
                          (PlotX(0) + PlotX(1)) / 2, (PlotY(0) + PlotY(1)) / 2);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace cairn::ctl

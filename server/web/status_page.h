// The status page's static files, built into the binary (a cluster may
// have no internet: no CDN, no framework): one HTML shell, a stylesheet and
// a script that reads /api/* and draws tables and SVG plots. They hold no
// data; the script renders what the API returns with textContent only.
//
//   if (std::optional<PageAsset> a = FindPageAsset(request.path)) ...
#ifndef CAIRN_SERVER_WEB_STATUS_PAGE_H_
#define CAIRN_SERVER_WEB_STATUS_PAGE_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace cairn {

struct PageAsset {
  absl::string_view content_type;
  absl::string_view body;
};

// "/" (and "/index.html"), "/app.js", "/app.css"; nullopt for anything else.
std::optional<PageAsset> FindPageAsset(absl::string_view path);

}  // namespace cairn

#endif  // CAIRN_SERVER_WEB_STATUS_PAGE_H_

// An HTTP/1.1 request head as the status page's listener accepts it: a
// request line and headers, no body. Anything else (an obsolete line
// folding, a control character, a header without a colon, a target that is
// not an absolute path, a body) is refused; the listener answers 400.
//
//   ASSIGN_OR_RETURN(HttpRequest request, ParseHttpRequestHead(head));
//   if (request.path == "/metrics") ...
#ifndef CAIRN_SERVER_WEB_HTTP_REQUEST_H_
#define CAIRN_SERVER_WEB_HTTP_REQUEST_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// The longest request head read; more is refused (431).
inline constexpr size_t kMaxHttpHeadBytes = 16 * 1024;
inline constexpr size_t kMaxHttpHeaders = 64;

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // "/metrics": the target up to '?', percent-decoded
  std::string query;   // after '?', as sent
  // Names lower-cased, values trimmed, in the order sent.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header named `name` (lower case).
  std::optional<std::string> Header(absl::string_view name) const;
  // The value of query parameter `name` (percent-decoded), if present.
  std::optional<std::string> QueryParam(absl::string_view name) const;
};

// Parses `head`: everything up to and including the blank line that ends
// the headers. InvalidArgument saying what is wrong otherwise.
absl::StatusOr<HttpRequest> ParseHttpRequestHead(absl::string_view head);

// "%2F" -> "/", "+" left as is; InvalidArgument for a bad escape or a NUL.
absl::StatusOr<std::string> PercentDecode(absl::string_view s);

}  // namespace cairn

#endif  // CAIRN_SERVER_WEB_HTTP_REQUEST_H_

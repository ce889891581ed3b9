#include "server/web/http_request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-.^_`|~", c);
}

}  // namespace

std::optional<std::string> HttpRequest::Header(absl::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::QueryParam(absl::string_view name) const {
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.first != name) continue;
    absl::StatusOr<std::string> v = PercentDecode(kv.second);
    if (v.ok()) return *v;
    return std::nullopt;
  }
  return std::nullopt;
}

absl::StatusOr<std::string> PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) {
        return absl::InvalidArgumentError("a truncated percent escape");
      }
      const absl::string_view hex = s.substr(i + 1, 2);
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(hex[0])) ||
          !absl::ascii_isxdigit(static_cast<unsigned char>(hex[1]))) {
        return absl::InvalidArgumentError("a bad percent escape");
      }
      c = absl::HexStringToBytes(hex)[0];
      i += 2;
    }
    if (c == '\0') return absl::InvalidArgumentError("a NUL byte in the request target");
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<HttpRequest> ParseHttpRequestHead(absl::string_view head) {
  if (head.size() > kMaxHttpHeadBytes) {
    return absl::InvalidArgumentError("the request head is too long");
  }
  if (!absl::EndsWith(head, "\r\n\r\n")) {
    return absl::InvalidArgumentError("the request head does not end with an empty line");
  }
  head.remove_suffix(4);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  HttpRequest request;
  // Request line: METHOD SP TARGET SP HTTP/1.x
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3) return absl::InvalidArgumentError("a malformed request line");
  if (parts[0].empty() || parts[0].size() > 16) {
    return absl::InvalidArgumentError("a malformed method");
  }
  for (char c : parts[0]) {
    if (!IsTokenChar(c)) return absl::InvalidArgumentError("a malformed method");
  }
  request.method = std::string(parts[0]);
  if (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0") {
    return absl::InvalidArgumentError("only HTTP/1.0 and HTTP/1.1 are spoken");
  }
  absl::string_view target = parts[1];
  if (target.empty() || target[0] != '/') {
    return absl::InvalidArgumentError("the request target must be an absolute path");
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("a control character in the request target");
    }
  }
  const size_t q = target.find('?');
  if (q != absl::string_view::npos) {
    request.query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  ASSIGN_OR_RETURN(request.path, PercentDecode(target));
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (line.empty()) return absl::InvalidArgumentError("an empty line inside the headers");
    if (line[0] == ' ' || line[0] == '\t') {
      return absl::InvalidArgumentError("folded header lines are not accepted");
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError("a header line without a name and a colon");
    }
    absl::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) return absl::InvalidArgumentError("a malformed header name");
    }
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return absl::InvalidArgumentError("a control character in a header value");
      }
    }
    if (request.headers.size() == kMaxHttpHeaders) {
      return absl::InvalidArgumentError("too many header lines");
    }
    request.headers.emplace_back(absl::AsciiStrToLower(name), std::string(value));
  }
  if (request.Header("transfer-encoding").has_value()) {
    return absl::InvalidArgumentError("request bodies are not accepted");
  }
  if (std::optional<std::string> length = request.Header("content-length"); length.has_value()) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(*length, &n) || n != 0) {
      return absl::InvalidArgumentError("request bodies are not accepted");
    }
  }
  return request;
}

}  // namespace cairn

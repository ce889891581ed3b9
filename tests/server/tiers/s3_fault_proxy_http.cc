// HTTP/1.1 framing for the S3 fault proxy; see s3_fault_proxy_http.h.
#include "tests/server/tiers/s3_fault_proxy_http.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace cairn {
namespace {

constexpr size_t kMaxHeadBytes = 64 << 10;

}  // namespace

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string HttpHeader(absl::string_view head, absl::string_view name) {
  size_t at = head.find("\r\n");  // skips the start line
  while (at != absl::string_view::npos && at + 2 < head.size()) {
    size_t end = head.find("\r\n", at + 2);
    absl::string_view line = head.substr(at + 2, end - (at + 2));
    size_t colon = line.find(':');
    if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
    at = end;
  }
  return "";
}

int HttpStatus(absl::string_view head) {
  int code = 0;
  if (!absl::StartsWith(head, "HTTP/") || head.size() < 12) return 0;
  return absl::SimpleAtoi(head.substr(9, 3), &code) ? code : 0;
}

bool HttpReader::Fill() {
  char tmp[65536];
  while (true) {
    ssize_t n = ::read(fd_, tmp, sizeof(tmp));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
}

bool HttpReader::ReadThrough(absl::string_view delim, std::string* out) {
  size_t end;
  while ((end = buf_.find(delim.data(), 0, delim.size())) == std::string::npos) {
    if (buf_.size() > kMaxHeadBytes || !Fill()) return false;
  }
  out->append(buf_, 0, end + delim.size());
  buf_.erase(0, end + delim.size());
  return true;
}

bool HttpReader::ReadBytes(uint64_t n, std::string* out) {
  while (buf_.size() < n) {
    if (!Fill()) return false;
  }
  out->append(buf_, 0, n);
  buf_.erase(0, n);
  return true;
}

bool HttpReader::ReadChunked(std::string* out) {
  while (true) {
    size_t start = out->size();
    if (!ReadThrough("\r\n", out)) return false;
    absl::string_view line = absl::string_view(*out).substr(start);
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(line.substr(0, line.find_first_of(";\r")), &size)) return false;
    if (size > 0) {
      if (!ReadBytes(size + 2, out)) return false;  // the data and its CRLF
      continue;
    }
    while (true) {  // trailers, then the empty line
      size_t before = out->size();
      if (!ReadThrough("\r\n", out)) return false;
      if (out->size() - before == 2) return true;
    }
  }
}

bool HttpReader::ReadBody(absl::string_view head, bool is_response, std::string* body,
                          bool* close_delimited) {
  if (absl::StrContains(absl::AsciiStrToLower(HttpHeader(head, "transfer-encoding")), "chunked")) {
    return ReadChunked(body);
  }
  std::string length = HttpHeader(head, "content-length");
  if (!length.empty()) {
    uint64_t n = 0;
    return absl::SimpleAtoi(length, &n) && ReadBytes(n, body);
  }
  if (!is_response) return true;
  while (Fill()) {
  }
  body->append(buf_);
  buf_.clear();
  *close_delimited = true;
  return true;
}

}  // namespace cairn

// HTTP/1.1 framing for S3FaultProxy (s3_fault_proxy.h): whole requests and
// responses read off a socket exactly as sent, so they can be forwarded byte
// for byte, held back, cut short or altered. Bodies framed by Content-Length,
// by chunked transfer coding (kept chunked) or, for responses, by the end of
// the connection. Blocking reads; no timeouts (the proxy shuts sockets down).
//
//   HttpReader client(fd);
//   std::string head, body;
//   bool eof_framed = false;
//   if (client.ReadHead(&head) && client.ReadBody(head, false, &body, &eof_framed)) ...
#ifndef CAIRN_TESTS_SERVER_TIERS_S3_FAULT_PROXY_HTTP_H_
#define CAIRN_TESTS_SERVER_TIERS_S3_FAULT_PROXY_HTTP_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace cairn {

// Writes all of `data` (MSG_NOSIGNAL: a closed peer is false, not SIGPIPE).
bool SendAll(int fd, absl::string_view data);

// The trimmed value of header `name` (any case) in a message head, "" if
// absent.
std::string HttpHeader(absl::string_view head, absl::string_view name);

// The status code of a response head ("HTTP/1.1 200 OK": 200), 0 if none.
int HttpStatus(absl::string_view head);

// Reads messages off one socket, keeping what arrived past the last one.
class HttpReader final {
 public:
  explicit HttpReader(int fd = -1) : fd_(fd) {}

  int fd() const { return fd_; }
  // Switches to another socket (or none: -1), dropping buffered bytes.
  void Reset(int fd) {
    fd_ = fd;
    buf_.clear();
  }
  // True when nothing was received past the last message read.
  bool empty() const { return buf_.empty(); }

  // Appends a head (the start line, the headers and the empty line) to
  // `head`. False on EOF, a read error or a head over 64 KiB.
  bool ReadHead(std::string* head) { return ReadThrough("\r\n\r\n", head); }
  // Appends the body of the message whose head is `head`, as sent. A request
  // without Content-Length or chunked coding has none; such a response runs
  // to the end of the connection (`*close_delimited` is then set). The
  // caller decides about bodyless responses (HEAD, 1xx, 204, 304).
  bool ReadBody(absl::string_view head, bool is_response, std::string* body, bool* close_delimited);

 private:
  bool Fill();
  bool ReadThrough(absl::string_view delim, std::string* out);
  bool ReadBytes(uint64_t n, std::string* out);
  bool ReadChunked(std::string* out);

  int fd_;
  std::string buf_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_TIERS_S3_FAULT_PROXY_HTTP_H_

// The fault-injecting HTTP/1.1 proxy in front of s3rver; see s3_fault_proxy.h.
#include "tests/server/tiers/s3_fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "tests/server/tiers/s3_fault_proxy_http.h"

namespace cairn {
namespace {

constexpr int kMaxConnections = 64;
constexpr size_t kMaxRequestLines = 100000;

// The reply for the faults that answer instead of the store.
std::string ErrorReply(S3FaultProxy::Fault fault, bool is_head) {
  struct Reply {
    int status;
    const char* reason;
    const char* code;
    const char* message;
  };
  const Reply r = fault == S3FaultProxy::Fault::kSlowDown
                      ? Reply{503, "Slow Down", "SlowDown", "Please reduce your request rate."}
                  : fault == S3FaultProxy::Fault::kForbidden
                      ? Reply{403, "Forbidden", "AccessDenied", "Access Denied"}
                      : Reply{500, "Internal Server Error", "InternalError",
                              "We encountered an internal error. Please try again."};
  std::string body = absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>",
                                  r.code, "</Code><Message>", r.message,
                                  "</Message><RequestId>CAIRNFAULTPROXY</RequestId></Error>");
  return absl::StrCat("HTTP/1.1 ", r.status, " ", r.reason,
                      "\r\nContent-Type: application/xml\r\nContent-Length: ", body.size(),
                      "\r\nx-amz-request-id: CAIRNFAULTPROXY\r\nConnection: keep-alive\r\n\r\n",
                      is_head ? "" : body);
}

// Every hex digit of the ETag's value (up to a multipart "-N") replaced by
// the next one, so the value differs but keeps its length and format.
std::string CorruptEtag(std::string head) {
  size_t at = absl::AsciiStrToLower(head).find("\r\netag:");
  if (at == std::string::npos) return head;
  for (size_t i = at + 7; i < head.size() && head[i] != '\r' && head[i] != '-'; ++i) {
    const char c = absl::ascii_tolower(head[i]);
    if (!absl::ascii_isxdigit(c)) continue;
    const int value = c <= '9' ? c - '0' : c - 'a' + 10;
    head[i] = "0123456789abcdef"[(value + 1) % 16];
  }
  return head;
}

}  // namespace

absl::StatusOr<std::unique_ptr<S3FaultProxy>> S3FaultProxy::Start(
    int upstream_port, const std::string& upstream_host) {
  struct in_addr probe;
  if (::inet_pton(AF_INET, upstream_host.c_str(), &probe) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", upstream_host));
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return PosixError(errno, "socket", "fault proxy");
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return PosixError(err, "bind/listen", "127.0.0.1:0");
  }
  return std::unique_ptr<S3FaultProxy>(
      new S3FaultProxy(upstream_host, upstream_port, fd, ntohs(addr.sin_port)));
}

S3FaultProxy::S3FaultProxy(std::string upstream_host, int upstream_port, int listen_fd, int port)
    : upstream_host_(std::move(upstream_host)),
      upstream_port_(upstream_port),
      listen_fd_(listen_fd),
      port_(port),
      acceptor_([this] { AcceptLoop(); }) {}

S3FaultProxy::~S3FaultProxy() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  acceptor_.join();
  std::list<Worker> workers;
  {
    absl::MutexLock lock(&mu_);
    workers.swap(workers_);
  }
  for (Worker& w : workers) w.thread.join();
  ::close(listen_fd_);
}

void S3FaultProxy::AcceptLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &S3FaultProxy::MayAccept));
      if (stopping_) return;
      for (auto it = workers_.begin(); it != workers_.end();) {
        if (!it->done) {
          ++it;
          continue;
        }
        it->thread.join();  // it has left Serve; only its last instructions remain
        it = workers_.erase(it);
      }
    }
    struct pollfd pfd = {listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.insert(fd);
    ++active_;
    Worker* worker = &workers_.emplace_back();
    worker->thread = std::thread([this, fd, worker] {
      Serve(fd);
      absl::MutexLock done_lock(&mu_);
      open_fds_.erase(fd);
      ::close(fd);
      worker->done = true;
      --active_;
    });
  }
}

void S3FaultProxy::Serve(int client_fd) {
  HttpReader client(client_fd);
  HttpReader upstream;
  while (true) {
    std::string head, body, response_head, response_body;
    bool unused = false, close_after = false;
    if (!client.ReadHead(&head)) break;
    const std::string method = head.substr(0, head.find(' '));
    const bool is_head = method == "HEAD";
    if (absl::EqualsIgnoreCase(HttpHeader(head, "expect"), "100-continue") &&
        !SendAll(client.fd(), "HTTP/1.1 100 Continue\r\n\r\n")) {
      break;
    }
    if (!client.ReadBody(head, false, &body, &unused)) break;
    std::optional<Fault> fault = TakeFault(head.substr(0, head.find("\r\n")));
    const bool client_close = absl::EqualsIgnoreCase(HttpHeader(head, "connection"), "close");
    if (fault == Fault::kDropConnection) break;
    if (fault == Fault::kServerError || fault == Fault::kSlowDown || fault == Fault::kForbidden) {
      if (!SendAll(client.fd(), ErrorReply(*fault, is_head)) || client_close) break;
      continue;
    }
    if (fault == Fault::kDelay) {
      absl::Duration delay;
      {
        absl::MutexLock lock(&mu_);
        delay = delay_;
      }
      if (!Sleep(delay)) break;
    }
    if (!Forward(upstream, head + body, is_head, &response_head, &response_body, &close_after)) {
      break;  // the store is gone: so is the connection
    }
    if (fault == Fault::kTruncateBody) {
      SendAll(client.fd(), response_head + response_body.substr(0, response_body.size() / 2));
      break;
    }
    if (fault == Fault::kWrongEtag) response_head = CorruptEtag(std::move(response_head));
    if (!SendAll(client.fd(), response_head + response_body) || client_close || close_after) break;
  }
  CloseUpstream(upstream);
}

bool S3FaultProxy::Forward(HttpReader& upstream, const std::string& request, bool is_head,
                           std::string* head, std::string* body, bool* close_after) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = upstream.fd() >= 0;
    if (reused) {  // an idle kept-alive connection should have nothing to say
      struct pollfd pfd = {upstream.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 0) != 0) {
        CloseUpstream(upstream);
        reused = false;
      }
    }
    if (upstream.fd() < 0 && !ConnectUpstream(upstream)) return false;
    bool sent = SendAll(upstream.fd(), request);
    while (sent) {
      head->clear();
      if (!upstream.ReadHead(head)) break;
      int status = HttpStatus(*head);
      if (status >= 100 && status < 200 && status != 101) continue;  // 100 Continue: ours went out
      bool close_delimited = false;
      bool no_body = is_head || status == 204 || status == 304;
      if (!no_body && !upstream.ReadBody(*head, true, body, &close_delimited)) return false;
      *close_after =
          close_delimited || absl::EqualsIgnoreCase(HttpHeader(*head, "connection"), "close");
      if (*close_after) CloseUpstream(upstream);
      return true;
    }
    bool got_nothing = head->empty() && upstream.empty();
    CloseUpstream(upstream);
    if (!reused || !got_nothing) return false;
  }
  return false;
}

bool S3FaultProxy::ConnectUpstream(HttpReader& upstream) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (!Track(fd)) {
    ::close(fd);
    return false;
  }
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  ::inet_pton(AF_INET, upstream_host_.c_str(), &addr.sin_addr);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  upstream.Reset(fd);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

void S3FaultProxy::CloseUpstream(HttpReader& upstream) {
  if (upstream.fd() < 0) return;
  Untrack(upstream.fd());
  upstream.Reset(-1);
}

bool S3FaultProxy::MayAccept() const { return stopping_ || active_ < kMaxConnections; }

bool S3FaultProxy::Track(int fd) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  open_fds_.insert(fd);
  return true;
}

void S3FaultProxy::Untrack(int fd) {
  absl::MutexLock lock(&mu_);
  open_fds_.erase(fd);
  ::close(fd);  // under the lock: the destructor never shuts down a reused fd
}

bool S3FaultProxy::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

std::optional<S3FaultProxy::Fault> S3FaultProxy::TakeFault(absl::string_view request_line) {
  absl::string_view method = request_line.substr(0, request_line.find(' '));
  absl::MutexLock lock(&mu_);
  ++requests_;
  if (request_lines_.size() < kMaxRequestLines) request_lines_.emplace_back(request_line);
  for (auto it = armed_.begin(); it != armed_.end(); ++it) {
    static constexpr const char* kMethods[] = {"", "GET", "HEAD", "PUT", "POST", "DELETE"};
    if (it->scope != FaultScope::kAny && method != kMethods[static_cast<int>(it->scope)]) continue;
    Fault fault = it->fault;
    if (--it->left <= 0) armed_.erase(it);
    ++faults_injected_;
    return fault;
  }
  return std::nullopt;
}

void S3FaultProxy::Arm(Fault fault, int count, FaultScope scope) {
  absl::MutexLock lock(&mu_);
  if (count > 0) armed_.push_back({fault, count, scope});
}

void S3FaultProxy::Disarm() {
  absl::MutexLock lock(&mu_);
  armed_.clear();
}

void S3FaultProxy::SetDelay(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  delay_ = delay;
}

std::string S3FaultProxy::endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

int S3FaultProxy::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

int S3FaultProxy::faults_injected() const {
  absl::MutexLock lock(&mu_);
  return faults_injected_;
}

int S3FaultProxy::armed() const {
  absl::MutexLock lock(&mu_);
  int left = 0;
  for (const Armed& a : armed_) left += a.left;
  return left;
}

std::vector<std::string> S3FaultProxy::request_lines() const {
  absl::MutexLock lock(&mu_);
  return request_lines_;
}

}  // namespace cairn

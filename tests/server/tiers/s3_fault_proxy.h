// An HTTP/1.1 proxy for the S3 tier tests that sits between the tier and a
// real S3-protocol server (S3TestServer) and misbehaves on cue: 500s, 503
// SlowDown, 403s, delays, dropped connections, truncated bodies, wrong ETags.
// Requests go upstream byte for byte, Host header included: the tier signs
// requests for the proxy's address, and s3rver checks the signature over the
// Host header as sent, not against its own port.
//
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<S3FaultProxy> proxy, S3FaultProxy::Start(s3->port()));
//   S3TierOptions options = s3->OptionsVia(proxy->endpoint());
//   proxy->Arm(S3FaultProxy::Fault::kSlowDown, 2, S3FaultProxy::FaultScope::kPut);
//
// Each client connection gets a thread (at most 64 at once) and an upstream
// connection of its own; requests and responses are read whole (Content-Length
// or chunked; none for HEAD, 1xx, 204 and 304), so keep-alive connections with
// many requests work and a fault hits exactly one request.
#ifndef CAIRN_TESTS_SERVER_TIERS_S3_FAULT_PROXY_H_
#define CAIRN_TESTS_SERVER_TIERS_S3_FAULT_PROXY_H_

#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/server/tiers/s3_fault_proxy_http.h"

namespace cairn {

class S3FaultProxy final {
 public:
  enum class Fault {
    kServerError,     // 500 InternalError, not forwarded
    kSlowDown,        // 503 SlowDown, not forwarded
    kDelay,           // forwarded after delay() (SetDelay)
    kDropConnection,  // the request is read, then the connection closed without a reply
    kTruncateBody,    // forwarded; half the response body (headers unchanged), then closed
    kWrongEtag,       // forwarded; the ETag header's hex digits changed (not XML bodies)
    kForbidden,       // 403 AccessDenied, not forwarded
  };
  // Which requests an armed fault may hit.
  enum class FaultScope { kAny, kGet, kHead, kPut, kPost, kDelete };

  // Listens on 127.0.0.1 (a free port) and forwards to upstream_host (an
  // IPv4 address) : upstream_port.
  static absl::StatusOr<std::unique_ptr<S3FaultProxy>> Start(
      int upstream_port, const std::string& upstream_host = "127.0.0.1");
  // Closes every connection and joins every thread.
  ~S3FaultProxy();
  S3FaultProxy(const S3FaultProxy&) = delete;
  S3FaultProxy& operator=(const S3FaultProxy&) = delete;

  // The next `count` requests in `scope` get `fault`. Faults armed earlier
  // fire first (each request gets at most one fault).
  void Arm(Fault fault, int count, FaultScope scope = FaultScope::kAny);
  // Forgets every armed fault that has not fired.
  void Disarm();
  // How long kDelay holds a request (default 200 ms).
  void SetDelay(absl::Duration delay);

  // "http://127.0.0.1:<port>".
  std::string endpoint() const;
  int port() const { return port_; }
  // Requests read from clients, faulted ones included.
  int requests() const;
  int faults_injected() const;
  // Armed faults that have not fired yet.
  int armed() const;
  // The request lines seen ("PUT /cairn-test/x HTTP/1.1"), oldest first.
  std::vector<std::string> request_lines() const;

 private:
  struct Armed {
    Fault fault;
    int left;
    FaultScope scope;
  };
  struct Worker {
    std::thread thread;
    bool done = false;
  };

  S3FaultProxy(std::string upstream_host, int upstream_port, int listen_fd, int port);
  void AcceptLoop();
  // Stopping, or room for another connection.
  bool MayAccept() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Serve(int client_fd);
  // Counts the request and takes the fault it gets, if any.
  std::optional<Fault> TakeFault(absl::string_view request_line);
  // Sends `request` upstream and reads the response, reconnecting once when
  // a kept-alive upstream connection turns out closed.
  bool Forward(HttpReader& upstream, const std::string& request, bool is_head, std::string* head,
               std::string* body, bool* close_after);
  bool ConnectUpstream(HttpReader& upstream);
  void CloseUpstream(HttpReader& upstream);
  // Records a socket to shut down on stop; false when stopping.
  bool Track(int fd);
  void Untrack(int fd);
  // Sleeps for `d`; false if the proxy is stopping.
  bool Sleep(absl::Duration d);

  const std::string upstream_host_;
  const int upstream_port_;
  const int listen_fd_;
  const int port_;

  mutable absl::Mutex mu_;
  std::deque<Armed> armed_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = absl::Milliseconds(200);
  int requests_ ABSL_GUARDED_BY(mu_) = 0;
  int faults_injected_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> request_lines_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::list<Worker> workers_ ABSL_GUARDED_BY(mu_);
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread acceptor_;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_TIERS_S3_FAULT_PROXY_H_

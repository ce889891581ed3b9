// A small HTTPS/1.1 listener for the status page and /metrics: OpenSSL,
// TLS 1.2 or later with the server's own certificate, a client certificate
// asked for but not required (the handler decides who may see what, through
// the same Authenticator as gRPC). One request per connection, GET and HEAD
// only, the head bounded (http_request.h), reads and writes under a
// deadline, a fixed pool of worker threads and a bounded queue of accepted
// connections: a slow or hostile client holds one worker for at most the
// deadline, and a flood is turned away, not queued without end.
//
//   ASSIGN_OR_RETURN(auto web, HttpsServer::Start("127.0.0.1:7421", key, chain, handler));
//   int port = web->port();
#ifndef CAIRN_SERVER_WEB_HTTPS_SERVER_H_
#define CAIRN_SERVER_WEB_HTTPS_SERVER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/web/http_request.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace cairn {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones
};

// What a request came with besides its head.
struct HttpPeer {
  std::string address;   // "127.0.0.1:53422"
  std::string cert_pem;  // the client certificate, "" when none was presented
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&, const HttpPeer&)>;

struct HttpsOptions {
  int workers = 8;
  size_t max_queued = 64;  // accepted connections waiting for a worker
  absl::Duration io_timeout = absl::Seconds(10);
  // Names the CA whose certificates clients are asked for (PEM), so that a
  // browser or curl offers the right one. May be empty.
  std::string client_ca_pem;
};

class HttpsServer final {
 public:
  // `listen`: "HOST:PORT" ("0.0.0.0:7421", "[::1]:0", "localhost:7421").
  static absl::StatusOr<std::unique_ptr<HttpsServer>> Start(const std::string& listen,
                                                            const std::string& key_pem,
                                                            const std::string& cert_chain_pem,
                                                            HttpHandler handler,
                                                            HttpsOptions options = {});
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  int port() const { return port_; }
  // Stops accepting, finishes the requests being served, joins the threads.
  void Shutdown();

 private:
  HttpsServer(HttpHandler handler, HttpsOptions options)
      : handler_(std::move(handler)), options_(std::move(options)) {}

  void AcceptLoop();
  void WorkerLoop();
  void Serve(int fd, const std::string& address);

  HttpHandler handler_;
  HttpsOptions options_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd that ends the accept loop
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  absl::Mutex mu_;
  std::deque<std::pair<int, std::string>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// The text of a status code ("Not Found").
const char* HttpReason(int status);

}  // namespace cairn

#endif  // CAIRN_SERVER_WEB_HTTPS_SERVER_H_

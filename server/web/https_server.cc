#include "server/web/https_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

std::string OpenSslError(absl::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return absl::StrCat(what, e != 0 ? ": " : "", buf);
}

absl::Status SplitHostPort(const std::string& listen, std::string* host, std::string* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("web listen address \"", listen, "\" is not HOST:PORT"));
  }
  *host = listen.substr(0, colon);
  *port = listen.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int n = 0;
  if (!absl::SimpleAtoi(*port, &n) || n < 0 || n > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("web listen address \"", listen, "\" has no valid port"));
  }
  return absl::OkStatus();
}

std::string PeerAddress(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
    return absl::StrCat(text, ":", port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
    return absl::StrCat("[", text, "]:", port);
  }
  return "unknown";
}

absl::Status LoadIdentity(SSL_CTX* ctx, const std::string& key_pem, const std::string& chain_pem) {
  BIO* chain = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
  absl::Cleanup free_chain = [chain] { BIO_free(chain); };
  X509* leaf = PEM_read_bio_X509(chain, nullptr, nullptr, nullptr);
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    return absl::InvalidArgumentError(OpenSslError("the server certificate"));
  }
  X509_free(leaf);
  while (X509* extra = PEM_read_bio_X509(chain, nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return absl::InvalidArgumentError(OpenSslError("the certificate chain"));
    }
  }
  ERR_clear_error();  // the end of the PEM stream
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  absl::Cleanup free_key_bio = [key_bio] { BIO_free(key_bio); };
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    EVP_PKEY_free(key);
    return absl::InvalidArgumentError(OpenSslError("the server key"));
  }
  EVP_PKEY_free(key);
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(
        OpenSslError("the server key does not match its certificate"));
  }
  return absl::OkStatus();
}

absl::Status AddClientCa(SSL_CTX* ctx, const std::string& ca_pem) {
  if (ca_pem.empty()) return absl::OkStatus();
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  absl::Cleanup free_bio = [bio] { BIO_free(bio); };
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (ca == nullptr) return absl::InvalidArgumentError(OpenSslError("the client CA"));
  absl::Cleanup free_ca = [ca] { X509_free(ca); };
  if (SSL_CTX_add_client_CA(ctx, ca) != 1) {
    return absl::InvalidArgumentError(OpenSslError("the client CA"));
  }
  return absl::OkStatus();
}

// Accepts any client certificate at the handshake: the handler's
// Authenticator checks it, so that a wrong one gets a clear 401.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

std::string PeerCertificatePem(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  absl::Cleanup free_cert = [cert] { X509_free(cert); };
  BIO* bio = BIO_new(BIO_s_mem());
  absl::Cleanup free_bio = [bio] { BIO_free(bio); };
  if (PEM_write_bio_X509(bio, cert) != 1) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

bool WriteAll(SSL* ssl, absl::string_view data) {
  while (!data.empty()) {
    int n = SSL_write(ssl, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

const char* HttpReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

absl::StatusOr<std::unique_ptr<HttpsServer>> HttpsServer::Start(const std::string& listen,
                                                                const std::string& key_pem,
                                                                const std::string& cert_chain_pem,
                                                                HttpHandler handler,
                                                                HttpsOptions options) {
  // A client that goes away mid-write must not end the process: OpenSSL
  // writes to the socket with write(2).
  struct sigaction old = {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
  std::unique_ptr<HttpsServer> server(new HttpsServer(std::move(handler), std::move(options)));
  server->ctx_ = SSL_CTX_new(TLS_server_method());
  if (server->ctx_ == nullptr) return absl::InternalError(OpenSslError("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(server->ctx_, TLS1_2_VERSION);
  SSL_CTX_set_options(server->ctx_, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(server->ctx_, SSL_SESS_CACHE_OFF);
  RETURN_IF_ERROR(LoadIdentity(server->ctx_, key_pem, cert_chain_pem));
  RETURN_IF_ERROR(AddClientCa(server->ctx_, server->options_.client_ca_pem));
  SSL_CTX_set_verify(server->ctx_, SSL_VERIFY_PEER, AcceptAnyCertificate);

  std::string host, port;
  RETURN_IF_ERROR(SplitHostPort(listen, &host, &port));
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("web listen address \"", listen, "\": ", ::gai_strerror(rc)));
  }
  absl::Cleanup free_found = [found] { ::freeaddrinfo(found); };
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) return PosixError(errno, "make the web listening socket", listen);
  server->listen_fd_ = fd;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen,
                                               " for the web page: ", std::strerror(errno),
                                               " (in use? set web.listen in the config)"));
  }
  if (::listen(fd, 128) != 0) return PosixError(errno, "listen", listen);
  sockaddr_storage bound = {};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  server->port_ = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  server->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (server->wake_fd_ < 0) return PosixError(errno, "make an eventfd", "web listener");
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  for (int i = 0; i < std::max(1, server->options_.workers); ++i) {
    server->workers_.emplace_back([s = server.get()] { s->WorkerLoop(); });
  }
  return server;
}

HttpsServer::~HttpsServer() {
  Shutdown();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

void HttpsServer::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  absl::MutexLock lock(&mu_);
  for (auto& [fd, address] : queue_) ::close(fd);
  queue_.clear();
}

void HttpsServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    sockaddr_storage addr = {};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    absl::MutexLock lock(&mu_);
    if (stopping_ || queue_.size() >= options_.max_queued) {
      ::close(fd);  // turned away: the queue is full
      continue;
    }
    queue_.emplace_back(fd, PeerAddress(addr));
  }
}

void HttpsServer::WorkerLoop() {
  while (true) {
    std::pair<int, std::string> next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](HttpsServer* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->stopping_ || !s->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    Serve(next.first, next.second);
  }
}

void HttpsServer::Serve(int fd, const std::string& address) {
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  timeval tv = absl::ToTimeval(options_.io_timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const absl::Time deadline = absl::Now() + options_.io_timeout;
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return;
  absl::Cleanup free_ssl = [ssl] {
    SSL_free(ssl);
    ERR_clear_error();
  };
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) return;
  auto reply = [&](const HttpResponse& r, bool head_only) {
    std::string out =
        absl::StrCat("HTTP/1.1 ", r.status, " ", HttpReason(r.status),
                     "\r\nContent-Type: ", r.content_type, "\r\nContent-Length: ", r.body.size(),
                     "\r\nConnection: close\r\nCache-Control: no-store"
                     "\r\nX-Content-Type-Options: nosniff\r\n");
    for (const auto& [name, value] : r.headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
    out += "\r\n";
    if (!head_only) out += r.body;
    if (WriteAll(ssl, out)) SSL_shutdown(ssl);
  };
  auto error = [&](int status, absl::string_view message) {
    reply(HttpResponse{.status = status, .body = absl::StrCat(message, "\n")}, false);
  };
  std::string head;
  char buf[4096];
  size_t end = std::string::npos;
  while (end == std::string::npos) {
    if (head.size() > kMaxHttpHeadBytes) return error(431, "the request head is too long");
    if (absl::Now() > deadline) return;  // a client that trickles bytes
    int n = SSL_read(ssl, buf, sizeof(buf));
    if (n <= 0) return;
    head.append(buf, static_cast<size_t>(n));
    end = head.find("\r\n\r\n");
  }
  if (end + 4 > kMaxHttpHeadBytes) return error(431, "the request head is too long");
  head.resize(end + 4);  // a body or a pipelined request is not read
  absl::StatusOr<HttpRequest> request = ParseHttpRequestHead(head);
  if (!request.ok()) return error(400, request.status().message());
  if (request->method != "GET" && request->method != "HEAD") {
    HttpResponse r{.status = 405, .body = "only GET and HEAD are served\n"};
    r.headers.emplace_back("Allow", "GET, HEAD");
    return reply(r, false);
  }
  HttpPeer peer{.address = address, .cert_pem = PeerCertificatePem(ssl)};
  reply(handler_(*request, peer), request->method == "HEAD");
}

}  // namespace cairn

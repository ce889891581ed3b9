#include "tests/server/web/https_test_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

curl_blob Blob(const std::string& s) {
  return curl_blob{const_cast<char*>(s.data()), s.size(), CURL_BLOB_COPY};
}

// A TCP connection to 127.0.0.1:port with send and receive timeouts; -1
// when it fails.
int Connect(int port, absl::Duration timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv = absl::ToTimeval(timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

HttpsReply HttpsGet(int port, const std::string& path, const v1::ClientCredentials& credentials,
                    const std::string& cookie) {
  HttpsReply reply;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  absl::Cleanup cleanup = [curl] { curl_easy_cleanup(curl); };
  const std::string host = credentials.server_name();
  const std::string url = absl::StrCat("https://", host, ":", port, path);
  curl_slist* resolve =
      curl_slist_append(nullptr, absl::StrCat(host, ":", port, ":127.0.0.1").c_str());
  absl::Cleanup free_resolve = [resolve] { curl_slist_free_all(resolve); };
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  curl_blob ca = Blob(credentials.ca_cert_pem());
  curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
  curl_blob cert = Blob(credentials.cert_pem());
  curl_blob key = Blob(credentials.key_pem());
  if (!credentials.cert_pem().empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  if (!cookie.empty()) curl_easy_setopt(curl, CURLOPT_COOKIE, cookie.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    reply.error = curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) reply.content_type = type;
  return reply;
}

std::string RawTlsExchange(int port, const std::string& bytes, absl::Duration timeout) {
  int fd = Connect(port, timeout);
  if (fd < 0) return "";
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  absl::Cleanup free_ctx = [ctx] { SSL_CTX_free(ctx); };
  SSL* ssl = SSL_new(ctx);
  absl::Cleanup free_ssl = [ssl] { SSL_free(ssl); };
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) return "";
  size_t sent = 0;
  while (sent < bytes.size()) {
    int n = SSL_write(ssl, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[4096];
  while (true) {
    int n = SSL_read(ssl, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string RawTcpExchange(int port, const std::string& bytes, absl::Duration timeout) {
  int fd = Connect(port, timeout);
  if (fd < 0) return "";
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) return "";
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace cairn

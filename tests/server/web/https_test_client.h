// HTTPS clients for the tests of the server's web listener: a well-behaved
// one (libcurl, checking the server against its CA, presenting a client
// certificate when given one) and a raw TLS connection that sends whatever
// bytes a test wants (hostile input).
//
//   HttpsReply r = HttpsGet(server.web_port(), "/metrics", &credentials);
//   EXPECT_EQ(r.status, 200) << r.error;
#ifndef CAIRN_TESTS_SERVER_WEB_HTTPS_TEST_CLIENT_H_
#define CAIRN_TESTS_SERVER_WEB_HTTPS_TEST_CLIENT_H_

#include <string>

#include "absl/time/time.h"
#include "cairn/v1/security.pb.h"

namespace cairn {

struct HttpsReply {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::string content_type;
  std::string headers;  // the response's header lines, as sent
  std::string error;
};

// GET https://<credentials.server_name()>:port/path on 127.0.0.1, trusting
// only credentials.ca_cert_pem(); presents the certificate and key when the
// credentials hold them.
// `cookie`: a Cookie header value to send ("" for none).
HttpsReply HttpsGet(int port, const std::string& path, const v1::ClientCredentials& credentials,
                    const std::string& cookie = "");

// Opens TLS to 127.0.0.1:port without checking the server (the server is
// not what is tested), sends `bytes`, and returns everything it answers
// until it closes the connection or `timeout` passes.
std::string RawTlsExchange(int port, const std::string& bytes,
                           absl::Duration timeout = absl::Seconds(20));

// The same over plain TCP (no TLS): what a client that does not speak TLS
// gets back.
std::string RawTcpExchange(int port, const std::string& bytes,
                           absl::Duration timeout = absl::Seconds(20));

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_WEB_HTTPS_TEST_CLIENT_H_

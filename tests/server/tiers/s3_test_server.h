// A real S3-protocol server for the S3 tier tests: s3rver (npm package
// @20minutes/s3rver, installed into <build>/s3rver by `make test`) run by
// node on 127.0.0.1, with its objects in a test directory and the bucket
// "cairn-test" created. It checks SigV4 signatures (keys "S3RVER"/"S3RVER")
// but also serves unsigned requests. It does not honour suffix ranges
// ("bytes=-N" reads from 0), AbortMultipartUpload or ListParts, and checks
// neither Content-MD5 nor the payload SHA-256.
//
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<S3TestServer> s3, S3TestServer::Start(NewTempDir("s3")));
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> tier, OpenS3Tier("cold", s3->Options("packs/")));
#ifndef CAIRN_TESTS_SERVER_TIERS_S3_TEST_SERVER_H_
#define CAIRN_TESTS_SERVER_TIERS_S3_TEST_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/tiers/s3/s3_tier.h"

namespace cairn {

class S3TestServer final {
 public:
  // Starts s3rver with its objects under `data_dir` (created if missing; its
  // log goes to "<data_dir>.s3rver.log") and returns once it listens.
  // FailedPrecondition when node or the s3rver modules are missing.
  static absl::StatusOr<std::unique_ptr<S3TestServer>> Start(const std::string& data_dir);
  // The same with the launcher script and the node_modules directory given
  // (Start uses CAIRN_S3RVER_LAUNCHER and CAIRN_S3RVER_MODULES).
  static absl::StatusOr<std::unique_ptr<S3TestServer>> Start(const std::string& data_dir,
                                                             const std::string& launcher,
                                                             const std::string& modules_dir);
  // SIGTERM, SIGKILL after 5 s, and reaps the process.
  ~S3TestServer();
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  // "http://127.0.0.1:<port>".
  std::string endpoint() const;
  const std::string& bucket() const { return bucket_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return data_dir_; }
  // What s3rver wrote to stderr (empty unless S3RVER_VERBOSE=1 or it failed).
  std::string Log() const;

  // Options for an S3 tier on this server: path-style, us-east-1, s3rver's
  // keys, and a 5-50 ms backoff so retry tests run fast.
  S3TierOptions Options(const std::string& prefix = "") const;
  // The same pointed at another endpoint (an S3FaultProxy in front of it).
  S3TierOptions OptionsVia(const std::string& endpoint, const std::string& prefix = "") const;

 private:
  S3TestServer(std::string data_dir, pid_t pid, int stdin_fd, int stdout_fd);

  std::string data_dir_;
  std::string bucket_;
  pid_t pid_;
  int stdin_fd_;   // the launcher exits when this closes
  int stdout_fd_;  // where it printed "PORT <n>"
  int port_ = 0;
};

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_TIERS_S3_TEST_SERVER_H_

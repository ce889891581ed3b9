// The S3 tier against a real S3-protocol server (s3rver), with faults put in
// between by a proxy: retries on 5xx, SlowDown, dropped connections,
// truncated bodies and wrong ETags; no retry on 403; signatures checked for
// real (a wrong secret is refused); prefixes kept apart; multipart uploads.
// The contract every tier keeps is in tier_conformance_test.cc.
#include "server/tiers/s3/s3_tier.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/tiers/s3_fault_proxy.h"
#include "tests/server/tiers/s3_test_server.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Fault = S3FaultProxy::Fault;
using Scope = S3FaultProxy::FaultScope;

std::string Data(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) ^ (i >> 9));
  return s;
}

class S3TierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(s3_, S3TestServer::Start(NewTempDir("s3rver")));
    ASSERT_OK_AND_ASSIGN(proxy_, S3FaultProxy::Start(s3_->port()));
  }

  // A tier through the proxy; `attempts` per request.
  std::unique_ptr<Tier> ViaProxy(const std::string& prefix = "p/", int attempts = 4) {
    S3TierOptions o = s3_->OptionsVia(proxy_->endpoint(), prefix);
    o.max_attempts = attempts;
    o.part_bytes = 64 << 10;
    absl::StatusOr<std::unique_ptr<Tier>> tier = OpenS3Tier("s3", o);
    EXPECT_TRUE(tier.ok()) << tier.status();
    return tier.ok() ? *std::move(tier) : nullptr;
  }

  std::string ReadAll(Tier* tier, const std::string& object) {
    absl::StatusOr<uint64_t> size = tier->Size(object);
    EXPECT_TRUE(size.ok()) << size.status();
    std::string out;
    absl::Status read = tier->Read(object, 0, size.value_or(0), &out);
    EXPECT_TRUE(read.ok()) << read;
    return out;
  }

  std::unique_ptr<S3TestServer> s3_;
  std::unique_ptr<S3FaultProxy> proxy_;
};

TEST_F(S3TierTest, ServerErrorsAndSlowDownAreRetried) {
  std::unique_ptr<Tier> tier = ViaProxy();
  proxy_->Arm(Fault::kServerError, 1, Scope::kPut);
  proxy_->Arm(Fault::kSlowDown, 1, Scope::kPut);
  ASSERT_OK(tier->Put("a", "hello"));
  EXPECT_EQ(proxy_->faults_injected(), 2);
  proxy_->Arm(Fault::kServerError, 2, Scope::kGet);
  EXPECT_EQ(ReadAll(tier.get(), "a"), "hello");
  EXPECT_EQ(proxy_->faults_injected(), 4);
}

TEST_F(S3TierTest, DroppedConnectionsAndTruncatedBodiesAreRetried) {
  std::unique_ptr<Tier> tier = ViaProxy();
  const std::string data = Data(40000, 1);
  proxy_->Arm(Fault::kDropConnection, 1, Scope::kPut);
  ASSERT_OK(tier->Put("a", data));
  proxy_->Arm(Fault::kTruncateBody, 1, Scope::kGet);
  std::string out;
  ASSERT_OK(tier->Read("a", 100, 30000, &out));
  EXPECT_EQ(out, data.substr(100, 30000));
  EXPECT_EQ(proxy_->faults_injected(), 2);
}

TEST_F(S3TierTest, WrongEtagIsRetriedAndNeverAcceptedSilently) {
  std::unique_ptr<Tier> tier = ViaProxy("p/", 3);
  proxy_->Arm(Fault::kWrongEtag, 1, Scope::kPut);
  ASSERT_OK(tier->Put("a", "payload"));  // the second PUT's ETag is right
  EXPECT_EQ(proxy_->faults_injected(), 1);
  proxy_->Arm(Fault::kWrongEtag, 3, Scope::kPut);
  absl::Status s = tier->Put("b", "payload");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("ETag"));
}

TEST_F(S3TierTest, ForbiddenIsNotRetried) {
  std::unique_ptr<Tier> tier = ViaProxy();
  const int before = proxy_->requests();
  proxy_->Arm(Fault::kForbidden, 1);
  absl::Status s = tier->Put("a", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_EQ(proxy_->requests() - before, 1);
}

TEST_F(S3TierTest, AStoreThatStaysDownIsUnavailableAfterTheLastAttempt) {
  std::unique_ptr<Tier> tier = ViaProxy("p/", 3);
  proxy_->Arm(Fault::kServerError, 100);
  absl::Status s = tier->Put("a", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(proxy_->faults_injected(), 3);
  EXPECT_EQ(tier->List().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(S3TierTest, AWrongSecretIsRefusedBySignatureCheck) {
  S3TierOptions o = s3_->Options("p/");
  o.secret_access_key = "not-the-secret";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> tier, OpenS3Tier("s3", o));
  absl::Status s = tier->Put("a", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), HasSubstr("SignatureDoesNotMatch"));
}

TEST_F(S3TierTest, PrefixesKeepTiersApart) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> a, OpenS3Tier("a", s3_->Options("a/")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> b, OpenS3Tier("b", s3_->Options("b/")));
  ASSERT_OK(a->Put("pack-1", "aaa"));
  ASSERT_OK(b->Put("pack-2", "bb"));
  EXPECT_THAT(*a->List(), ElementsAre("pack-1"));
  EXPECT_THAT(*b->List(), ElementsAre("pack-2"));
  EXPECT_EQ(b->Size("pack-1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b->Delete("pack-1").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a->Space()->used_bytes, 3u);
}

TEST_F(S3TierTest, MultipartUploadSendsPartsAsTheyFillAndCompletesAtCommit) {
  std::unique_ptr<Tier> tier = ViaProxy();
  const std::string data = Data(3 * 65536 + 1000, 2);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TierWriter> w, tier->Create("big"));
  ASSERT_OK(w->Append(data.substr(0, 2 * 65536 + 10)));
  // Two parts are out; the rest waits for more data or the commit.
  EXPECT_EQ(tier->Size("big").status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(w->Append(data.substr(2 * 65536 + 10)));
  ASSERT_OK(w->Commit());
  EXPECT_EQ(ReadAll(tier.get(), "big"), data);
  int parts = 0, completes = 0;
  for (const std::string& line : proxy_->request_lines()) {
    if (absl::StrContains(line, "partNumber=")) ++parts;
    if (absl::StartsWith(line, "POST") && absl::StrContains(line, "uploadId=")) ++completes;
  }
  EXPECT_EQ(parts, 4);
  EXPECT_EQ(completes, 1);
}

TEST_F(S3TierTest, AFailedPartFailsTheWriterForGood) {
  std::unique_ptr<Tier> tier = ViaProxy("p/", 2);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TierWriter> w, tier->Create("big"));
  proxy_->Arm(Fault::kServerError, 2, Scope::kPut);
  absl::Status s = w->Append(Data(3 * 65536, 3));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(w->Append("more").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(w->Commit().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(tier->Size("big").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(S3TierTest, OptionsAreChecked) {
  S3TierOptions o = s3_->Options();
  o.endpoint = "s3.example.com";
  EXPECT_EQ(OpenS3Tier("x", o).status().code(), absl::StatusCode::kInvalidArgument);
  o = s3_->Options();
  o.bucket.clear();
  EXPECT_EQ(OpenS3Tier("x", o).status().code(), absl::StatusCode::kInvalidArgument);
  o = s3_->Options("no-slash");
  EXPECT_EQ(OpenS3Tier("x", o).status().code(), absl::StatusCode::kInvalidArgument);
  o = s3_->Options();
  o.secret_access_key.clear();
  EXPECT_THAT(OpenS3Tier("x", o).status().message(), HasSubstr("AWS_SECRET_ACCESS_KEY"));
}

}  // namespace
}  // namespace cairn

// SigV4 against the worked examples of the S3 API reference ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single
// Chunk"), which AWS computed: a wrong byte anywhere in the canonical request
// changes the signature.
#include "server/tiers/s3/s3_signer.h"

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const SigV4Credentials& Example() {
  static const auto* c =
      new SigV4Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  return *c;
}

absl::Time May24() {
  return absl::FromCivil(absl::CivilSecond(2013, 5, 24, 0, 0, 0), absl::UTCTimeZone());
}

TEST(SigV4Test, GetObjectWithRange) {
  SigV4Request r{.method = "GET", .path = "/test.txt", .host = "examplebucket.s3.amazonaws.com"};
  r.headers = {{"range", "bytes=0-9"}, {"x-amz-content-sha256", kEmptySha256}};
  SigV4Signature sig = SignV4(r, Example(), "us-east-1", May24());
  EXPECT_EQ(sig.amz_date, "20130524T000000Z");
  EXPECT_EQ(sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, ParameterWithEmptyValueKeepsItsEquals) {
  // GET /?lifecycle: curl 7.88 signs "lifecycle" without "=", which S3 refuses.
  SigV4Request r{.method = "GET", .path = "/", .host = "examplebucket.s3.amazonaws.com"};
  r.query = {{"lifecycle", ""}};
  r.headers = {{"x-amz-content-sha256", kEmptySha256}};
  SigV4Signature sig = SignV4(r, Example(), "us-east-1", May24());
  EXPECT_THAT(
      sig.authorization,
      EndsWith("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
}

TEST(SigV4Test, QueryParametersAreSortedBeforeSigning) {
  // GET /?max-keys=2&prefix=J, given in the other order.
  SigV4Request r{.method = "GET", .path = "/", .host = "examplebucket.s3.amazonaws.com"};
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  r.headers = {{"x-amz-content-sha256", kEmptySha256}};
  SigV4Signature sig = SignV4(r, Example(), "us-east-1", May24());
  EXPECT_THAT(
      sig.authorization,
      EndsWith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

TEST(SigV4Test, EverySignedHeaderCountsAndOthersDoNot) {
  SigV4Request r{.method = "PUT", .path = "/b/pack-1", .host = "127.0.0.1:9000"};
  r.headers = {{"x-amz-content-sha256", kEmptySha256}};
  std::string base = SignV4(r, Example(), "us-east-1", May24()).authorization;
  SigV4Request other = r;
  other.headers["x-amz-storage-class"] = "GLACIER_IR";
  std::string with_class = SignV4(other, Example(), "us-east-1", May24()).authorization;
  EXPECT_NE(base, with_class);
  EXPECT_THAT(with_class, HasSubstr("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                                    "x-amz-storage-class,"));
  other = r;
  other.host = "127.0.0.1:9001";
  EXPECT_NE(SignV4(other, Example(), "us-east-1", May24()).authorization, base);
  EXPECT_NE(SignV4(r, Example(), "eu-west-1", May24()).authorization, base);
}

TEST(SigV4Test, CanonicalQueryEncodesAndSorts) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "a b/c"}, {"list-type", "2"}}),
            "list-type=2&prefix=a%20b%2Fc");
  EXPECT_EQ(CanonicalQuery({{"continuation-token", "x+y="}}), "continuation-token=x%2By%3D");
  EXPECT_EQ(CanonicalQuery({}), "");
}

TEST(SigV4Test, UriEncodeKeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(S3UriEncode("a-Z_0.~", false), "a-Z_0.~");
  EXPECT_EQ(S3UriEncode("p/q r", true), "p/q%20r");
  EXPECT_EQ(S3UriEncode("p/q", false), "p%2Fq");
  EXPECT_EQ(S3UriEncode("\xff", false), "%FF");
}

TEST(SigV4Test, Digests) {
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(Md5Of("").hex, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Of("").base64, "1B2M2Y8AsgTpgAmY7PhCfg==");
}

}  // namespace
}  // namespace cairn

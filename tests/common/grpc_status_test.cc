#include "common/grpc_status.h"

#include <string>

#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(GrpcStatusTest, RoundTripsCodeAndMessage) {
  absl::Status s = absl::ResourceExhaustedError("too many ids");
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(g.error_message(), "too many ids");
  EXPECT_EQ(FromGrpcStatus(g), s);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatusTest, CapsLongMessages) {
  grpc::Status g = ToGrpcStatus(absl::InternalError(std::string(100000, 'x')));
  EXPECT_EQ(g.error_message().size(), kMaxStatusMessageBytes);
}

}  // namespace
}  // namespace cairn

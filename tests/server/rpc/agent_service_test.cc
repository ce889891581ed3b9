// AgentService end to end in-process: a real CairnServer on a loopback port
// and a real stub over a real channel. Uploads (durable, cancelled half-way,
// over the message cap, hostile framing), the control stream's hello and a
// restore order reaching it, and chunk reads scoped by the snapshot.
#include "server/rpc/agent_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "common/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/rpc/rpc_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(GrpcServiceTest, UploadStoresChunksDurably) {
  std::string job = Begin("a1", "t1");
  std::vector<std::string> ids = {TestChunkId(1), TestChunkId(2), TestChunkId(3)};
  EXPECT_THAT(Missing(job, ids), ElementsAre(0u, 1u, 2u));
  v1::UploadChunksResponse response;
  grpc::Status status = Upload(job, ids, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 3u);
  EXPECT_GT(response.bytes_stored(), 3000u);
  EXPECT_THAT(Missing(job, ids), IsEmpty());
  status = Upload(job, ids, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 0u);
  EXPECT_EQ(response.chunks_already_present(), 3u);
}

// UploadChunks reads raw bytes (server/rpc/upload_request.h): a message that
// is not an UploadChunkRequest ends the stream with INVALID_ARGUMENT, and the
// chunks of its open pack (here: the one chunk sent before it) are not stored.
TEST_F(GrpcServiceTest, AMalformedUploadMessageIsRefusedAndStoresNothing) {
  std::string job = Begin("a1", "t1");
  const std::string id = TestChunkId(7);
  std::shared_ptr<grpc::Channel> channel = TestChannel(*server_, enrolled_["a1"]);
  const grpc::internal::RpcMethod method("/cairn.v1.AgentService/UploadChunks",
                                         grpc::internal::RpcMethod::CLIENT_STREAMING);
  auto bytes = [](const std::string& wire) {
    grpc::Slice slice(wire.data(), wire.size());
    return grpc::ByteBuffer(&slice, 1);
  };
  v1::UploadChunkRequest good;
  good.set_job_id(job);
  good.set_id(id);
  good.set_size(2048);
  good.set_sealed(TestSealed(7, 1000));
  for (const std::string& bad : {std::string("\x22\x7f"
                                             "short",
                                             7),                  // length past the end
                                 std::string("\x0b\x01\x02", 3),  // a group
                                 std::string(1, '\x80')}) {       // a cut varint
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
        grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(channel.get(), method,
                                                                      &context, &response));
    writer->Write(bytes(good.SerializeAsString()));
    writer->Write(bytes(bad));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_THAT(status.error_message(), HasSubstr("UploadChunkRequest"));
  }
  EXPECT_THAT(Missing(job, {id}), ElementsAre(0u));
}

// The server registers a generic service (so that UploadChunks can be served
// from raw buffers): a method nobody serves is still UNIMPLEMENTED, for an
// enrolled agent and for a caller without a certificate, and never hangs.
TEST_F(GrpcServiceTest, AnUnknownMethodIsUnimplemented) {
  UseAgent("a1", "t1");
  const grpc::internal::RpcMethod method("/cairn.v1.AgentService/NoSuchMethod",
                                         grpc::internal::RpcMethod::NORMAL_RPC);
  for (const v1::ClientCredentials& credentials :
       {enrolled_["a1"], AnonymousCredentials(*server_)}) {
    std::shared_ptr<grpc::Channel> channel = TestChannel(*server_, credentials);
    std::unique_ptr<grpc::ClientContext> context = Context();
    grpc::Slice slice(std::string("\x0a\x01x"));
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
        channel.get(), method, context.get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(status);
  }
}

TEST_F(GrpcServiceTest, CancelledUploadStoresNothingOfItsOpenPack) {
  std::string job = Begin("a1", "t1");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(TestChunkId(i));
  const std::string packs_dir = state_dir_ + "/packs";
  {
    grpc::ClientContext context;
    v1::UploadChunksResponse response;
    auto stream = agent_->UploadChunks(&context, &response);
    v1::UploadChunkRequest chunk;
    chunk.set_job_id(job);
    for (size_t i = 0; i < ids.size(); ++i) {
      chunk.set_id(ids[i]);
      chunk.set_size(2048);
      chunk.set_sealed(TestSealed(i, 1000));
      ASSERT_TRUE(stream->Write(chunk));
    }
    // Wait until the server is half-way: its open pack exists as a temp file.
    auto pack_open = [&packs_dir] {
      for (const std::string& name : RawDirListing(packs_dir)) {
        if (absl::StartsWith(name, "pack-")) return true;
      }
      return false;
    };
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!pack_open() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    ASSERT_TRUE(pack_open()) << "the server never opened a pack";
    context.TryCancel();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << Describe(status);
  }
  EXPECT_THAT(Missing(job, ids), ElementsAre(0u, 1u, 2u, 3u, 4u, 5u));

  // Once the handler has surely ended (shutdown waits for it), nothing is
  // catalogued and no pack or temp file is left; after a restart too.
  StopServer();
  std::vector<std::string> left;  // catalog bundles aside (they are not packs)
  for (const std::string& name : RawDirListing(packs_dir)) {
    if (!absl::StartsWith(name, "catalog-")) left.push_back(name);
  }
  EXPECT_THAT(left, IsEmpty());
  StartServer();
  EXPECT_THAT(Missing(job, ids), ElementsAre(0u, 1u, 2u, 3u, 4u, 5u));
  v1::GetStatusResponse status;
  ASSERT_TRUE(admin_->GetStatus(Context().get(), v1::GetStatusRequest(), &status).ok());
  EXPECT_EQ(status.chunks(), 0u);
  EXPECT_EQ(status.tiers(0).packs(), 0u);
  // The agent simply sends again.
  v1::UploadChunksResponse response;
  grpc::Status again = Upload(job, ids, &response);
  ASSERT_TRUE(again.ok()) << Describe(again);
  EXPECT_THAT(Missing(job, ids), IsEmpty());
}

TEST_F(GrpcServiceTest, MessagesOverTheCapAreRefusedAndTheServerGoesOn) {
  std::string job = Begin("a1", "t1");
  {
    v1::PutTreesRequest request;
    request.set_job_id(job);
    request.add_trees(std::string(kMaxGrpcMessageBytes + 1024, 'x'));
    v1::PutTreesResponse response;
    grpc::Status status = agent_->PutTrees(Context().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  }
  {
    auto context = Context();
    v1::UploadChunksResponse response;
    auto stream = agent_->UploadChunks(context.get(), &response);
    v1::UploadChunkRequest chunk;
    chunk.set_job_id(job);
    chunk.set_id(TestChunkId(1));
    chunk.set_size(1);
    chunk.set_sealed(std::string(kMaxGrpcMessageBytes, 's'));
    stream->Write(chunk);
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  }
  EXPECT_TRUE(Hello("a1", "t1").ok());
  v1::UploadChunksResponse response;
  grpc::Status status = Upload(job, {TestChunkId(1)}, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 1u);
}

TEST_F(GrpcServiceTest, UploadRefusesHostileFramingAndUnknownJobs) {
  std::string job = Begin("a1", "t1");
  v1::UploadChunksResponse response;
  grpc::Status status = Upload("j-nope", {TestChunkId(1)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  status = Upload(job, {TestChunkId(1), std::string(31, 'x')}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_THAT(Missing(job, {TestChunkId(1)}), ElementsAre(0u));
}

TEST_F(GrpcServiceTest, ControlStreamStartsWithHello) {
  UseAgent("a1", "t1");  // enrolling registers a1
  v1::ListAgentsResponse enrolled;
  ASSERT_TRUE(admin_->ListAgents(Context().get(), v1::ListAgentsRequest(), &enrolled).ok());
  {
    auto context = Context();
    auto stream = agent_->Control(context.get());
    v1::AgentEvent event;
    event.mutable_heartbeat()->set_pending_files(3);
    stream->Write(event);
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_THAT(status.error_message(), HasSubstr("hello"));
  }
  {
    auto context = Context();
    auto stream = agent_->Control(context.get());
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  }
  {
    auto context = Context();
    auto stream = agent_->Control(context.get());
    v1::AgentEvent event;
    event.mutable_hello()->set_agent("bad name");
    event.mutable_hello()->set_tenant("t1");
    stream->Write(event);
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  }
  // None of the refused streams changed what the server knows of agents.
  v1::ListAgentsResponse agents;
  ASSERT_TRUE(admin_->ListAgents(Context().get(), v1::ListAgentsRequest(), &agents).ok());
  EXPECT_EQ(agents.ShortDebugString(), enrolled.ShortDebugString());
  for (const v1::AgentInfo& a : agents.agents()) EXPECT_FALSE(a.online()) << a.ShortDebugString();
}

TEST_F(BrowseTest, ReadChunksIsScopedByTheSnapshot) {
  v1::ReadChunksRequest request;
  request.set_snapshot_id(first_.id());
  request.add_ids(TestChunkId(1, 7));
  {
    auto context = Context();
    auto reader = agent_->ReadChunks(context.get(), request);
    v1::ReadChunkResponse chunk;
    ASSERT_TRUE(reader->Read(&chunk));
    EXPECT_EQ(chunk.id(), TestChunkId(1, 7));
    EXPECT_EQ(chunk.sealed(), TestSealed(1, 1000));
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_TRUE(reader->Finish().ok());
  }
  // Tenant t2's snapshot cannot reach t1's chunks.
  std::string job = Begin("b1", "t2", v1::BACKUP_LEVEL_FULL);
  v1::UploadChunksResponse uploaded;
  ASSERT_TRUE(Upload(job, {TestChunkId(0, 9)}, &uploaded).ok());
  std::string root = TreeBytes({FileEntry("f", {TestChunkId(0, 9)}, 2048)});
  ASSERT_TRUE(PutTrees(job, {root}).ok());
  v1::Snapshot other = Commit(job, Sha256Of(root));
  request.set_snapshot_id(other.id());
  {
    auto context = Context();
    auto reader = agent_->ReadChunks(context.get(), request);
    v1::ReadChunkResponse chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  }
  for (size_t i = 0; i < kMaxReadIdsPerCall; ++i) request.add_ids(TestChunkId(i));
  {
    auto context = Context();
    auto reader = agent_->ReadChunks(context.get(), request);
    v1::ReadChunkResponse chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  }
}

TEST_F(BrowseTest, ARestoreOrderReachesTheAgentsControlStream) {
  UseAgent("a1", "t1");
  auto context = Context();
  auto stream = agent_->Control(context.get());
  v1::AgentEvent hello;
  hello.mutable_hello()->set_agent("a1");
  hello.mutable_hello()->set_tenant("t1");
  hello.mutable_hello()->set_key_check(TestKeyCheck("t1"));
  ASSERT_TRUE(stream->Write(hello));

  v1::RestoreOrder order;
  order.set_snapshot_id(first_.id());
  order.set_target_directory("/restore");
  v1::OrderResponse ordered;
  grpc::Status status = OrderRestore(order, &ordered);
  ASSERT_TRUE(status.ok()) << Describe(status);

  v1::ServerOrder received;
  bool got_restore = false;
  while (!got_restore && stream->Read(&received)) {
    got_restore = received.has_restore();
  }
  ASSERT_TRUE(got_restore);
  EXPECT_EQ(received.job_id(), ordered.job().id());
  EXPECT_EQ(received.restore().snapshot_id(), first_.id());
  EXPECT_EQ(received.restore().target_directory(), "/restore");

  // The agent goes away before finishing: the restore cannot finish now.
  stream->WritesDone();
  context->TryCancel();
  (void)stream->Finish();
  v1::GetJobRequest get;
  get.set_job_id(ordered.job().id());
  v1::GetJobResponse job;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    ASSERT_TRUE(admin_->GetJob(Context().get(), get, &job).ok());
    if (job.job().state() == v1::JOB_STATE_FAILED) break;
    absl::SleepFor(absl::Milliseconds(10));
  } while (absl::Now() < deadline);
  EXPECT_EQ(job.job().state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(job.job().error(), HasSubstr("disconnected"));
}

}  // namespace
}  // namespace cairn

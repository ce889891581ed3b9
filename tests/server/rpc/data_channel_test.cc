// The data channel against a real CairnServer on loopback: a session opened
// over TLS uploads through the plaintext data port and its answer
// authenticates; and what an attacker on that port can try is refused and
// leaves the catalog and packs as they were: no session, an unknown one, an
// altered message, a replayed call, a message out of its place, another
// session's key, a revoked agent's session, another agent's job, and every
// method but UploadChunks and ReadChunks. Reads are tagged both ways. Only
// agents open sessions.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/data_mac.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/rpc/hostile_client_test_util.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

struct Session {
  v1::OpenDataSessionResponse opened;
  std::shared_ptr<const DataKey> key;
  std::string hex() const { return absl::BytesToHexString(opened.session_id()); }
};

// One message to send: its fields, and the place its tag is made for.
struct Message {
  v1::UploadChunkRequest request;
  uint64_t tagged_as = 0;
};

class DataChannelTest : public HostileClientTest {
 protected:
  Session Open(const v1::ClientCredentials& credentials) {
    Session s;
    grpc::Status status =
        AgentStub(credentials)
            ->OpenDataSession(Context().get(), v1::OpenDataSessionRequest(), &s.opened);
    EXPECT_TRUE(status.ok()) << Describe(status);
    absl::StatusOr<DataKey> key = DataKey::FromBytes(s.opened.key());
    EXPECT_TRUE(key.ok()) << key.status();
    if (key.ok()) s.key = std::make_shared<const DataKey>(*std::move(key));
    return s;
  }

  std::unique_ptr<v1::AgentService::Stub> DataStub() {
    EXPECT_NE(server_->data_port(), 0);
    return v1::AgentService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->data_port()), grpc::InsecureChannelCredentials()));
  }

  // Chunk `n` of `job` (job_id on the first only), tagged for its place.
  static std::vector<Message> Chunks(absl::string_view job, std::vector<uint64_t> ns,
                                     uint32_t salt) {
    std::vector<Message> out;
    for (size_t i = 0; i < ns.size(); ++i) {
      Message m;
      if (i == 0) m.request.set_job_id(std::string(job));
      m.request.set_id(TestChunkId(ns[i], salt));
      m.request.set_size(2048);
      m.request.set_sealed(TestSealed(ns[i], 1000));
      m.tagged_as = i;
      out.push_back(std::move(m));
    }
    return out;
  }

  static void Tag(std::vector<Message>* messages, const DataKey& key, uint64_t call) {
    for (Message& m : *messages) {
      const v1::UploadChunkRequest& r = m.request;
      m.request.set_mac(UploadRequestMac(key, call, m.tagged_as, r.job_id(), r.id(), r.size(),
                                         r.base_id(), {r.sealed()}));
    }
  }

  // An UploadChunks call on the data port naming `session_hex` and `call`
  // (no metadata when `session_hex` is empty).
  grpc::Status Send(const std::string& session_hex, uint64_t call,
                    const std::vector<Message>& messages, v1::UploadChunksResponse* response) {
    auto context = Context();
    if (!session_hex.empty()) {
      context->AddMetadata(kDataSessionMetadata, session_hex);
      context->AddMetadata(kDataCallMetadata, absl::StrCat(call));
    }
    auto stub = DataStub();
    auto stream = stub->UploadChunks(context.get(), response);
    for (const Message& m : messages) {
      if (!stream->Write(m.request)) break;
    }
    stream->WritesDone();
    return stream->Finish();
  }
};

TEST_F(DataChannelTest, ASessionUploadsThroughTheDataPortAndItsAnswerAuthenticates) {
  Session s = Open(Agent("a1", "t1"));
  EXPECT_EQ(s.opened.address(), absl::StrCat(":", server_->data_port()));
  EXPECT_EQ(s.opened.session_id().size(), kDataSessionIdBytes);
  EXPECT_GT(s.opened.expires_unix_ms(), 0);
  const std::string job = Begin("a1", "t1");
  std::vector<Message> messages = Chunks(job, {40, 41, 42}, 9);
  Tag(&messages, *s.key, 1);
  v1::UploadChunksResponse response;
  grpc::Status status = Send(s.hex(), 1, messages, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 3u);
  EXPECT_TRUE(DataMacMatches(response.mac(),
                             UploadResponseMac(*s.key, 1, 3, 3, 0, response.bytes_stored())));
  // The answer is bound to the number of messages the server took.
  EXPECT_FALSE(DataMacMatches(response.mac(),
                              UploadResponseMac(*s.key, 1, 2, 3, 0, response.bytes_stored())));
  EXPECT_TRUE(Missing(job, {TestChunkId(40, 9), TestChunkId(41, 9), TestChunkId(42, 9)}).empty());
  EXPECT_EQ(server_->core()->data_sessions().calls_admitted(), 1u);
}

TEST_F(DataChannelTest, CallsWithoutAValidSessionAreUnauthenticated) {
  Session s = Open(Agent("a1", "t1"));
  const std::string job = Begin("a1", "t1");
  const std::string before = Fingerprint();
  std::vector<Message> messages = Chunks(job, {50}, 9);
  Tag(&messages, *s.key, 1);
  v1::UploadChunksResponse response;
  grpc::Status none = Send("", 0, messages, &response);
  ExpectCode(none, grpc::StatusCode::UNAUTHENTICATED, "no session");
  EXPECT_THAT(none.error_message(), HasSubstr("OpenDataSession"));
  ExpectCode(Send(std::string(32, 'a'), 1, messages, &response), grpc::StatusCode::UNAUTHENTICATED,
             "unknown session");
  ExpectCode(Send(s.hex(), 0, messages, &response), grpc::StatusCode::UNAUTHENTICATED, "call 0");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(DataChannelTest, AnAlteredMessageIsRefusedAndItsChunkNotStored) {
  Session s = Open(Agent("a1", "t1"));
  const std::string job = Begin("a1", "t1");
  const std::string before = Fingerprint();
  std::vector<Message> messages = Chunks(job, {60}, 9);
  Tag(&messages, *s.key, 1);
  messages[0].request.mutable_sealed()->at(500) ^= 1;  // garbage under a valid id
  v1::UploadChunksResponse response;
  grpc::Status status = Send(s.hex(), 1, messages, &response);
  ExpectCode(status, grpc::StatusCode::UNAUTHENTICATED, "altered payload");
  EXPECT_THAT(status.error_message(), HasSubstr("does not match"));
  // Another field, and a message without a tag.
  messages = Chunks(job, {60}, 9);
  Tag(&messages, *s.key, 2);
  messages[0].request.set_size(4096);
  ExpectCode(Send(s.hex(), 2, messages, &response), grpc::StatusCode::UNAUTHENTICATED,
             "altered size");
  messages = Chunks(job, {60}, 9);
  ExpectCode(Send(s.hex(), 3, messages, &response), grpc::StatusCode::UNAUTHENTICATED, "no tag");
  EXPECT_EQ(Fingerprint(), before);
  EXPECT_EQ(Missing(job, {TestChunkId(60, 9)}).size(), 1u);
}

// Messages after the first are checked in the pass that stores them: an
// altered one, or an altered repeat of a chunk already in the open pack,
// still fails the call, and the pack the call was filling is not committed.
TEST_F(DataChannelTest, AnAlteredLaterMessageOrRepeatIsRefusedAndItsPackNotKept) {
  Session s = Open(Agent("a1", "t1"));
  const std::string job = Begin("a1", "t1");
  const std::string before = Fingerprint();
  std::vector<Message> messages = Chunks(job, {120, 121, 122}, 9);
  Tag(&messages, *s.key, 1);
  messages[2].request.mutable_sealed()->at(10) ^= 1;
  v1::UploadChunksResponse response;
  grpc::Status status = Send(s.hex(), 1, messages, &response);
  ExpectCode(status, grpc::StatusCode::UNAUTHENTICATED, "altered third message");
  EXPECT_THAT(status.error_message(), HasSubstr("message 2 of data call 1"));
  // The same chunk twice, the repeat altered.
  messages = Chunks(job, {123, 123}, 9);
  Tag(&messages, *s.key, 2);
  messages[1].request.mutable_sealed()->at(10) ^= 1;
  status = Send(s.hex(), 2, messages, &response);
  ExpectCode(status, grpc::StatusCode::UNAUTHENTICATED, "altered repeat");
  EXPECT_EQ(Fingerprint(), before);
  EXPECT_EQ(Missing(job, {TestChunkId(120, 9), TestChunkId(121, 9), TestChunkId(123, 9)}).size(),
            3u);
  // Unaltered, the same messages are stored.
  messages = Chunks(job, {120, 121, 122, 122}, 9);
  messages[3].tagged_as = 3;
  Tag(&messages, *s.key, 3);
  status = Send(s.hex(), 3, messages, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.chunks_stored(), 3u);
  EXPECT_TRUE(DataMacMatches(response.mac(),
                             UploadResponseMac(*s.key, 3, 4, 3, response.chunks_already_present(),
                                               response.bytes_stored())));
}

TEST_F(DataChannelTest, AReplayedCallIsRefused) {
  Session s = Open(Agent("a1", "t1"));
  const std::string job = Begin("a1", "t1");
  std::vector<Message> messages = Chunks(job, {70, 71}, 9);
  Tag(&messages, *s.key, 1);
  v1::UploadChunksResponse response;
  grpc::Status status = Send(s.hex(), 1, messages, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const std::string before = Fingerprint();
  grpc::Status replayed = Send(s.hex(), 1, messages, &response);
  ExpectCode(replayed, grpc::StatusCode::UNAUTHENTICATED, "replayed call");
  EXPECT_THAT(replayed.error_message(), HasSubstr("used before"));
  // Under a new call number the old tags do not check.
  ExpectCode(Send(s.hex(), 2, messages, &response), grpc::StatusCode::UNAUTHENTICATED,
             "moved to another call");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(DataChannelTest, AMessageOutOfItsPlaceIsRefused) {
  Session s = Open(Agent("a1", "t1"));
  const std::string job = Begin("a1", "t1");
  const std::string before = Fingerprint();
  std::vector<Message> messages = Chunks(job, {80, 81}, 9);
  Tag(&messages, *s.key, 1);
  // The second message first: its tag is for place 1, it arrives at 0.
  std::swap(messages[0], messages[1]);
  v1::UploadChunksResponse response;
  ExpectCode(Send(s.hex(), 1, messages, &response), grpc::StatusCode::UNAUTHENTICATED, "reordered");
  // The first message dropped: the second arrives at place 0.
  messages = Chunks(job, {80, 81}, 9);
  Tag(&messages, *s.key, 2);
  messages.erase(messages.begin());
  ExpectCode(Send(s.hex(), 2, messages, &response), grpc::StatusCode::UNAUTHENTICATED, "dropped");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(DataChannelTest, AnotherSessionsKeyIsRefused) {
  Session mine = Open(Agent("a1", "t1"));
  Session other = Open(Agent("a1", "t1"));
  ASSERT_NE(mine.hex(), other.hex());
  const std::string job = Begin("a1", "t1");
  const std::string before = Fingerprint();
  std::vector<Message> messages = Chunks(job, {90}, 9);
  Tag(&messages, *other.key, 1);
  v1::UploadChunksResponse response;
  ExpectCode(Send(mine.hex(), 1, messages, &response), grpc::StatusCode::UNAUTHENTICATED,
             "another session's key");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(DataChannelTest, ARevokedAgentsSessionIsRefusedAtItsNextCall) {
  Session s = Open(Agent("a2", "t1"));
  const std::string job = Begin("a2", "t1");
  v1::AgentAccessRequest revoke;
  revoke.set_agent("a2");
  v1::AgentAccessResponse revoked;
  grpc::Status status =
      AccessStub(admin_credentials_)->RevokeAgent(Context().get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const std::string before = Fingerprint();
  std::vector<Message> messages = Chunks(job, {100}, 9);
  Tag(&messages, *s.key, 1);
  v1::UploadChunksResponse response;
  grpc::Status refused = Send(s.hex(), 1, messages, &response);
  ExpectCode(refused, grpc::StatusCode::UNAUTHENTICATED, "revoked agent's session");
  EXPECT_THAT(refused.error_message(), HasSubstr("revoked"));
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(DataChannelTest, ASessionActsOnlyAsItsAgent) {
  Session s = Open(Agent("b1", "t2"));
  const std::string job = Begin("a1", "t1");  // another tenant's agent's job
  const std::string before = Fingerprint();
  std::vector<Message> messages = Chunks(job, {110}, 9);
  Tag(&messages, *s.key, 1);
  v1::UploadChunksResponse response;
  ExpectRefused(Send(s.hex(), 1, messages, &response), "another agent's job");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(DataChannelTest, AReadIsTaggedBothWaysAndAnAlteredRequestRefused) {
  Session s = Open(Agent("a1", "t1"));
  auto stub = DataStub();
  v1::ReadChunksRequest read;
  read.set_snapshot_id(first_.id());
  for (int i = 0; i < 3; ++i) read.add_ids(TestChunkId(i, 7));
  auto call = [&](uint64_t number, const v1::ReadChunksRequest& request,
                  std::vector<v1::ReadChunkResponse>* got) {
    auto context = Context();
    context->AddMetadata(kDataSessionMetadata, s.hex());
    context->AddMetadata(kDataCallMetadata, absl::StrCat(number));
    auto reader = stub->ReadChunks(context.get(), request);
    v1::ReadChunkResponse chunk;
    while (reader->Read(&chunk)) got->push_back(chunk);
    return reader->Finish();
  };
  v1::ReadChunksRequest tagged = read;
  tagged.set_mac(ReadRequestMac(*s.key, 1, read));
  std::vector<v1::ReadChunkResponse> got;
  grpc::Status status = call(1, tagged, &got);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(
        DataMacMatches(got[i].mac(), ReadResponseMac(*s.key, 1, i, got[i].id(), got[i].sealed())))
        << i;
    // Not valid at another place in the call.
    EXPECT_FALSE(DataMacMatches(got[i].mac(),
                                ReadResponseMac(*s.key, 1, i + 1, got[i].id(), got[i].sealed())));
  }
  // Another id under the tag, no tag, and the tagged request again.
  v1::ReadChunksRequest altered = tagged;
  altered.set_ids(2, TestChunkId(3, 7));
  altered.set_mac(ReadRequestMac(*s.key, 2, read));
  got.clear();
  ExpectCode(call(2, altered, &got), grpc::StatusCode::UNAUTHENTICATED, "altered request");
  ExpectCode(call(3, read, &got), grpc::StatusCode::UNAUTHENTICATED, "untagged request");
  ExpectCode(call(1, tagged, &got), grpc::StatusCode::UNAUTHENTICATED, "replayed read");
  EXPECT_TRUE(got.empty());
}

TEST_F(DataChannelTest, TheDataPortServesNothingButChunkStreams) {
  Session s = Open(Agent("a1", "t1"));
  auto stub = DataStub();
  auto context = [&] {
    auto c = Context();
    c->AddMetadata(kDataSessionMetadata, s.hex());
    c->AddMetadata(kDataCallMetadata, "7");
    return c;
  };
  v1::HelloResponse hello;
  v1::HelloRequest request;
  request.set_agent("a1");
  request.set_tenant("t1");
  ExpectCode(stub->Hello(context().get(), request, &hello), grpc::StatusCode::UNIMPLEMENTED,
             "Hello");
  v1::OpenDataSessionResponse opened;
  ExpectCode(stub->OpenDataSession(context().get(), v1::OpenDataSessionRequest(), &opened),
             grpc::StatusCode::UNIMPLEMENTED, "OpenDataSession");
  v1::GetTreeRequest tree;
  tree.set_snapshot_id(first_.id());
  v1::GetTreeResponse got;
  ExpectCode(stub->GetTree(context().get(), tree, &got), grpc::StatusCode::UNIMPLEMENTED,
             "GetTree");
  auto admin = v1::AdminService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->data_port()), grpc::InsecureChannelCredentials()));
  v1::GetStatusResponse status;
  ExpectCode(admin->GetStatus(context().get(), v1::GetStatusRequest(), &status),
             grpc::StatusCode::UNIMPLEMENTED, "GetStatus");
}

TEST_F(DataChannelTest, OnlyAgentsOpenSessions) {
  v1::OpenDataSessionResponse opened;
  grpc::Status status =
      AgentStub(Role(v1::ROLE_ADMIN))
          ->OpenDataSession(Context().get(), v1::OpenDataSessionRequest(), &opened);
  ExpectRefused(status, "an admin opening a data session");
  status = AgentStub(AnonymousCredentials(*server_))
               ->OpenDataSession(Context().get(), v1::OpenDataSessionRequest(), &opened);
  ExpectCode(status, grpc::StatusCode::UNAUTHENTICATED, "anonymous");
  EXPECT_TRUE(opened.key().empty());
  EXPECT_EQ(server_->core()->data_sessions().size(), 0u);
}

}  // namespace
}  // namespace cairn

// The agent's side of the data channel, with someone in between: a gRPC
// service in front of the real server's data port that passes every data
// call on (the session and call metadata included) and alters one thing.
// An altered upload payload is refused by the server and the backup fails;
// a forged upload answer fails the backup on the agent; an altered chunk in
// a read fails the fetch as DATA_LOSS ("did not authenticate") and is not
// taken for a damaged chunk: the same chunks fetch fine afterwards on the
// direct path, so no damage report set them aside. A session the server
// forgot (it restarted) costs the next read one refused call, nothing more.
#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/chunk_fetcher.h"
#include "common/data_mac.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

enum class Tamper { kNothing, kUploadPayload, kUploadAnswer, kReadPayload };

// Passes data calls on to `real_port`, altering what `tamper` says.
class TamperingDataPort final : public v1::AgentService::Service {
 public:
  TamperingDataPort(int real_port, Tamper tamper)
      : tamper_(tamper),
        stub_(v1::AgentService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", real_port),
                                                            grpc::InsecureChannelCredentials()))) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~TamperingDataPort() override { server_->Shutdown(); }
  int port() const { return port_; }

  grpc::Status UploadChunks(grpc::ServerContext* context,
                            grpc::ServerReader<v1::UploadChunkRequest>* reader,
                            v1::UploadChunksResponse* response) override {
    grpc::ClientContext out;
    PassMetadata(*context, &out);
    auto writer = stub_->UploadChunks(&out, response);
    v1::UploadChunkRequest message;
    bool first = true;
    while (reader->Read(&message)) {
      if (first && tamper_ == Tamper::kUploadPayload) Flip(message.mutable_sealed());
      first = false;
      if (!writer->Write(message)) break;
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (status.ok() && tamper_ == Tamper::kUploadAnswer) {
      response->set_chunks_stored(response->chunks_stored() + 1);
    }
    return status;
  }

  grpc::Status ReadChunks(grpc::ServerContext* context, const v1::ReadChunksRequest* request,
                          grpc::ServerWriter<v1::ReadChunkResponse>* writer) override {
    grpc::ClientContext out;
    PassMetadata(*context, &out);
    auto reader = stub_->ReadChunks(&out, *request);
    v1::ReadChunkResponse chunk;
    bool first = true;
    while (reader->Read(&chunk)) {
      if (first && tamper_ == Tamper::kReadPayload) Flip(chunk.mutable_sealed());
      first = false;
      if (!writer->Write(chunk)) {
        out.TryCancel();
        break;
      }
    }
    return reader->Finish();
  }

 private:
  static void Flip(std::string* bytes) {
    if (!bytes->empty()) (*bytes)[bytes->size() / 2] ^= 0x01;
  }
  static void PassMetadata(const grpc::ServerContext& in, grpc::ClientContext* out) {
    for (const char* key : {kDataSessionMetadata, kDataCallMetadata}) {
      auto it = in.client_metadata().find(key);
      if (it != in.client_metadata().end()) {
        out->AddMetadata(key, std::string(it->second.data(), it->second.size()));
      }
    }
  }

  Tamper tamper_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

class DataPortTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(env_, AgentTestEnv::Start("data_port_tamper"));
    // Each small file a chunk of its own: these tests reach chunks by file.
    env_->SetBundleFileBytes(0);
    ASSERT_NE(env_->server()->data_port(), 0);
    src_ = env_->base() + "/src";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  }
  void TearDown() override {
    proxy_.reset();
    if (env_ == nullptr) return;
    std::string base = env_->base();
    env_.reset();
    if (!HasFailure()) RemoveTree(base);
  }

  // Sends the agent's data calls through a TamperingDataPort from now on.
  void Intercept(Tamper tamper) {
    proxy_ = std::make_unique<TamperingDataPort>(env_->server()->data_port(), tamper);
    ASSERT_NE(proxy_->port(), 0);
    env_->server()->core()->data_sessions().set_address(absl::StrCat(":", proxy_->port()));
    env_->connection()->ForgetDataSession();
  }
  void Direct() {
    env_->server()->core()->data_sessions().set_address(
        absl::StrCat(":", env_->server()->data_port()));
    env_->connection()->ForgetDataSession();
  }

  // Backs up files f0..f<n-1> (one chunk each); the snapshot and chunk ids.
  absl::StatusOr<BackupResult> BackUp(int n, uint64_t seed) {
    for (int i = 0; i < n; ++i) {
      RETURN_IF_ERROR(
          WriteFile(absl::StrCat(src_, "/f", i), RandomBytes(50000 + 1000 * i, seed + i)));
    }
    return env_->Backup(src_, v1::BACKUP_LEVEL_FULL);
  }
  std::vector<std::string> ChunkIds(const BackupResult& backup) {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<v1::TreeEntry>> root =
        env_->ReadDirectory(backup.snapshot.root_tree_id());
    EXPECT_TRUE(root.ok()) << root.status();
    if (!root.ok()) return ids;
    for (const v1::TreeEntry& e : *root) {
      for (const v1::ChunkRef& c : e.chunks()) ids.push_back(c.id());
    }
    return ids;
  }
  // Fetches `ids` of `snapshot`; the fetch's status, and how many chunks
  // opened.
  absl::Status Fetch(const std::string& snapshot, const std::vector<std::string>& ids,
                     int* opened) {
    absl::Mutex mu;
    int ok = 0;
    ChunkFetcher fetcher(env_->connection(), env_->agent().crypto.get(), snapshot, 2,
                         [&](const std::string&, const absl::Status& status, absl::string_view) {
                           absl::MutexLock lock(&mu);
                           if (status.ok()) ++ok;
                         });
    absl::Status status = fetcher.Fetch(ids);
    absl::MutexLock lock(&mu);
    *opened = ok;
    return status;
  }

  std::unique_ptr<AgentTestEnv> env_;
  std::unique_ptr<TamperingDataPort> proxy_;
  std::string src_;
};

TEST_F(DataPortTamperTest, APassingProxyChangesNothing) {
  Intercept(Tamper::kNothing);
  ASSERT_OK_AND_ASSIGN(BackupResult backup, BackUp(4, 1));
  const std::vector<std::string> ids = ChunkIds(backup);
  ASSERT_EQ(ids.size(), 4u);
  int opened = 0;
  ASSERT_OK(Fetch(backup.snapshot.id(), ids, &opened));
  EXPECT_EQ(opened, 4);
  EXPECT_GE(env_->server()->core()->data_sessions().calls_admitted(), 2u);
}

TEST_F(DataPortTamperTest, AnAlteredUploadIsRefusedAndTheBackupFails) {
  Intercept(Tamper::kUploadPayload);
  absl::StatusOr<BackupResult> backup = BackUp(3, 10);
  ASSERT_FALSE(backup.ok());
  EXPECT_THAT(backup.status().message(), HasSubstr("tag does not match"));
  // Direct again, backups work. (Other files: the failed backup's claims on
  // its chunks would hold the same ones back until they lapse.)
  Direct();
  ASSERT_OK_AND_ASSIGN(BackupResult again, BackUp(3, 100));
  int opened = 0;
  ASSERT_OK(Fetch(again.snapshot.id(), ChunkIds(again), &opened));
  EXPECT_EQ(opened, 3);
}

TEST_F(DataPortTamperTest, AForgedUploadAnswerFailsTheBackup) {
  Intercept(Tamper::kUploadAnswer);
  absl::StatusOr<BackupResult> backup = BackUp(2, 20);
  ASSERT_FALSE(backup.ok());
  EXPECT_TRUE(absl::IsDataLoss(backup.status())) << backup.status();
  EXPECT_THAT(backup.status().message(), HasSubstr("did not authenticate"));
}

TEST_F(DataPortTamperTest, AnAlteredReadIsDataLossNotADamagedChunk) {
  ASSERT_OK_AND_ASSIGN(BackupResult backup, BackUp(4, 30));
  const std::vector<std::string> ids = ChunkIds(backup);
  ASSERT_EQ(ids.size(), 4u);
  Intercept(Tamper::kReadPayload);
  int opened = 0;
  absl::Status fetched = Fetch(backup.snapshot.id(), ids, &opened);
  EXPECT_TRUE(absl::IsDataLoss(fetched)) << fetched;
  EXPECT_THAT(fetched.message(), HasSubstr("did not authenticate"));
  EXPECT_EQ(opened, 0);
  Direct();
  ASSERT_OK(Fetch(backup.snapshot.id(), ids, &opened));
  EXPECT_EQ(opened, 4);
}

// What a restarted server does to the session an agent holds: it no longer
// knows it. Here the server forgets it by evicting it (more sessions of the
// agent than kMaxPerPrincipal); the read is refused once before it sends
// anything, and tried again on a new session.
TEST_F(DataPortTamperTest, AReadOnASessionTheServerForgotOpensANewOne) {
  ASSERT_OK_AND_ASSIGN(BackupResult backup, BackUp(2, 40));
  const std::vector<std::string> ids = ChunkIds(backup);
  int opened = 0;
  ASSERT_OK(Fetch(backup.snapshot.id(), ids, &opened));
  Caller me = Caller::Agent(AgentTestEnv::kAgentName, AgentTestEnv::kTenant);
  me.serial = "local";  // live without a certificate record
  for (size_t i = 0; i < DataSessions::kMaxPerPrincipal; ++i) {
    ASSERT_OK(env_->server()->core()->data_sessions().Open(me).status());
  }
  const uint64_t admitted = env_->server()->core()->data_sessions().calls_admitted();
  opened = 0;
  ASSERT_OK(Fetch(backup.snapshot.id(), ids, &opened));
  EXPECT_EQ(opened, 2);
  EXPECT_EQ(env_->server()->core()->data_sessions().calls_admitted(), admitted + 1);
}

}  // namespace
}  // namespace cairn

#include "tests/server/rpc/hostile_client_test_util.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/x509.h"
#include "tests/server/server_test_util.h"
#include "tests/server/tls_test_util.h"

namespace cairn {
namespace {

// The tables whose rows a refused call must not change (all but audit and meta).
constexpr const char* kTables[] = {"tenants",      "agents",     "packs",     "chunks",
                                   "trees",        "jobs",       "snapshots", "policies",
                                   "certificates", "join_tokens"};

void DumpTable(sqlite3* db, const char* table, std::string* out) {
  absl::StrAppend(out, "== ", table, "\n");
  sqlite3_stmt* stmt = nullptr;
  const std::string sql = absl::StrCat("SELECT * FROM ", table, " ORDER BY 1, 2");
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    absl::StrAppend(out, "cannot read: ", sqlite3_errmsg(db), "\n");
    return;
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const void* blob = sqlite3_column_blob(stmt, i);
      const int size = sqlite3_column_bytes(stmt, i);
      absl::StrAppend(out, i == 0 ? "" : "|",
                      blob == nullptr ? "NULL"
                                      : absl::BytesToHexString(absl::string_view(
                                            static_cast<const char*>(blob), size)));
    }
    absl::StrAppend(out, "\n");
  }
  sqlite3_finalize(stmt);
}

}  // namespace

std::string CatalogFingerprint(const std::string& state_dir) {
  std::string out;
  sqlite3* db = nullptr;
  const std::string path = state_dir + "/catalog.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    out = absl::StrCat("cannot open ", path, ": ", sqlite3_errmsg(db));
  } else {
    sqlite3_busy_timeout(db, 10000);
    for (const char* table : kTables) DumpTable(db, table, &out);
  }
  sqlite3_close(db);
  std::vector<std::string> packs;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(state_dir + "/packs", error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    // Packs only: catalog bundles are written beside them by a background
    // thread whenever the server thinks fit, and change no data.
    if (!it->is_regular_file() || it->path().filename().string().rfind("pack-", 0) != 0) {
      continue;
    }
    packs.push_back(absl::StrCat(it->path().string(), " ", it->file_size()));
  }
  if (error) ADD_FAILURE() << "cannot list the pack files: " << error.message();
  std::sort(packs.begin(), packs.end());
  absl::StrAppend(&out, "== pack files\n");
  for (const std::string& p : packs) absl::StrAppend(&out, p, "\n");
  return out;
}

v1::ClientCredentials ForeignCredentials(CairnServer& server, const std::string& name,
                                         const std::string& tenant) {
  v1::ClientCredentials c;
  absl::StatusOr<std::string> ca_key = GeneratePrivateKeyPem();
  EXPECT_TRUE(ca_key.ok()) << ca_key.status();
  absl::StatusOr<std::string> ca = SelfSignedCaPem(*ca_key, "cairn CA", absl::Hours(24));
  EXPECT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<std::string> key = GeneratePrivateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> csr = MakeCsrPem(*key);
  EXPECT_TRUE(csr.ok()) << csr.status();
  // What this server's CA would have written for the agent, but signed by another.
  absl::StatusOr<std::string> cert =
      SignCsr(*ca, *ca_key, *csr,
              CertificateRequest{.common_name = name, .unit = absl::StrCat("agent of ", tenant)});
  EXPECT_TRUE(cert.ok()) << cert.status();
  if (!cert.ok()) return c;
  // The server's own CA to check the server with: only the client side is foreign.
  c = AnonymousCredentials(server);
  c.set_cert_pem(*cert);
  c.set_key_pem(*key);
  c.set_name(name);
  c.set_tenant(tenant);
  return c;
}

std::unique_ptr<v1::AgentService::Stub> HostileClientTest::AgentStub(
    const v1::ClientCredentials& credentials) {
  return v1::AgentService::NewStub(TestChannel(*server_, credentials));
}

std::unique_ptr<v1::AdminService::Stub> HostileClientTest::AdminStub(
    const v1::ClientCredentials& credentials) {
  return v1::AdminService::NewStub(TestChannel(*server_, credentials));
}

std::unique_ptr<v1::AccessService::Stub> HostileClientTest::AccessStub(
    const v1::ClientCredentials& credentials) {
  return v1::AccessService::NewStub(TestChannel(*server_, credentials));
}

v1::ClientCredentials HostileClientTest::Role(v1::Role role) {
  absl::StatusOr<v1::ClientCredentials> c = AdminCredentials(*server_, role);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : v1::ClientCredentials();
}

const v1::ClientCredentials& HostileClientTest::Agent(absl::string_view agent,
                                                      absl::string_view tenant) {
  UseAgent(agent, tenant);
  return enrolled_[std::string(agent)];
}

v1::Snapshot HostileClientTest::OneFileSnapshot(absl::string_view agent, absl::string_view tenant,
                                                uint32_t salt) {
  std::string job = Begin(agent, tenant, v1::BACKUP_LEVEL_FULL);
  v1::UploadChunksResponse uploaded;
  grpc::Status status = Upload(job, {TestChunkId(0, salt)}, &uploaded);
  EXPECT_TRUE(status.ok()) << Describe(status);
  const std::string root = TreeBytes({FileEntry("f", {TestChunkId(0, salt)}, 2048)});
  status = PutTrees(job, {root});
  EXPECT_TRUE(status.ok()) << Describe(status);
  return Commit(job, Sha256Of(root));
}

grpc::Status HostileClientTest::ReadChunks(v1::AgentService::Stub* stub,
                                           const v1::ReadChunksRequest& request, int* chunks) {
  auto context = Context();
  auto reader = stub->ReadChunks(context.get(), request);
  v1::ReadChunkResponse chunk;
  int n = 0;
  while (reader->Read(&chunk)) ++n;
  if (chunks != nullptr) *chunks = n;
  return reader->Finish();
}

grpc::Status HostileClientTest::UploadOne(v1::AgentService::Stub* stub, absl::string_view job,
                                          uint32_t salt) {
  auto context = Context();
  v1::UploadChunksResponse response;
  auto stream = stub->UploadChunks(context.get(), &response);
  v1::UploadChunkRequest chunk;
  chunk.set_job_id(std::string(job));
  chunk.set_id(TestChunkId(1, salt));
  chunk.set_size(2048);
  chunk.set_sealed(TestSealed(1, 1000));
  stream->Write(chunk);
  stream->WritesDone();
  return stream->Finish();
}

void ExpectCode(const grpc::Status& status, grpc::StatusCode code, absl::string_view what) {
  EXPECT_EQ(status.error_code(), code) << what << ": " << Describe(status);
}

void ExpectRefused(const grpc::Status& status, absl::string_view what) {
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
              status.error_code() == grpc::StatusCode::PERMISSION_DENIED)
      << what << " was not refused: " << Describe(status);
}

}  // namespace cairn

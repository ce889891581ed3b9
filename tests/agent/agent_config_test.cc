// ResolveAgentConfig fills every default and refuses bad values with an
// error naming the key; CreateKeyFile makes a private key file (and its
// directory) and refuses to replace one; LoadAgentCrypto reads it, and a
// missing file, a passphrase-protected one without CAIRN_PASSPHRASE, or a
// wrong passphrase fail with messages that say what to do.
#include "agent/agent_config.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/secret_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// Sets CAIRN_PASSPHRASE (or unsets it) for one scope.
class PassphraseEnv {
 public:
  explicit PassphraseEnv(const char* value) {
    if (const char* old = std::getenv(kName); old != nullptr) old_ = old;
    if (value == nullptr) {
      ::unsetenv(kName);
    } else {
      ::setenv(kName, value, 1);
    }
  }
  ~PassphraseEnv() {
    if (old_.has_value()) {
      ::setenv(kName, old_->c_str(), 1);
    } else {
      ::unsetenv(kName);
    }
  }

 private:
  static constexpr char kName[] = "CAIRN_PASSPHRASE";
  std::optional<std::string> old_;
};

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(ResolveAgentConfigTest, FillsEveryDefault) {
  ASSERT_OK_AND_ASSIGN(v1::AgentConfig config, ResolveAgentConfig(v1::AgentConfig()));
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(config.server(), "127.0.0.1:7420");
  EXPECT_EQ(config.name(), host[0] != '\0' ? std::string(host) : "agent");
  EXPECT_EQ(config.tenant(), "default");
  EXPECT_EQ(config.state_dir(), "./cairn-state/agent");
  EXPECT_EQ(config.key_file(), "./cairn-state/agent/tenant.key");
  EXPECT_EQ(config.codec(), "auto");
  EXPECT_EQ(config.workers(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_FALSE(config.has_chunker());
}

TEST(ResolveAgentConfigTest, KeepsWhatIsSet) {
  v1::AgentConfig raw;
  raw.set_server("backup:1");
  raw.set_name("gpu-1");
  raw.set_tenant("lab");
  raw.set_state_dir("/var/lib/cairn");
  raw.set_codec("zstd:7");
  raw.set_workers(3);
  raw.add_roots("/data");
  raw.mutable_chunker()->set_min_bytes(1024);
  raw.mutable_chunker()->set_avg_bytes(4096);
  raw.mutable_chunker()->set_max_bytes(16384);
  ASSERT_OK_AND_ASSIGN(v1::AgentConfig config, ResolveAgentConfig(raw));
  EXPECT_EQ(config.server(), "backup:1");
  EXPECT_EQ(config.name(), "gpu-1");
  EXPECT_EQ(config.tenant(), "lab");
  EXPECT_EQ(config.key_file(), "/var/lib/cairn/tenant.key") << "follows the state dir";
  EXPECT_EQ(config.codec(), "zstd:7");
  EXPECT_EQ(config.workers(), 3u);
  raw.set_key_file("/etc/cairn/lab.key");
  ASSERT_OK_AND_ASSIGN(config, ResolveAgentConfig(raw));
  EXPECT_EQ(config.key_file(), "/etc/cairn/lab.key");
}

TEST(ResolveAgentConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* key;
    void (*set)(v1::AgentConfig*);
  };
  const Case cases[] = {
      {"name", [](v1::AgentConfig* c) { c->set_name("bad name"); }},
      {"name", [](v1::AgentConfig* c) { c->set_name(std::string(65, 'n')); }},
      {"tenant", [](v1::AgentConfig* c) { c->set_tenant("a/b"); }},
      {"codec", [](v1::AgentConfig* c) { c->set_codec("brotli"); }},
      {"workers", [](v1::AgentConfig* c) { c->set_workers(257); }},
      {"roots", [](v1::AgentConfig* c) { c->add_roots("relative/dir"); }},
      {"roots", [](v1::AgentConfig* c) { c->add_roots(""); }},
      {"chunker", [](v1::AgentConfig* c) { c->mutable_chunker()->set_min_bytes(8); }},
  };
  for (const Case& c : cases) {
    v1::AgentConfig raw;
    raw.set_name("ok");
    c.set(&raw);
    absl::StatusOr<v1::AgentConfig> resolved = ResolveAgentConfig(raw);
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument)
        << c.key << ": " << resolved.status();
    EXPECT_THAT(Message(resolved.status()), HasSubstr(c.key));
  }
  v1::AgentConfig most;
  most.set_name("ok");
  most.set_workers(256);
  EXPECT_OK(ResolveAgentConfig(most).status());  // 256 workers is the most, not too many
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTestDir("key_file"); }
  void TearDown() override {
    if (!HasFailure()) RemoveTree(dir_);
  }
  v1::AgentConfig ConfigFor(const std::string& key_file) {
    v1::AgentConfig config;
    config.set_name("gpu-1");
    config.set_key_file(key_file);
    absl::StatusOr<v1::AgentConfig> resolved = ResolveAgentConfig(config);
    EXPECT_TRUE(resolved.ok()) << resolved.status();
    return resolved.ok() ? *resolved : config;
  }
  // A key file under `passphrase` at the cheapest Argon2id cost.
  absl::Status WriteProtected(const std::string& path, absl::string_view passphrase) {
    return WriteKeyFile(path, SecretKey::Random(), passphrase,
                        PassphraseCost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN});
  }

  std::string dir_;
};

TEST_F(KeyFileTest, CreateMakesAPrivateFileAndRefusesToReplaceIt) {
  PassphraseEnv no_passphrase(nullptr);
  const std::string path = dir_ + "/new/sub/tenant.key";
  ASSERT_OK(CreateKeyFile(path, ""));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/new/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the key's directory is private too";
  ASSERT_OK_AND_ASSIGN(std::string before, ReadFile(path));

  absl::Status again = CreateKeyFile(path, "");
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_THAT(Message(again), HasSubstr(path));
  EXPECT_THAT(Message(again), HasSubstr("refusing to replace"));
  ASSERT_OK_AND_ASSIGN(std::string after, ReadFile(path));
  EXPECT_TRUE(before == after) << "the key was rewritten";
  // Not even with a passphrase.
  EXPECT_EQ(CreateKeyFile(path, "secret").code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(KeyFileTest, LoadGivesTheSameCryptoForTheSameKeyOnly) {
  PassphraseEnv no_passphrase(nullptr);
  ASSERT_OK(CreateKeyFile(dir_ + "/a.key", ""));
  ASSERT_OK(CreateKeyFile(dir_ + "/b.key", ""));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> a1,
                       LoadAgentCrypto(ConfigFor(dir_ + "/a.key")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> a2,
                       LoadAgentCrypto(ConfigFor(dir_ + "/a.key")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> b, LoadAgentCrypto(ConfigFor(dir_ + "/b.key")));
  const std::string data = "the same bytes on every node";
  EXPECT_EQ(a1->hasher.Hash(data), a2->hasher.Hash(data)) << "one tenant key: one chunk id";
  EXPECT_NE(a1->hasher.Hash(data), b->hasher.Hash(data)) << "another key: another id";
  EXPECT_TRUE(a1->codec.automatic);
  EXPECT_EQ(a1->chunker.avg_size, ChunkerParams::Default().avg_size);

  v1::AgentConfig tuned = ConfigFor(dir_ + "/a.key");
  tuned.mutable_chunker()->set_min_bytes(1024);
  tuned.mutable_chunker()->set_avg_bytes(4096);
  tuned.mutable_chunker()->set_max_bytes(16384);
  tuned.set_codec("lz4");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AgentCrypto> small, LoadAgentCrypto(tuned));
  EXPECT_EQ(small->chunker.avg_size, 4096u);
  EXPECT_FALSE(small->codec.automatic);
}

TEST_F(KeyFileTest, AMissingKeyFileSaysHowToMakeOne) {
  PassphraseEnv no_passphrase(nullptr);
  const std::string path = dir_ + "/absent.key";
  absl::StatusOr<std::unique_ptr<AgentCrypto>> crypto = LoadAgentCrypto(ConfigFor(path));
  EXPECT_EQ(crypto.status().code(), absl::StatusCode::kNotFound) << crypto.status();
  EXPECT_THAT(Message(crypto.status()), HasSubstr(path));
  EXPECT_THAT(Message(crypto.status()), HasSubstr("cairn-agent init"));
}

TEST_F(KeyFileTest, APassphraseProtectedKeyNeedsTheRightPassphrase) {
  const std::string path = dir_ + "/protected.key";
  ASSERT_OK(WriteProtected(path, "right horse battery"));
  {
    PassphraseEnv none(nullptr);
    absl::StatusOr<std::unique_ptr<AgentCrypto>> crypto = LoadAgentCrypto(ConfigFor(path));
    EXPECT_EQ(crypto.status().code(), absl::StatusCode::kFailedPrecondition) << crypto.status();
    EXPECT_THAT(Message(crypto.status()), HasSubstr(path));
    EXPECT_THAT(Message(crypto.status()), HasSubstr("CAIRN_PASSPHRASE"));
  }
  {
    PassphraseEnv wrong("wrong horse battery");
    absl::StatusOr<std::unique_ptr<AgentCrypto>> crypto = LoadAgentCrypto(ConfigFor(path));
    EXPECT_EQ(crypto.status().code(), absl::StatusCode::kPermissionDenied) << crypto.status();
    EXPECT_THAT(Message(crypto.status()), HasSubstr(path));
    EXPECT_THAT(Message(crypto.status()), HasSubstr("wrong passphrase"));
  }
  {
    PassphraseEnv right("right horse battery");
    EXPECT_OK(LoadAgentCrypto(ConfigFor(path)).status());
  }
}

TEST_F(KeyFileTest, ADamagedKeyFileIsDataLoss) {
  PassphraseEnv no_passphrase(nullptr);
  const std::string path = dir_ + "/damaged.key";
  ASSERT_OK(CreateKeyFile(path, ""));
  ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFile(path));
  bytes[bytes.size() / 2] ^= 0x01;
  ASSERT_OK(WriteFile(path, bytes, 0600));
  absl::StatusOr<std::unique_ptr<AgentCrypto>> crypto = LoadAgentCrypto(ConfigFor(path));
  EXPECT_EQ(crypto.status().code(), absl::StatusCode::kDataLoss) << crypto.status();
  EXPECT_THAT(Message(crypto.status()), HasSubstr(path));
}

}  // namespace
}  // namespace cairn

#include "common/keys.h"

#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// Cheapest Argon2id the reader accepts, so tests that only care about the
// file format do not spend a second per key file.
constexpr PassphraseCost kFastCost{1, 8192};

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = NewTempDir(absl::StrCat("keys_", info->name()));
    path_ = dir_ + "/master.key";
  }

  std::string ReadRaw() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void WriteRaw(const std::string& bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  std::string dir_;
  std::string path_;
};

// Recomputes the trailing BLAKE2b-128 checksum, to craft files that pass it.
std::string WithChecksum(std::string file) {
  size_t covered = file.size() - 16;
  crypto_generichash(reinterpret_cast<uint8_t*>(&file[covered]), 16,
                     reinterpret_cast<const uint8_t*>(file.data()), covered, nullptr, 0);
  return file;
}

TEST(TenantKeysTest, DeterministicDistinctSubkeys) {
  SecretKey master = SecretKey::Random();
  TenantKeys a = DeriveTenantKeys(master);
  TenantKeys b = DeriveTenantKeys(master);
  EXPECT_TRUE(a.id_key.Equals(b.id_key));
  EXPECT_TRUE(a.seal_key.Equals(b.seal_key));
  EXPECT_FALSE(a.id_key.Equals(a.seal_key));
  EXPECT_FALSE(a.id_key.Equals(master));
  EXPECT_FALSE(a.seal_key.Equals(master));

  TenantKeys other = DeriveTenantKeys(SecretKey::Random());
  EXPECT_FALSE(other.id_key.Equals(a.id_key));
  EXPECT_FALSE(other.seal_key.Equals(a.seal_key));
}

TEST(TenantKeysTest, KnownAnswer) {
  // Pins the derivation: changing it would orphan every stored chunk.
  SecretKey master = *SecretKey::FromBytes(std::string(32, '\x42'));
  TenantKeys keys = DeriveTenantKeys(master);
  auto hex = [](const SecretKey& k) {
    static const char kDigits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < SecretKey::kSize; ++i) {
      out += kDigits[k.data()[i] >> 4];
      out += kDigits[k.data()[i] & 15];
    }
    return out;
  };
  EXPECT_EQ(hex(keys.id_key), "d694d4038d848bc51d93ffcdef19594bcf155f93b5ec5b1e67f89068d2a2f5d4");
  EXPECT_EQ(hex(keys.seal_key), "81f702ba952f322145f1e64b6ef535773b2200ce8c0d8629621dc27d6fb4fa57");
}

TEST(TenantKeysTest, MetaKeyAndKeyCheckKnownAnswer) {
  // Pins the derivation: changing it would break every manifest MAC and make
  // the server refuse the tenant's own key. Computed with Python's
  // hashlib.blake2b (salt = subkey id, person = "cairn-tk"), not libsodium.
  SecretKey master = *SecretKey::FromBytes(std::string(32, '\x42'));
  TenantKeys keys = DeriveTenantKeys(master);
  std::string meta(reinterpret_cast<const char*>(keys.meta_key.data()), SecretKey::kSize);
  EXPECT_EQ(absl::BytesToHexString(meta),
            "c9df28dc55215b1c36ae5fe3c71f584edb5eadcca7a6734350624c9dc9b4a7c0");
  EXPECT_EQ(absl::BytesToHexString(keys.key_check), "9ec7ac1337e31aad2fbcbd85acbdc0e0");
  EXPECT_EQ(KeyCheckText(keys.key_check), "9ec7ac1337e31aad");
}

TEST(TenantKeysTest, MetaKeyIsDeterministicAndIndependent) {
  SecretKey master = SecretKey::Random();
  TenantKeys a = DeriveTenantKeys(master);
  TenantKeys b = DeriveTenantKeys(master);
  EXPECT_TRUE(a.meta_key.Equals(b.meta_key));
  EXPECT_FALSE(a.meta_key.Equals(a.id_key));
  EXPECT_FALSE(a.meta_key.Equals(a.seal_key));
  EXPECT_FALSE(a.meta_key.Equals(master));
  EXPECT_FALSE(DeriveTenantKeys(SecretKey::Random()).meta_key.Equals(a.meta_key));
}

TEST(TenantKeysTest, KeyCheckTellsKeysApartAndRevealsNoKey) {
  SecretKey master = SecretKey::Random();
  TenantKeys a = DeriveTenantKeys(master);
  ASSERT_EQ(a.key_check.size(), kKeyCheckBytes);
  EXPECT_EQ(DeriveTenantKeys(master.Clone()).key_check, a.key_check);
  EXPECT_NE(DeriveTenantKeys(SecretKey::Random()).key_check, a.key_check);
  // Not a piece of any key it stands for: neither a prefix nor anywhere inside.
  for (const SecretKey* key : {&master, &a.id_key, &a.seal_key, &a.meta_key}) {
    const std::string bytes(reinterpret_cast<const char*>(key->data()), SecretKey::kSize);
    EXPECT_EQ(bytes.find(a.key_check), std::string::npos);
  }
  EXPECT_THAT(KeyCheckText(a.key_check), ::testing::MatchesRegex("[0-9a-f]{16}"));
  EXPECT_EQ(KeyCheckText(std::string("\x00\x01\xab\xff\x10\x20\x30\x40\x99", 9)),
            "0001abff10203040");
  EXPECT_EQ(KeyCheckText(""), "");
}

TEST_F(KeysTest, UnwrappedRoundTrip) {
  SecretKey master = SecretKey::Random();
  ASSERT_TRUE(WriteKeyFile(path_, master, "").ok());
  absl::StatusOr<SecretKey> read = ReadKeyFile(path_, "");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->Equals(master));
  // A passphrase offered for an unwrapped file is ignored.
  read = ReadKeyFile(path_, "unused");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->Equals(master));
}

TEST_F(KeysTest, WrappedRoundTripWithDefaultCost) {
  SecretKey master = SecretKey::Random();
  ASSERT_TRUE(WriteKeyFile(path_, master, "correct horse").ok());
  std::string raw = ReadRaw();
  EXPECT_EQ(raw.find(std::string(reinterpret_cast<const char*>(master.data()), 32)),
            std::string::npos);
  absl::StatusOr<SecretKey> read = ReadKeyFile(path_, "correct horse");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->Equals(master));
}

TEST_F(KeysTest, WrongPassphrase) {
  ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), "right", kFastCost).ok());
  absl::StatusOr<SecretKey> read = ReadKeyFile(path_, "wrong");
  EXPECT_TRUE(absl::IsPermissionDenied(read.status())) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("wrong passphrase"));
}

TEST_F(KeysTest, MissingPassphrase) {
  ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), "secret", kFastCost).ok());
  absl::StatusOr<SecretKey> read = ReadKeyFile(path_, "");
  EXPECT_TRUE(absl::IsFailedPrecondition(read.status())) << read.status();
}

TEST_F(KeysTest, MissingFile) {
  absl::StatusOr<SecretKey> read = ReadKeyFile(dir_ + "/nope.key", "");
  EXPECT_TRUE(absl::IsNotFound(read.status())) << read.status();
}

TEST_F(KeysTest, ModeIs0600EvenOverAWiderFile) {
  WriteRaw("old");
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), "").ok());
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), "p", kFastCost).ok());
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(KeysTest, OverwriteReplacesAndLeavesNoTempFiles) {
  SecretKey first = SecretKey::Random();
  SecretKey second = SecretKey::Random();
  ASSERT_TRUE(WriteKeyFile(path_, first, "").ok());
  ASSERT_TRUE(WriteKeyFile(path_, second, "").ok());
  EXPECT_TRUE(ReadKeyFile(path_, "")->Equals(second));
  // Nothing else in the directory: no leftover temp file.
  std::vector<std::string> names;
  DIR* d = opendir(dir_.c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  EXPECT_EQ(names, std::vector<std::string>{"master.key"});
}

TEST_F(KeysTest, EveryTruncationIsDataLoss) {
  for (const char* passphrase : {"", "pw"}) {
    ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), passphrase, kFastCost).ok());
    std::string full = ReadRaw();
    for (size_t len = 0; len < full.size(); ++len) {
      WriteRaw(full.substr(0, len));
      absl::StatusOr<SecretKey> read = ReadKeyFile(path_, passphrase);
      ASSERT_TRUE(absl::IsDataLoss(read.status()))
          << "'" << passphrase << "' len " << len << ": " << read.status();
    }
    WriteRaw(full + "x");
    EXPECT_TRUE(absl::IsDataLoss(ReadKeyFile(path_, passphrase).status()));
  }
}

TEST_F(KeysTest, EveryBitFlipIsDataLoss) {
  // Damage must read as damage, never as a wrong passphrase or a different key.
  for (const char* passphrase : {"", "pw"}) {
    ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), passphrase, kFastCost).ok());
    std::string full = ReadRaw();
    for (size_t bit = 0; bit < full.size() * 8; ++bit) {
      std::string bad = full;
      bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
      WriteRaw(bad);
      absl::StatusOr<SecretKey> read = ReadKeyFile(path_, passphrase);
      ASSERT_TRUE(absl::IsDataLoss(read.status()))
          << "'" << passphrase << "' bit " << bit << ": " << read.status();
    }
  }
}

TEST_F(KeysTest, GarbageAndForeignFilesAreDataLoss) {
  for (const std::string& junk :
       {std::string(), std::string("CAIRNKEY"), std::string(58, '\0'), std::string(130, 'A'),
        std::string(5000, 'x'), std::string("-----BEGIN PRIVATE KEY-----\n")}) {
    WriteRaw(junk);
    absl::StatusOr<SecretKey> read = ReadKeyFile(path_, "");
    EXPECT_TRUE(absl::IsDataLoss(read.status())) << junk.size() << ": " << read.status();
  }
}

TEST_F(KeysTest, UnknownVersionAndProtectionAreDataLoss) {
  ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), "").ok());
  std::string full = ReadRaw();
  std::string v2 = full;
  v2[8] = 2;
  WriteRaw(WithChecksum(v2));
  absl::StatusOr<SecretKey> read = ReadKeyFile(path_, "");
  EXPECT_TRUE(absl::IsDataLoss(read.status())) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("version"));
  std::string p7 = full;
  p7[9] = 7;
  WriteRaw(WithChecksum(p7));
  EXPECT_TRUE(absl::IsDataLoss(ReadKeyFile(path_, "").status()));
}

TEST_F(KeysTest, OverLargeCostInCraftedFileIsRefused) {
  ASSERT_TRUE(WriteKeyFile(path_, SecretKey::Random(), "pw", kFastCost).ok());
  std::string full = ReadRaw();
  auto set_u64 = [](std::string* s, size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
  };
  struct Case {
    uint64_t opslimit, memlimit;
  };
  for (Case c : {Case{1, uint64_t{4} << 30}, Case{1, ~uint64_t{0}}, Case{1000000, 8192},
                 Case{~uint64_t{0}, 8192}, Case{0, 8192}, Case{1, 0}}) {
    std::string crafted = full;
    set_u64(&crafted, 10, c.opslimit);
    set_u64(&crafted, 18, c.memlimit);
    WriteRaw(WithChecksum(crafted));
    // Refused from the header alone: no Argon2id run, so no 4 GiB allocation.
    absl::StatusOr<SecretKey> read = ReadKeyFile(path_, "pw");
    EXPECT_TRUE(absl::IsDataLoss(read.status()))
        << c.opslimit << "/" << c.memlimit << ": " << read.status();
    EXPECT_THAT(read.status().message(), HasSubstr("Argon2id"));
  }
}

TEST_F(KeysTest, WriteRefusesCostsTheReaderWouldRefuse) {
  for (PassphraseCost cost : {PassphraseCost{0, 8192}, PassphraseCost{17, 8192},
                              PassphraseCost{1, 1024}, PassphraseCost{1, uint64_t{2} << 30}}) {
    EXPECT_TRUE(absl::IsInvalidArgument(WriteKeyFile(path_, SecretKey::Random(), "pw", cost)));
  }
  struct stat st;
  EXPECT_NE(stat(path_.c_str(), &st), 0);
}

TEST_F(KeysTest, UnwritableDirectoryIsAnError) {
  absl::Status s = WriteKeyFile(dir_ + "/missing/dir/master.key", SecretKey::Random(), "");
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace cairn

#include "common/secret_key.h"

#include <cstring>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace cairn {
namespace {

absl::string_view View(const SecretKey& k) {
  return absl::string_view(reinterpret_cast<const char*>(k.data()), SecretKey::kSize);
}

TEST(SecretKeyTest, RandomKeysDiffer) {
  SecretKey a = SecretKey::Random();
  SecretKey b = SecretKey::Random();
  ASSERT_NE(a.data(), nullptr);
  EXPECT_NE(View(a), View(b));
  EXPECT_FALSE(a.Equals(b));
}

TEST(SecretKeyTest, FromBytesKeepsBytes) {
  std::string bytes(SecretKey::kSize, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 1);
  absl::StatusOr<SecretKey> key = SecretKey::FromBytes(bytes);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(View(*key), bytes);
}

TEST(SecretKeyTest, FromBytesRejectsWrongLengths) {
  for (size_t n : {size_t{0}, size_t{1}, SecretKey::kSize - 1, SecretKey::kSize + 1, size_t{64}}) {
    absl::StatusOr<SecretKey> key = SecretKey::FromBytes(std::string(n, 'k'));
    EXPECT_TRUE(absl::IsInvalidArgument(key.status())) << n << ": " << key.status();
  }
}

TEST(SecretKeyTest, MoveTransfersOwnership) {
  SecretKey a = SecretKey::Random();
  std::string before(View(a));
  SecretKey b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(View(b), before);
  SecretKey c = SecretKey::Random();
  c = std::move(b);
  EXPECT_EQ(b.data(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(View(c), before);
  EXPECT_FALSE(a.Equals(c));
}

TEST(SecretKeyTest, CloneIsEqualButIndependent) {
  SecretKey a = SecretKey::Random();
  SecretKey b = a.Clone();
  EXPECT_NE(a.data(), b.data());
  EXPECT_TRUE(a.Equals(b));
  EXPECT_EQ(View(a), View(b));
}

}  // namespace
}  // namespace cairn

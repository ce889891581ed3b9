// TreeId: the SHA-256 of a tree's serialized bytes, 32 raw bytes, matching
// the standard test vectors, so the agent and the server name every tree
// alike; any change to the bytes changes the id.
#include "common/tree_id.h"

#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "cairn/v1/types.pb.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

TEST(TreeIdTest, IsSha256OfTheBytes) {
  EXPECT_EQ(Hex(TreeId("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(TreeId("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(TreeId("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a's: more than any one buffer.
  EXPECT_EQ(Hex(TreeId(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(TreeIdTest, IsThirtyTwoRawBytesThatFollowEveryByte) {
  v1::Tree tree;
  v1::TreeEntry* e = tree.add_entries();
  e->set_name("f");
  e->set_type(v1::ENTRY_TYPE_FILE);
  e->set_size(10);
  const std::string bytes = tree.SerializeAsString();
  const std::string id = TreeId(bytes);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(TreeId(bytes), id) << "deterministic";
  // Embedded NULs count like any byte.
  EXPECT_NE(TreeId(std::string("a\0b", 3)), TreeId(std::string("a\0c", 3)));
  std::set<std::string> ids = {id};
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] ^= 0x01;
    EXPECT_TRUE(ids.insert(TreeId(flipped)).second) << "byte " << i;
  }
  EXPECT_TRUE(ids.insert(TreeId(bytes + std::string(1, '\0'))).second) << "a trailing byte";
}

}  // namespace
}  // namespace cairn

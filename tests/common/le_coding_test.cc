// Little-endian coding: the byte order is fixed (least significant first),
// Store/Append agree, Load undoes them for every bit pattern tried, and
// bytes above 0x7f load as unsigned.
#include "common/le_coding.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(LeCodingTest, TheByteOrderIsLeastSignificantFirst) {
  std::string out;
  AppendLe32(0x04030201u, &out);
  AppendLe64(0x0c0b0a0908070605ull, &out);
  EXPECT_EQ(out, std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12));
  char four[4];
  StoreLe32(0xdeadbeefu, four);
  EXPECT_EQ(std::string(four, 4), "\xef\xbe\xad\xde");
  char eight[8];
  StoreLe64(0x8000000000000001ull, eight);
  EXPECT_EQ(std::string(eight, 8), std::string("\x01\0\0\0\0\0\0\x80", 8));
}

TEST(LeCodingTest, LoadUndoesStoreForEdgesAndRandomValues) {
  std::mt19937_64 random(42);
  std::vector<uint64_t> values = {0,
                                  1,
                                  0x7f,
                                  0x80,
                                  0xff,
                                  0x100,
                                  0x7fffffff,
                                  0x80000000,
                                  0xffffffff,
                                  0x100000000ull,
                                  0x7fffffffffffffffull,
                                  0x8000000000000000ull,
                                  UINT64_MAX};
  for (int i = 0; i < 1000; ++i) values.push_back(random());
  for (uint64_t v : values) {
    std::string out;
    AppendLe64(v, &out);
    ASSERT_EQ(out.size(), 8u);
    EXPECT_EQ(LoadLe64(out.data()), v);
    const uint32_t low = static_cast<uint32_t>(v);
    out.clear();
    AppendLe32(low, &out);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(LoadLe32(out.data()), low);
    char stored[8];
    StoreLe64(v, stored);
    EXPECT_EQ(LoadLe64(stored), v);
    StoreLe32(low, stored);
    EXPECT_EQ(LoadLe32(stored), low);
  }
}

TEST(LeCodingTest, HighBytesLoadAsUnsigned) {
  const char all_ff[8] = {'\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff'};
  EXPECT_EQ(LoadLe32(all_ff), 0xffffffffu);
  EXPECT_EQ(LoadLe64(all_ff), UINT64_MAX);
  const char mixed[8] = {'\x80', '\x00', '\xff', '\x01', '\x00', '\x00', '\x00', '\x00'};
  EXPECT_EQ(LoadLe32(mixed), 0x01ff0080u);
  EXPECT_EQ(LoadLe64(mixed), 0x01ff0080ull);
}

TEST(LeCodingTest, AppendKeepsWhatWasThere) {
  std::string out = "head";
  AppendLe32(7, &out);
  AppendLe64(9, &out);
  ASSERT_EQ(out.size(), 4u + 4u + 8u);
  EXPECT_EQ(out.substr(0, 4), "head");
  EXPECT_EQ(LoadLe32(out.data() + 4), 7u);
  EXPECT_EQ(LoadLe64(out.data() + 8), 9u);
}

}  // namespace
}  // namespace cairn

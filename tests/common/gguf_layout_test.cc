#include "common/gguf_layout.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/le_coding.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

void Str(absl::string_view s, std::string* out) {
  AppendLe64(s.size(), out);
  out->append(s.data(), s.size());
}

struct Tensor {
  std::string name;
  uint32_t type;
  uint64_t offset;
};

// A GGUF v3 header: a string, an array of strings, a u32 and the alignment,
// then the tensor infos, padded to the alignment.
std::string Header(const std::vector<Tensor>& tensors, uint32_t alignment = 32) {
  std::string out = "GGUF";
  AppendLe32(3, &out);
  AppendLe64(tensors.size(), &out);
  AppendLe64(4, &out);
  Str("general.name", &out);
  AppendLe32(8, &out);
  Str("tiny-llama", &out);
  Str("tokenizer.ggml.tokens", &out);
  AppendLe32(9, &out);
  AppendLe32(8, &out);
  AppendLe64(3, &out);
  for (const char* token : {"<s>", "</s>", "hello"}) Str(token, &out);
  Str("llama.block_count", &out);
  AppendLe32(4, &out);
  AppendLe32(2, &out);
  Str("general.alignment", &out);
  AppendLe32(4, &out);
  AppendLe32(alignment, &out);
  for (const Tensor& t : tensors) {
    Str(t.name, &out);
    AppendLe32(2, &out);
    AppendLe64(16, &out);
    AppendLe64(8, &out);
    AppendLe32(t.type, &out);
    AppendLe64(t.offset, &out);
  }
  out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
  return out;
}

const std::vector<Tensor> kTensors = {
    {"output.weight", 1, 256},    // F16, listed out of offset order
    {"token_embd.weight", 2, 0},  // Q4_0: 144 bytes of blocks
    {"norm.weight", 0, 160},      // F32
};

TEST(GgufLayoutTest, TilesTheFileWithTypes) {
  const std::string header = Header(kTensors);
  const uint64_t size = header.size() + 512;
  auto regions = ParseGgufLayout(header, size);
  ASSERT_TRUE(regions.ok()) << regions.status();
  const uint64_t d = header.size();
  std::vector<TensorRegion> want = {{0, d, ElementType::kNone},
                                    {d, 160, ElementType::kNone},
                                    {d + 160, 96, ElementType::kF32},
                                    {d + 256, 256, ElementType::kF16}};
  EXPECT_EQ(*regions, want);
}

TEST(GgufLayoutTest, RefusesWhatDoesNotFit) {
  const std::string header = Header(kTensors);
  auto past = ParseGgufLayout(header, header.size() + 200);  // F16 tensor starts past the end
  ASSERT_FALSE(past.ok());
  EXPECT_TRUE(absl::StrContains(past.status().message(), "past the end")) << past.status();
  std::string v1 = header;
  v1[4] = 1;
  EXPECT_FALSE(ParseGgufLayout(v1, v1.size() + 512).ok());
  std::string magic = header;
  magic[0] = 'X';
  EXPECT_FALSE(ParseGgufLayout(magic, magic.size() + 512).ok());
  auto same = ParseGgufLayout(Header({{"a", 0, 0}, {"b", 0, 0}}), 4096);
  EXPECT_FALSE(same.ok());
  auto dup = ParseGgufLayout(Header({{"a", 0, 0}, {"a", 0, 64}}), 4096);
  EXPECT_FALSE(dup.ok());
  EXPECT_FALSE(ParseGgufLayout(Header(kTensors, 48), 4096).ok());  // not a power of two
}

TEST(GgufLayoutTest, LyingCountsEndAtTheHead) {
  std::string header = Header(kTensors);
  std::string many_kv = header;
  StoreLe64(UINT64_MAX, many_kv.data() + 16);
  EXPECT_FALSE(ParseGgufLayout(many_kv, 1 << 20).ok());
  std::string many_tensors = header;
  StoreLe64(UINT64_MAX, many_tensors.data() + 8);
  EXPECT_FALSE(ParseGgufLayout(many_tensors, 1 << 20).ok());
  // The most tensors allowed, in a head that holds two: refused at the end
  // of the head (what it allocates is bounded by the head, not the count).
  StoreLe64(kMaxGgufTensors, many_tensors.data() + 8);
  EXPECT_FALSE(ParseGgufLayout(many_tensors, 1 << 20).ok());
  // An array of strings claiming 2^60 elements.
  const size_t tokens_count = header.find("tokenizer.ggml.tokens") + 21 + 4 + 4;
  std::string long_array = header;
  StoreLe64(uint64_t{1} << 60, long_array.data() + tokens_count);
  EXPECT_FALSE(ParseGgufLayout(long_array, 1 << 20).ok());
}

TEST(GgufLayoutTest, EveryTruncationAndFlipIsSafe) {
  const std::string header = Header(kTensors);
  const uint64_t size = header.size() + 512;
  for (size_t n = 0; n < header.size() - 31; ++n) {  // the last 32 bytes are padding
    EXPECT_FALSE(ParseGgufLayout(header.substr(0, n), size).ok()) << n;
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::string bad = header;
    bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    auto regions = ParseGgufLayout(bad, size);
    if (!regions.ok()) continue;
    uint64_t at = 0;
    for (const TensorRegion& r : *regions) {
      EXPECT_EQ(r.offset, at);
      EXPECT_GT(r.length, 0u);
      at += r.length;
    }
    EXPECT_EQ(at, size);
  }
}

}  // namespace
}  // namespace cairn

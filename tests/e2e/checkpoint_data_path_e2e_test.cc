// The checkpoint-aware data path end to end, with the real binaries: a tree of
// the files a GPU cluster holds (a safetensors checkpoint with LoRA factors
// and one tensor larger than the chunker's maximum, a raw token shard, a log,
// an archive, random bytes, and tensor files with lying headers) is backed up,
// restored byte for byte, shown per kind by `cairnctl stats`, plotted; and an
// adapter-only change uploads the adapter, not the chunks around it.
#include <fcntl.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/le_coding.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "tests/e2e/cli_util.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"
#include "tests/e2e/tree_util.h"
#include "tests/tensor_data.h"

namespace cairn::e2e {
namespace {

std::string Bf16Tensor(size_t count, uint32_t seed, float stddev) {
  return Bf16Normal(count, seed, stddev);
}

std::string Safetensors(const std::map<std::string, std::string>& tensors) {
  return Bf16Safetensors(tensors);
}

std::map<std::string, std::string> Checkpoint(uint32_t lora_seed) {
  std::map<std::string, std::string> t;
  t["embed.weight"] = Bf16Tensor(5 << 20, 1, 0.02f);  // 10 MiB: cut by content inside
  for (int layer = 0; layer < 4; ++layer) {
    const std::string p = absl::StrCat("layers.", layer, ".");
    t[p + "attn.q.weight"] = Bf16Tensor(512 << 10, 10 + layer, 0.02f);        // 1 MiB
    t[p + "attn.q.lora_a"] = Bf16Tensor(32 << 10, lora_seed + layer, 0.01f);  // 64 KiB
    t[p + "attn.q.lora_b"] = Bf16Tensor(32 << 10, lora_seed + 100 + layer, 0.01f);
    t[p + "norm.weight"] = Bf16Tensor(1024, 20 + layer, 0.05f);      // 2 KiB: grouped
    t[p + "mlp.weight"] = Bf16Tensor(768 << 10, 30 + layer, 0.02f);  // 1.5 MiB
  }
  return t;
}

std::string TokenShard(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::geometric_distribution<uint32_t> zipfish(0.0005);
  std::string out(4 * count, '\0');
  for (size_t i = 0; i < count; ++i) {
    uint32_t v = zipfish(rng) % 128000;
    std::memcpy(&out[4 * i], &v, 4);
  }
  return out;
}

std::string LogText(size_t size) {
  std::string out;
  for (int step = 0; out.size() < size; ++step) {
    absl::StrAppendFormat(&out, "step %d loss %.4f lr %.2e tokens/s %d\n", step,
                          2.5 * std::exp(-step / 5000.0), 3e-4, 150000 + step % 977);
  }
  out.resize(size);
  return out;
}

void GgufString(absl::string_view s, std::string* out) {
  AppendLe64(s.size(), out);
  out->append(s.data(), s.size());
}

// A GGUF v3 file: one metadata string, an F16 and an F32 tensor, aligned to 32.
std::string Gguf(const std::string& f16, const std::string& f32) {
  std::string out = "GGUF";
  AppendLe32(3, &out);
  AppendLe64(2, &out);
  AppendLe64(1, &out);
  GgufString("general.name", &out);
  AppendLe32(8, &out);
  GgufString("tiny", &out);
  const std::pair<const char*, std::pair<uint32_t, uint64_t>> tensors[] = {
      {"blk.0.attn_q.weight", {1, 0}}, {"output_norm.weight", {0, f16.size()}}};
  for (const auto& [name, type_offset] : tensors) {
    GgufString(name, &out);
    AppendLe32(1, &out);
    AppendLe64(1000, &out);
    AppendLe32(type_offset.first, &out);
    AppendLe64(type_offset.second, &out);
  }
  out.resize((out.size() + 31) / 32 * 32, '\0');
  return out + f16 + f32;
}

// The head of other model and data formats, then tensor-like bytes.
std::string Headed(absl::string_view head, const std::string& body) {
  return std::string(head) + body;
}

std::string ZipWithFirstEntry(absl::string_view name) {
  std::string out("PK\x03\x04", 4);
  out.append(22, '\0');  // version, flags, method (stored), times, crc, sizes
  out.push_back(static_cast<char>(name.size()));
  out.push_back('\0');
  out.append(2, '\0');  // extra length
  out.append(name.data(), name.size());
  return out;
}

std::string TarHeader(absl::string_view name) {
  std::string out(512, '\0');
  out.replace(0, name.size(), name.data(), name.size());
  out.replace(257, 5, "ustar");
  return out;
}

absl::Status Write(const std::string& path, const std::string& data) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  return WriteFully(fd.get(), data, path);
}

class CheckpointDataPathE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTestDir("data_path");
    auto server = ServerProcess::Start(dir_ + "/server");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    agent_ = NewAgentIdentity(*server_, dir_, "gpu-1");
    ASSERT_TRUE(SetUpAgent(agent_).ok());
    data_ = dir_ + "/data";
    ASSERT_TRUE(MakeDirectories(data_).ok());
  }
  CommandResult Ctl(const std::vector<std::string>& args) {
    return RunCommand(CtlArgs(*server_, args));
  }
  void ExpectRestoresIdentically(const std::string& snapshot, const std::string& target) {
    CommandResult restored = AgentRestore(agent_, snapshot, target);
    ASSERT_EQ(restored.exit_code, 0) << restored.Describe();
    std::vector<std::string> differences = CompareDirectories(data_, target);
    EXPECT_TRUE(differences.empty()) << FormatDifferences(differences);
  }

  std::string dir_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
  AgentIdentity agent_;
};

TEST_F(CheckpointDataPathE2eTest, EveryKindRestoresAndStatsShowThem) {
  ASSERT_TRUE(Write(data_ + "/model.safetensors", Safetensors(Checkpoint(1000))).ok());
  ASSERT_TRUE(Write(data_ + "/tokens.bin", TokenShard(256 << 10, 7)).ok());  // 1 MiB
  ASSERT_TRUE(Write(data_ + "/train.log", LogText(600 << 10)).ok());
  ASSERT_TRUE(WriteRandomFile(data_ + "/noise", 300 << 10, 3).ok());  // classified: compressed
  std::string archive("\x28\xb5\x2f\xfd", 4);  // a zstd frame's magic, then noise
  std::mt19937 rng(4);
  while (archive.size() < (300 << 10)) archive.push_back(static_cast<char>(rng()));
  ASSERT_TRUE(Write(data_ + "/shards.zst", archive).ok());
  // Tensor files whose headers lie: they take the plain path, and restore.
  std::string lying = Safetensors(Checkpoint(2000)).substr(0, 3 << 20);  // data cut short
  ASSERT_TRUE(Write(data_ + "/truncated.safetensors", lying).ok());
  std::string npy =
      "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
      "'shape': (999999999,), }";
  npy.resize(128, ' ');
  npy.back() = '\n';
  ASSERT_TRUE(Write(data_ + "/short.npy", npy + Bf16Tensor(1000, 5, 1.0f)).ok());

  // The other formats the sniffer names, each with tensor-like contents.
  const std::string f16 = Bf16Tensor(100 << 10, 8, 0.02f);
  ASSERT_TRUE(Write(data_ + "/model.gguf", Gguf(f16, Bf16Tensor(200 << 10, 9, 1.0f))).ok());
  ASSERT_TRUE(Write(data_ + "/model.pt", Headed(ZipWithFirstEntry("model/data.pkl"), f16)).ok());
  ASSERT_TRUE(Write(data_ + "/model.onnx", Headed("\x08\x07\x12\x07pytorch", f16)).ok());
  std::string tflite = std::string("\x1c\x00\x00\x00TFL3", 8);
  ASSERT_TRUE(Write(data_ + "/model.tflite", Headed(tflite, f16)).ok());
  ASSERT_TRUE(Write(data_ + "/part-0.parquet", Headed("PAR1", f16)).ok());
  ASSERT_TRUE(Write(data_ + "/shard-000.tar", Headed(TarHeader("0001.jpg"), f16)).ok());
  std::string jsonl;
  for (int i = 0; jsonl.size() < (300 << 10); ++i) {
    absl::StrAppend(&jsonl, "{\"id\": ", i, ", \"text\": \"tokens of sample ", i * 7919 % 1000,
                    "\"}\n");
  }
  ASSERT_TRUE(Write(data_ + "/train.jsonl", jsonl).ok());

  BackupOutcome backup = AgentBackup(agent_, data_, "full");
  ASSERT_EQ(backup.command.exit_code, 0) << backup.command.Describe();
  ExpectRestoresIdentically(backup.snapshot, dir_ + "/restored");

  CommandResult stats = Ctl({"stats", "--by-kind", "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.Describe();
  std::vector<std::string> kinds = JsonStrings(stats.out, "kind");
  for (const char* kind : {"safetensors", "text", "npy", "archive", "unknown/compressed", "gguf",
                           "pytorch", "onnx", "tflite", "parquet", "tar", "jsonl"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), kind), kinds.end())
        << kind << " missing: " << stats.out;
  }
  // The checkpoint compresses (byte planes), so stored < logical for it.
  for (const std::string& row : JsonArrayObjects(stats.out, "kinds")) {
    if (JsonStrings(row, "kind") != std::vector<std::string>{"safetensors"}) continue;
    std::vector<int64_t> logical = JsonInts(row, "logical_bytes");
    std::vector<int64_t> stored = JsonInts(row, "stored_bytes");
    ASSERT_EQ(logical.size(), 1u) << row;
    ASSERT_EQ(stored.size(), 1u) << row;
    EXPECT_LT(stored[0] * 5, logical[0] * 4) << "BF16 should compress by more than 20%: " << row;
  }
  CommandResult table = Ctl({"stats", "--by-kind"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_TRUE(absl::StrContains(table.out, "KIND")) << table.Describe();
  EXPECT_TRUE(absl::StrContains(table.out, "safetensors")) << table.Describe();

  // The classifier saw the files with no known format; the plot shows them.
  const std::string svg_path = dir_ + "/classes.svg";
  CommandResult plot = Ctl({"stats", "--plot", svg_path});
  ASSERT_EQ(plot.exit_code, 0) << plot.Describe();
  absl::StatusOr<std::string> svg = ReadFileToString(svg_path, 16 << 20);
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_TRUE(absl::StartsWith(*svg, "<svg")) << *svg;
  EXPECT_TRUE(absl::StrContains(*svg, "<circle cx=")) << *svg;
  EXPECT_TRUE(absl::StrContains(*svg, "</svg>")) << *svg;
}

TEST_F(CheckpointDataPathE2eTest, AnAdapterStepUploadsTheAdapterNotItsNeighbours) {
  ASSERT_TRUE(Write(data_ + "/model.safetensors", Safetensors(Checkpoint(1000))).ok());
  BackupOutcome first = AgentBackup(agent_, data_, "full");
  ASSERT_EQ(first.command.exit_code, 0) << first.command.Describe();
  // A fine-tuning step: only the LoRA factors change (8 x 64 KiB = 512 KiB of
  // a 25 MiB file, scattered between the frozen weights).
  ASSERT_TRUE(Write(data_ + "/model.safetensors", Safetensors(Checkpoint(5000))).ok());
  BackupOutcome second = AgentBackup(agent_, data_, "incremental");
  ASSERT_EQ(second.command.exit_code, 0) << second.command.Describe();
  ASSERT_GT(second.bytes_uploaded, 0) << second.command.Describe();
  // Content-defined chunks of 512 KiB-8 MiB around each factor would upload
  // several MiB; tensor-aligned chunks upload the factors (compressed) and
  // the header.
  EXPECT_LT(second.bytes_uploaded, 1.5 * (512 << 10)) << second.command.Describe();
  ExpectRestoresIdentically(second.snapshot, dir_ + "/restored2");
}

}  // namespace
}  // namespace cairn::e2e

// cairn_bench_gen: writes the seeded data of the end-to-end benchmark
// (bench/run.sh): checkpoints in safetensors layout, tokenized dataset shards
// and a tree of many small files. The same flags give the same bytes anywhere.
//
//   cairn_bench_gen checkpoint --out D [--scale S] [--seed N]
//   cairn_bench_gen next-checkpoint --from D1 --out D2 --change adapters|all [--scale S] [--seed N]
//   cairn_bench_gen datasets --out D [--scale S] [--seed N]
//   cairn_bench_gen tree --out D [--files N] [--dirs N] [--seed N]
//   cairn_bench_gen touch-tree --out D --count N [--files N] [--dirs N] [--seed N]
#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/data_gen.h"
#include "common/file_util.h"
#include "common/flag_names.h"
#include "common/status_macros.h"

ABSL_FLAG(std::string, out, "", "output directory");
ABSL_FLAG(std::string, from, "", "next-checkpoint: the previous checkpoint's directory");
ABSL_FLAG(std::string, change, "adapters",
          "next-checkpoint: adapters (only the LoRA tensors and their moments change) or all "
          "(every value is perturbed, as after a step of full training)");
ABSL_FLAG(double, scale, 1.0, "size factor: 1.0 = ~1.1 GiB checkpoint, 4 x 100 MiB shards");
ABSL_FLAG(uint64_t, seed, 1, "seed");
ABSL_FLAG(int64_t, files, 100000, "tree: number of small files");
ABSL_FLAG(int64_t, dirs, 1000, "tree: number of directories they are spread over");
ABSL_FLAG(int64_t, count, 10, "touch-tree: number of files to rewrite");

namespace cairn::bench {
namespace {

constexpr size_t kMiB = 1 << 20;

enum class Dtype { kBf16, kFp32 };

enum class Init { kNormal, kLogNormal };

// One tensor of a safetensors file; the values are drawn from `init` with
// (a, b) = (mean, stddev) or (log mean, log stddev).
struct TensorSpec {
  std::string name;
  Dtype dtype;
  std::vector<int64_t> shape;
  Init init = Init::kNormal;
  double a = 0;
  double b = 0.02;
  bool adapter = false;  // changes in an adapters-only step

  size_t bytes() const {
    size_t n = dtype == Dtype::kBf16 ? 2 : 4;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    return n;
  }
};

// A decoder-only transformer shaped like a ~270M-parameter model (hidden
// 1024, MLP 2560, grouped-query attention with 4x fewer key/value heads, LoRA
// rank 16 on q and v), with --scale setting the layer count and vocabulary.
struct ModelShape {
  int64_t layers;
  int64_t vocab;
  int64_t hidden = 1024;
  int64_t mlp = 2560;
  int64_t kv = 256;
  int64_t rank = 16;
};

ModelShape ShapeFor(double scale) {
  ModelShape s;
  s.layers = std::max<int64_t>(1, std::llround(24 * scale));
  s.vocab = std::max<int64_t>(1000, std::llround(32000 * scale));
  return s;
}

// model.safetensors: BF16 weights. Initialisation scales follow common
// practice (0.02, output projections 0.02 / sqrt(2 * layers), norms near 1).
std::vector<TensorSpec> ModelTensors(const ModelShape& s) {
  const double out_std = 0.02 / std::sqrt(2.0 * static_cast<double>(s.layers));
  std::vector<TensorSpec> t;
  auto add = [&](std::string name, std::vector<int64_t> shape, double mean, double stddev,
                 bool adapter = false) {
    t.push_back(
        {std::move(name), Dtype::kBf16, std::move(shape), Init::kNormal, mean, stddev, adapter});
  };
  add("model.embed_tokens.weight", {s.vocab, s.hidden}, 0, 0.02);
  add("model.norm.weight", {s.hidden}, 1.0, 0.05);
  for (int64_t i = 0; i < s.layers; ++i) {
    std::string p = absl::StrCat("model.layers.", i, ".");
    add(p + "input_layernorm.weight", {s.hidden}, 1.0, 0.05);
    add(p + "post_attention_layernorm.weight", {s.hidden}, 1.0, 0.05);
    add(p + "self_attn.q_proj.weight", {s.hidden, s.hidden}, 0, 0.02);
    add(p + "self_attn.k_proj.weight", {s.kv, s.hidden}, 0, 0.02);
    add(p + "self_attn.v_proj.weight", {s.kv, s.hidden}, 0, 0.02);
    add(p + "self_attn.o_proj.weight", {s.hidden, s.hidden}, 0, out_std);
    add(p + "mlp.gate_proj.weight", {s.mlp, s.hidden}, 0, 0.02);
    add(p + "mlp.up_proj.weight", {s.mlp, s.hidden}, 0, 0.02);
    add(p + "mlp.down_proj.weight", {s.hidden, s.mlp}, 0, out_std);
    add(p + "self_attn.q_proj.lora_A.weight", {s.rank, s.hidden}, 0, 0.02, true);
    add(p + "self_attn.q_proj.lora_B.weight", {s.hidden, s.rank}, 0, 0.002, true);
    add(p + "self_attn.v_proj.lora_A.weight", {s.rank, s.hidden}, 0, 0.02, true);
    add(p + "self_attn.v_proj.lora_B.weight", {s.kv, s.rank}, 0, 0.002, true);
  }
  return t;
}

// optimizer.safetensors: this rank's quarter of the Adam moments (ZeRO-1
// style, FP32) per layer, plus the moments of all LoRA tensors.
std::vector<TensorSpec> OptimizerTensors(const ModelShape& s) {
  std::vector<TensorSpec> t;
  auto add_moments = [&](const std::string& prefix, int64_t count, bool adapter) {
    t.push_back({prefix + ".exp_avg", Dtype::kFp32, {count}, Init::kNormal, 0, 1e-4, adapter});
    t.push_back({prefix + ".exp_avg_sq",
                 Dtype::kFp32,
                 {count},
                 Init::kLogNormal,
                 std::log(1e-8),
                 1.5,
                 adapter});
  };
  int64_t layer_params = 0, adapter_params = 0;
  for (const TensorSpec& spec : ModelTensors(s)) {
    if (spec.name.rfind("model.layers.0.", 0) != 0) continue;
    (spec.adapter ? adapter_params : layer_params) += static_cast<int64_t>(spec.bytes() / 2);
  }
  add_moments("state.embed_tokens", s.vocab * s.hidden / 4, false);
  for (int64_t i = 0; i < s.layers; ++i) {
    add_moments(absl::StrCat("state.layers.", i), layer_params / 4, false);
    add_moments(absl::StrCat("state.layers.", i, ".lora"), adapter_params, true);
  }
  return t;
}

// The safetensors layout: u64 little-endian header length, the JSON header
// (names sorted, padded with spaces to 8 bytes), then the tensors back to
// back in header order.
struct Layout {
  std::vector<TensorSpec> tensors;  // sorted by name
  std::vector<size_t> offsets;      // of each tensor, from the start of the file
  std::string prefix;               // length + header
  size_t size = 0;
};

Layout MakeLayout(std::vector<TensorSpec> tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorSpec& x, const TensorSpec& y) { return x.name < y.name; });
  std::vector<std::string> entries = {R"("__metadata__":{"format":"pt"})"};
  size_t data_offset = 0;
  std::vector<size_t> relative;
  for (const TensorSpec& spec : tensors) {
    relative.push_back(data_offset);
    entries.push_back(absl::StrFormat(R"("%s":{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]})",
                                      spec.name, spec.dtype == Dtype::kBf16 ? "BF16" : "F32",
                                      absl::StrJoin(spec.shape, ","), data_offset,
                                      data_offset + spec.bytes()));
    data_offset += spec.bytes();
  }
  std::string header = absl::StrCat("{", absl::StrJoin(entries, ","), "}");
  header.resize((header.size() + 7) / 8 * 8, ' ');
  Layout layout;
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) layout.prefix.push_back(static_cast<char>(length >> (8 * i)));
  layout.prefix += header;
  for (size_t r : relative) layout.offsets.push_back(layout.prefix.size() + r);
  layout.size = layout.prefix.size() + data_offset;
  layout.tensors = std::move(tensors);
  return layout;
}

uint64_t Mix(uint64_t seed, const std::string& name) {
  uint64_t h = seed * 0x9e3779b97f4a7c15 + 0x632be59bd9b4e019;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3;
  return h;
}

std::string Generate(const TensorSpec& spec, uint64_t seed) {
  uint64_t s = Mix(seed, spec.name);
  if (spec.dtype == Dtype::kBf16) return Bf16Normal(spec.bytes(), s, spec.a, spec.b);
  if (spec.init == Init::kLogNormal) return Fp32LogNormal(spec.bytes(), s, spec.a, spec.b);
  return Fp32Normal(spec.bytes(), s, spec.a, spec.b);
}

absl::Status WriteFile(const std::string& path, absl::string_view data) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  RETURN_IF_ERROR(WriteFully(fd.get(), data, path));
  return fd.Close(path);
}

// Writes a fresh safetensors file, one tensor at a time so memory stays at the
// size of the largest tensor.
absl::Status WriteCheckpointFile(const std::string& path, const Layout& layout, uint64_t seed) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  RETURN_IF_ERROR(WriteFully(fd.get(), layout.prefix, path));
  for (const TensorSpec& spec : layout.tensors) {
    RETURN_IF_ERROR(WriteFully(fd.get(), Generate(spec, seed), path));
  }
  return fd.Close(path);
}

// Writes `to` as `from` after one training step: adapters-only regenerates
// the adapter tensors (and keeps every other byte), "all" perturbs every value.
absl::Status WriteNextCheckpointFile(const std::string& from, const std::string& to,
                                     const Layout& layout, bool all, uint64_t seed) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(from, 64ull << 30));
  if (bytes.size() != layout.size || bytes.compare(0, layout.prefix.size(), layout.prefix) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(from, " was not written by `checkpoint` with this --scale"));
  }
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const TensorSpec& spec = layout.tensors[i];
    if (!all && !spec.adapter) continue;
    std::string values;
    if (all) {
      values = bytes.substr(layout.offsets[i], spec.bytes());
      if (spec.dtype == Dtype::kBf16) {
        PerturbBf16(&values, Mix(seed, spec.name), 0.01);
      } else {
        PerturbFp32(&values, Mix(seed, spec.name), 0.05);
      }
    } else {
      // Offset so a step never redraws the values `checkpoint --seed` drew.
      values = Generate(spec, seed + 0x5eed0000);
    }
    bytes.replace(layout.offsets[i], spec.bytes(), values);
  }
  return WriteFile(to, bytes);
}

absl::Status Checkpoint(const std::string& out, double scale, uint64_t seed) {
  RETURN_IF_ERROR(MakeDirectories(out));
  ModelShape shape = ShapeFor(scale);
  RETURN_IF_ERROR(
      WriteCheckpointFile(out + "/model.safetensors", MakeLayout(ModelTensors(shape)), seed));
  return WriteCheckpointFile(out + "/optimizer.safetensors", MakeLayout(OptimizerTensors(shape)),
                             seed);
}

absl::Status NextCheckpoint(const std::string& from, const std::string& out,
                            const std::string& change, double scale, uint64_t seed) {
  if (change != "adapters" && change != "all") {
    return absl::InvalidArgumentError("--change is adapters or all");
  }
  if (from.empty()) return absl::InvalidArgumentError("next-checkpoint needs --from DIR");
  RETURN_IF_ERROR(MakeDirectories(out));
  ModelShape shape = ShapeFor(scale);
  bool all = change == "all";
  RETURN_IF_ERROR(WriteNextCheckpointFile(from + "/model.safetensors", out + "/model.safetensors",
                                          MakeLayout(ModelTensors(shape)), all, seed));
  return WriteNextCheckpointFile(from + "/optimizer.safetensors", out + "/optimizer.safetensors",
                                 MakeLayout(OptimizerTensors(shape)), all, seed);
}

// Two GPT-2-vocabulary shards (uint16 ids), one Llama-3-vocabulary shard
// (uint32 ids) and one incompressible shard (pre-compressed samples).
absl::Status Datasets(const std::string& out, double scale, uint64_t seed) {
  RETURN_IF_ERROR(MakeDirectories(out));
  size_t size = static_cast<size_t>(std::llround(100 * scale * kMiB)) / 8 * 8;
  RETURN_IF_ERROR(WriteFile(out + "/train-00000.u16.bin", TokenIdsU16(size, seed * 4 + 0)));
  RETURN_IF_ERROR(WriteFile(out + "/train-00001.u16.bin", TokenIdsU16(size, seed * 4 + 1)));
  RETURN_IF_ERROR(WriteFile(out + "/train-00002.u32.bin", TokenIdsU32(size, seed * 4 + 2)));
  return WriteFile(out + "/images-00000.tar.zst", RandomBytes(size, seed * 4 + 3));
}

// File i of the tree: 1-8 KiB, two thirds log/config-like text, one third
// random (thumbnails, compressed blobs). `version` > 0 gives other contents.
std::string TreeFilePath(const std::string& out, int64_t i, int64_t dirs) {
  return absl::StrFormat("%s/d%04d/f%06d.%s", out, i % dirs, i, i % 3 == 2 ? "bin" : "txt");
}

std::string TreeFileContents(int64_t i, uint64_t seed, uint64_t version) {
  uint64_t s = Mix(seed * 1000003 + version, absl::StrCat(i));
  size_t size = 1024 + s % (7 * 1024 + 1);
  return i % 3 == 2 ? RandomBytes(size, s) : TrainingLog(size, s);
}

absl::Status Tree(const std::string& out, int64_t files, int64_t dirs, uint64_t seed) {
  if (files < 1 || dirs < 1) return absl::InvalidArgumentError("--files and --dirs must be >= 1");
  for (int64_t d = 0; d < dirs; ++d) {
    RETURN_IF_ERROR(MakeDirectories(absl::StrFormat("%s/d%04d", out, d)));
  }
  for (int64_t i = 0; i < files; ++i) {
    RETURN_IF_ERROR(WriteFile(TreeFilePath(out, i, dirs), TreeFileContents(i, seed, 0)));
  }
  return absl::OkStatus();
}

// Rewrites `count` files spread evenly over the tree with new contents: what
// an incremental backup of the tree then has to find and store.
absl::Status TouchTree(const std::string& out, int64_t count, int64_t files, int64_t dirs,
                       uint64_t seed) {
  if (count < 1 || count > files) return absl::InvalidArgumentError("--count out of range");
  for (int64_t k = 0; k < count; ++k) {
    int64_t i = (k * files) / count + (files / count) / 2;
    RETURN_IF_ERROR(WriteFile(TreeFilePath(out, i, dirs), TreeFileContents(i, seed, seed + 1)));
  }
  return absl::OkStatus();
}

absl::Status Run(const std::string& command) {
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return absl::InvalidArgumentError("--out DIR is required");
  double scale = absl::GetFlag(FLAGS_scale);
  if (!(scale > 0 && scale <= 64)) return absl::InvalidArgumentError("--scale must be in (0, 64]");
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (command == "checkpoint") return Checkpoint(out, scale, seed);
  if (command == "next-checkpoint") {
    return NextCheckpoint(absl::GetFlag(FLAGS_from), out, absl::GetFlag(FLAGS_change), scale, seed);
  }
  if (command == "datasets") return Datasets(out, scale, seed);
  if (command == "tree") {
    return Tree(out, absl::GetFlag(FLAGS_files), absl::GetFlag(FLAGS_dirs), seed);
  }
  if (command == "touch-tree") {
    return TouchTree(out, absl::GetFlag(FLAGS_count), absl::GetFlag(FLAGS_files),
                     absl::GetFlag(FLAGS_dirs), seed);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) {
  std::vector<std::string> flag_storage = cairn::NormalizeFlagNames(argc, argv);
  absl::SetProgramUsageMessage(
      "cairn_bench_gen: seeded data for bench/run.sh.\n\n"
      "  cairn_bench_gen checkpoint --out D [--scale S] [--seed N]\n"
      "  cairn_bench_gen next-checkpoint --from D1 --out D2 --change adapters|all [--scale S]\n"
      "  cairn_bench_gen datasets --out D [--scale S] [--seed N]\n"
      "  cairn_bench_gen tree --out D [--files N] [--dirs N] [--seed N]\n"
      "  cairn_bench_gen touch-tree --out D --count N [--files N] [--dirs N] [--seed N]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: cairn_bench_gen COMMAND --out DIR ... (--help)\n";
    return 2;
  }
  absl::Status status = cairn::bench::Run(args[1]);
  if (!status.ok()) {
    std::cerr << "cairn_bench_gen: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

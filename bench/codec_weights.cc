// cairn_codec_weights: the tensor codec on real weights, file by file, as the
// backup uses it (tensor by tensor, hints from the safetensors header) next
// to zstd-1 (cairn's general path and restic's "auto"), zstd-3 and LZ4
// (borg's default) on the same chunks. One JSON line per file:
//   cairn_codec_weights FILE.safetensors...
// With --base, checkpoint deltas (common/delta_codec.h): each tensor piece of
// NEXT stored against the same piece of BASE (same layout), next to NEXT's
// pieces stored whole:
//   cairn_codec_weights --base BASE.safetensors NEXT.safetensors
// Speeds are single-core MB/s of raw bytes, the median of 5 passes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/codec.h"
#include "common/delta_codec.h"
#include "common/tensor_layout.h"

namespace cairn::bench {
namespace {

constexpr size_t kMaxPiece = 8 << 20;  // the chunker's max: larger tensors are cut
constexpr int kPasses = 5;

struct Piece {
  absl::string_view data;
  DataHint hint;
};

DataHint HintOf(ElementType type) {
  switch (type) {
    case ElementType::kBf16:
    case ElementType::kF16:
      return {.kind = DataHint::Class::kFloats, .width = 2};
    case ElementType::kF32:
      return {.kind = DataHint::Class::kFloats, .width = 4};
    default:
      return {};
  }
}

std::vector<Piece> PiecesOf(const std::string& file, const std::vector<TensorRegion>& regions) {
  std::vector<Piece> pieces;
  for (const TensorRegion& r : regions) {
    for (uint64_t at = 0; at < r.length; at += kMaxPiece) {
      DataHint hint = HintOf(r.type);
      hint.offset = at;
      pieces.push_back(
          {absl::string_view(file).substr(r.offset + at, std::min(kMaxPiece, r.length - at)),
           hint});
    }
  }
  return pieces;
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Result {
  size_t stored = 0;
  double compress_mbs = 0;
  double decompress_mbs = 0;
};

Result Measure(const std::vector<Piece>& pieces, size_t raw_bytes, const CodecChoice& choice,
               bool hinted) {
  std::vector<double> c_times, d_times;
  std::vector<std::string> frames(pieces.size());
  Result result;
  for (int pass = 0; pass < kPasses; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < pieces.size(); ++i) {
      frames[i].clear();
      Compress(choice, pieces[i].data, &frames[i], hinted ? pieces[i].hint : DataHint{});
    }
    auto t1 = std::chrono::steady_clock::now();
    std::string raw;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (!Decompress(frames[i], kMaxPiece, &raw).ok() || raw != pieces[i].data) {
        std::fprintf(stderr, "round trip failed\n");
        std::exit(1);
      }
    }
    auto t2 = std::chrono::steady_clock::now();
    c_times.push_back(Seconds(t0, t1));
    d_times.push_back(Seconds(t1, t2));
  }
  for (const std::string& f : frames) result.stored += f.size();
  std::sort(c_times.begin(), c_times.end());
  std::sort(d_times.begin(), d_times.end());
  result.compress_mbs = raw_bytes / c_times[kPasses / 2] / 1e6;
  result.decompress_mbs = raw_bytes / d_times[kPasses / 2] / 1e6;
  return result;
}

// A safetensors file and its tensor regions (the JSON header left out: it is
// not what the goals are about); false after printing why it would not read.
bool ReadTensors(const char* path, std::string* file, std::vector<TensorRegion>* tensors,
                 size_t* raw) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  *file = buffer.str();
  absl::StatusOr<uint64_t> n = SafetensorsHeaderLength(file->substr(0, 8), file->size());
  if (!n.ok()) {
    std::fprintf(stderr, "%s: %s\n", path, std::string(n.status().message()).c_str());
    return false;
  }
  auto regions = ParseSafetensorsLayout(absl::string_view(*file).substr(8, *n), file->size());
  if (!regions.ok()) {
    std::fprintf(stderr, "%s: %s\n", path, std::string(regions.status().message()).c_str());
    return false;
  }
  *raw = 0;
  for (const TensorRegion& r : *regions) {
    if (r.type == ElementType::kNone) continue;
    tensors->push_back(r);
    *raw += r.length;
  }
  return true;
}

int RunDeltas(const char* base_path, const char* next_path) {
  std::string base_file, next_file;
  std::vector<TensorRegion> base_tensors, next_tensors;
  size_t base_raw = 0, raw = 0;
  if (!ReadTensors(base_path, &base_file, &base_tensors, &base_raw) ||
      !ReadTensors(next_path, &next_file, &next_tensors, &raw)) {
    return 1;
  }
  const bool same_layout =
      base_tensors.size() == next_tensors.size() &&
      std::equal(base_tensors.begin(), base_tensors.end(), next_tensors.begin(),
                 [](const TensorRegion& a, const TensorRegion& b) {
                   return a.length == b.length && a.type == b.type;
                 });
  if (!same_layout) {
    std::fprintf(stderr, "%s and %s have other layouts\n", base_path, next_path);
    return 1;
  }
  const std::vector<Piece> bases = PiecesOf(base_file, base_tensors);
  const std::vector<Piece> pieces = PiecesOf(next_file, next_tensors);
  const Result whole = Measure(pieces, raw, CodecChoice{}, true);
  std::vector<double> c_times, d_times;
  std::vector<std::string> frames(pieces.size());
  const ChunkId no_id{};
  for (int pass = 0; pass < kPasses; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < pieces.size(); ++i) {
      frames[i].clear();
      if (!CompressDelta(CodecChoice{}, pieces[i].data, no_id, bases[i].data, &frames[i],
                         pieces[i].hint)) {
        std::fprintf(stderr, "piece %zu: the base differs in size\n", i);
        return 1;
      }
    }
    auto t1 = std::chrono::steady_clock::now();
    std::string out;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (!DecompressDelta(frames[i], bases[i].data, kMaxPiece, &out).ok() ||
          out != pieces[i].data) {
        std::fprintf(stderr, "delta round trip failed\n");
        return 1;
      }
    }
    auto t2 = std::chrono::steady_clock::now();
    c_times.push_back(Seconds(t0, t1));
    d_times.push_back(Seconds(t1, t2));
  }
  size_t stored = 0;
  for (const std::string& f : frames) stored += f.size();
  std::sort(c_times.begin(), c_times.end());
  std::sort(d_times.begin(), d_times.end());
  std::cout << absl::StrFormat(
      "{\"tool\": \"codec\", \"phase\": \"codec_deltas\", \"rep\": 1, \"file\": \"%s\", "
      "\"base\": \"%s\", \"tensor_bytes\": %d, \"whole_ratio\": %.4f, \"delta_ratio\": %.4f, "
      "\"delta_compress_mbs\": %.0f, \"delta_decompress_mbs\": %.0f}\n",
      next_path, base_path, raw, static_cast<double>(raw) / whole.stored,
      static_cast<double>(raw) / stored, raw / c_times[kPasses / 2] / 1e6,
      raw / d_times[kPasses / 2] / 1e6);
  return 0;
}

int Run(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--base") return RunDeltas(argv[2], argv[3]);
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: cairn_codec_weights FILE.safetensors...\n"
                 "       cairn_codec_weights --base BASE.safetensors NEXT.safetensors\n");
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::string file;
    std::vector<TensorRegion> tensors;
    size_t raw = 0;
    if (!ReadTensors(argv[i], &file, &tensors, &raw)) return 1;
    const std::vector<Piece> pieces = PiecesOf(file, tensors);
    const Result planes = Measure(pieces, raw, CodecChoice{}, true);
    const Result zstd1 = Measure(pieces, raw, *ParseCodec("zstd:1"), false);
    const Result zstd3 = Measure(pieces, raw, *ParseCodec("zstd:3"), false);
    const Result lz4 = Measure(pieces, raw, *ParseCodec("lz4"), false);
    std::cout << absl::StrFormat(
        "{\"tool\": \"codec\", \"phase\": \"codec_weights\", \"rep\": 1, \"file\": \"%s\", "
        "\"tensor_bytes\": %d, \"tensors\": %d, "
        "\"cairn_ratio\": %.4f, \"cairn_compress_mbs\": %.0f, \"cairn_decompress_mbs\": %.0f, "
        "\"zstd1_ratio\": %.4f, \"zstd1_compress_mbs\": %.0f, \"zstd3_ratio\": %.4f, "
        "\"lz4_ratio\": %.4f}\n",
        argv[i], raw, tensors.size(), static_cast<double>(raw) / planes.stored, planes.compress_mbs,
        planes.decompress_mbs, static_cast<double>(raw) / zstd1.stored, zstd1.compress_mbs,
        static_cast<double>(raw) / zstd3.stored, static_cast<double>(raw) / lz4.stored);
  }
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Run(argc, argv); }

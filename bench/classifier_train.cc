// cairn_classifier_train: trains the data classifier (common/data_classifier.h)
// and reports how well it does on data it was not trained on.
//
// Both corpora are generated here from seeds: several hundred samples per
// class of 4-64 KiB, taken at random (often odd) offsets of generated files.
// The held-out corpus uses other seeds and, where a generator has parameters,
// other values of them (scales, vocabularies, languages, compression levels),
// plus a disjoint half of the real system files if --system_files is set. The
// model is softmax regression with L2 regularization, fitted by full-batch
// gradient descent: deterministic, so the same flags write the same model.
//
//   cairn_classifier_train [--out common/classifier_model.txt] [--json]
//       [--train_per_class N] [--test_per_class N] [--seed N] [--system_files=false]
#include <fcntl.h>
#include <lz4.h>
#include <lz4hc.h>
#include <unistd.h>
#include <zstd.h>

#ifdef CAIRN_HAVE_ZLIB
#include <zlib.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/data_gen.h"
#include "common/data_classifier.h"
#include "common/file_util.h"
#include "common/flag_names.h"
#include "common/le_coding.h"
#include "common/status_macros.h"

ABSL_FLAG(std::string, out, "common/classifier_model.txt", "where to write the model text");
ABSL_FLAG(int, train_per_class, 600, "training samples per class");
ABSL_FLAG(int, test_per_class, 300, "held-out samples per class");
ABSL_FLAG(uint64_t, seed, 1, "seed of the training corpus (the held-out one derives its own)");
ABSL_FLAG(bool, system_files, true,
          "also sample real files, chosen by a seeded sorted selection: ELF files of "
          "/usr/lib/x86_64-linux-gnu and /usr/bin as other, /usr/share/doc/**/*.gz as compressed");
ABSL_FLAG(int, iterations, 3000, "gradient descent iterations");
ABSL_FLAG(double, l2, 1e-4, "L2 regularization of the weights (not the biases)");
ABSL_FLAG(bool, json, false, "print the report as one JSON object");
ABSL_FLAG(std::vector<std::string>, ignore_features, {},
          "features to zero in both corpora, to measure what each one is worth");
ABSL_FLAG(std::string, plot_csv, "",
          "if set, write the held-out samples' plot coordinates and classes as CSV");

namespace cairn::bench {
namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMinSample = 4 * kKiB;
constexpr size_t kMaxSample = 64 * kKiB;
// Bytes generated before a sample's start: the sample starts at a random
// offset, mid-element and mid-line as often as not.
constexpr size_t kMaxLead = 4 * kKiB;
// The held-out corpus's seeds are far from any training seed.
constexpr uint64_t kHeldOutSeedOffset = 0x5eed000000;

// ---------------------------------------------------------------------------
// Randomness

// Ours (not <random>'s distributions) so the corpus is the same everywhere.
class Rng final {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Uniform(double a, double b) { return a + (b - a) * Unit(); }
  double LogUniform(double a, double b) { return std::exp(Uniform(std::log(a), std::log(b))); }
  double Normal() {
    const double u = 1.0 - Unit();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * Unit());
  }
  bool Chance(double p) { return Unit() < p; }
  template <typename T>
  T Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

 private:
  uint64_t state_;
};

uint64_t Mix(uint64_t a, uint64_t b) { return Rng(a * 0x9e3779b97f4a7c15 ^ b).Next(); }

// Inverse-CDF Zipf sampler over ids [0, vocab), id = frequency rank; tables
// are cached because a 256k vocabulary costs milliseconds to build, and s is
// rounded to 0.05 so the cache stays small.
class Zipf final {
 public:
  static const Zipf& Get(size_t vocab, double s) {
    s = std::round(s * 20) / 20;
    static std::map<std::pair<size_t, double>, Zipf>* cache =
        new std::map<std::pair<size_t, double>, Zipf>;
    auto it = cache->find({vocab, s});
    if (it == cache->end()) it = cache->emplace(std::make_pair(vocab, s), Zipf(vocab, s)).first;
    return it->second;
  }
  uint32_t Sample(Rng& rng) const {
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), rng.Unit());
    if (it == cdf_.end()) --it;
    return static_cast<uint32_t>(it - cdf_.begin());
  }

 private:
  Zipf(size_t vocab, double s) : cdf_(vocab) {
    double total = 0;
    for (size_t k = 0; k < vocab; ++k) cdf_[k] = total += std::pow(static_cast<double>(k + 1), -s);
    for (double& c : cdf_) c /= total;
  }
  std::vector<double> cdf_;
};

// ---------------------------------------------------------------------------
// Little-endian writers

void Put8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void Put16(std::string& out, uint16_t v) {
  Put8(out, static_cast<uint8_t>(v));
  Put8(out, static_cast<uint8_t>(v >> 8));
}
void Put32(std::string& out, uint32_t v) { AppendLe32(v, &out); }
void Put64(std::string& out, uint64_t v) { AppendLe64(v, &out); }
uint32_t FloatBits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return bits;
}
void PutF32(std::string& out, float v) { Put32(out, FloatBits(v)); }
uint16_t Bf16Bits(float v) {
  uint32_t bits = FloatBits(v);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

// IEEE half precision, round to nearest even; our values never overflow it.
uint16_t Fp16Bits(float v) {
  const uint32_t x = FloatBits(v);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const int exp = static_cast<int>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  int shift = 13;
  uint32_t base = static_cast<uint32_t>(exp) << 10;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    shift = 14 - exp;
    base = 0;
  }
  uint32_t half = base + (mant >> shift);
  const uint32_t rest = mant & ((1u << shift) - 1);
  const uint32_t mid = 1u << (shift - 1);
  if (rest > mid || (rest == mid && (half & 1))) ++half;
  return static_cast<uint16_t>(sign | half);
}

float FromFp16Bits(uint16_t h) {
  const int exp = (h >> 10) & 0x1f;
  const float mant = static_cast<float>(h & 0x3ff);
  const float mag = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1.0f + mant / 1024.0f, exp - 15);
  return (h & 0x8000) ? -mag : mag;
}

// ---------------------------------------------------------------------------
// Generators. Each writes at least `size` bytes of one kind of file; `heldout`
// selects the parameter values of the held-out corpus.

using Generator = std::string (*)(Rng& rng, size_t size, bool heldout);

// Floats -------------------------------------------------------------------
// bench/data_gen.h writes values in pairs and leaves a partial pair at the end
// zero, so it is asked for a few bytes more than needed.

std::string Bf16Scaled(Rng& rng, size_t size, bool heldout) {
  const double stddev = heldout ? rng.LogUniform(0.0015, 0.4)
                                : rng.Pick<double>({0.002, 0.006, 0.02, 0.05, 0.2, 1.0});
  return Bf16Normal(size + 4, rng.Next(), 0.0, stddev);
}

std::string Bf16NormWeights(Rng& rng, size_t size, bool heldout) {
  const double mean = heldout ? rng.Uniform(0.3, 2.5) : rng.Pick<double>({0.5, 1.0, 1.0, 1.5});
  return Bf16Normal(size + 4, rng.Next(), mean, mean * rng.Uniform(0.01, 0.2));
}

std::string Fp16Normal(Rng& rng, size_t size, bool heldout) {
  const double stddev = heldout ? rng.LogUniform(0.003, 2) : rng.Pick<double>({0.01, 0.02, 0.1, 1});
  std::string out;
  while (out.size() < size) Put16(out, Fp16Bits(static_cast<float>(stddev * rng.Normal())));
  return out;
}

std::string Fp32Scaled(Rng& rng, size_t size, bool heldout) {
  const double stddev = heldout ? rng.LogUniform(3e-5, 3) : rng.Pick<double>({1e-4, 0.02, 0.1, 1});
  return Fp32Normal(size + 8, rng.Next(), heldout ? rng.Uniform(-0.01, 0.01) : 0.0, stddev);
}

// Adam's second moments: positive, spanning decades.
std::string Fp32AdamSquares(Rng& rng, size_t size, bool heldout) {
  const double log_mean =
      std::log(heldout ? rng.LogUniform(3e-10, 3e-6) : rng.LogUniform(1e-9, 1e-5));
  const double log_stddev =
      heldout ? rng.Uniform(0.7, 2.5) : rng.Pick<double>({0.5, 1.0, 2.0, 3.0});
  return Fp32LogNormal(size + 8, rng.Next(), log_mean, log_stddev);
}

std::string Fp32Uniform(Rng& rng, size_t size, bool heldout) {
  const double scale = heldout ? rng.LogUniform(0.01, 50) : rng.Pick<double>({0.05, 1.0, 10.0});
  const bool symmetric = rng.Chance(0.5);
  std::string out;
  while (out.size() < size) {
    const double u = rng.Unit();
    PutF32(out, static_cast<float>(scale * (symmetric ? 2 * u - 1 : u)));
  }
  return out;
}

// Norm weights and other values near 1 whose low mantissa bits are the only
// ones that move.
std::string Fp32NearOne(Rng& rng, size_t size, bool heldout) {
  const double stddev = heldout ? rng.LogUniform(2e-5, 0.02) : rng.Pick<double>({1e-4, 1e-3, 1e-2});
  const double center = heldout ? rng.Uniform(0.8, 1.2) : 1.0;
  return Fp32Normal(size + 8, rng.Next(), center, stddev);
}

// fp32 holding values that came from bf16 or fp16: the low mantissa bits are
// all zero.
std::string Fp32Upcast(Rng& rng, size_t size, bool heldout) {
  const bool from_bf16 = rng.Chance(0.5);
  const double stddev = heldout ? rng.LogUniform(0.003, 0.5) : rng.Pick<double>({0.01, 0.02, 0.1});
  std::string out;
  while (out.size() < size) {
    const float v = static_cast<float>(stddev * rng.Normal());
    if (from_bf16) {
      Put32(out, uint32_t{Bf16Bits(v)} << 16);
    } else {
      PutF32(out, FromFp16Bits(Fp16Bits(v)));
    }
  }
  return out;
}

// Activations after a ReLU (or pruned weights): a share of exact zeros.
std::string FloatsWithZeros(Rng& rng, size_t size, bool heldout) {
  const double zeros = heldout ? rng.Uniform(0.15, 0.55) : rng.Pick<double>({0.2, 0.35, 0.5});
  const bool bf16 = rng.Chance(0.5);
  const double scale = rng.LogUniform(0.01, 2);
  std::string out;
  while (out.size() < size) {
    const float v = rng.Chance(zeros) ? 0.0f : static_cast<float>(scale * std::fabs(rng.Normal()));
    bf16 ? Put16(out, Bf16Bits(v)) : PutF32(out, v);
  }
  return out;
}

// Integers -----------------------------------------------------------------

std::string TokensU16(Rng& rng, size_t size, bool heldout) {
  const size_t vocab = heldout ? rng.Pick<size_t>({32000, 50257, 50304, 65024})
                               : rng.Pick<size_t>({32768, 49152, 50257, 65535});
  // Heavy skews too (s up to 2: most ids below 10, the high byte nearly
  // always zero), as in shards of small vocabularies or label streams.
  const double s = heldout ? rng.Uniform(0.95, 2.2) : rng.Pick<double>({1.0, 1.1, 1.2, 1.6, 2.0});
  const Zipf& zipf = Zipf::Get(vocab, s);
  std::string out;
  while (out.size() < size) Put16(out, static_cast<uint16_t>(zipf.Sample(rng)));
  return out;
}

// 4- or 8-byte token ids (torch keeps them as int64), sometimes with the -100
// "ignore" label runs of padded batches.
std::string TokensWide(Rng& rng, size_t size, bool heldout) {
  const size_t vocab = heldout ? rng.Pick<size_t>({32000, 100352, 151936, 200000})
                               : rng.Pick<size_t>({50257, 128256, 256000});
  const double s = heldout ? rng.Uniform(0.95, 1.25) : rng.Pick<double>({1.0, 1.1, 1.2});
  const Zipf& zipf = Zipf::Get(vocab, s);
  const bool wide = rng.Chance(0.35);
  const bool padded = rng.Chance(0.3);
  std::string out;
  while (out.size() < size) {
    const size_t run = padded ? 64 + rng.Below(1024) : size;
    for (size_t i = 0; i < run && out.size() < size; ++i) {
      const uint64_t id = zipf.Sample(rng);
      wide ? Put64(out, id) : Put32(out, static_cast<uint32_t>(id));
    }
    if (padded) {
      for (size_t i = rng.Below(256); i > 0; --i) {
        wide ? Put64(out, static_cast<uint64_t>(-100)) : Put32(out, static_cast<uint32_t>(-100));
      }
    }
  }
  return out;
}

// Byte-sized ids: labels, small vocabularies, quantized codes. Not 256 ids
// used about evenly: those are random bytes, and compressed is the right call.
std::string IdsU8(Rng& rng, size_t size, bool heldout) {
  const size_t vocab = heldout ? 4 + rng.Below(125) : rng.Pick<size_t>({10, 32, 64, 128});
  const Zipf& zipf = Zipf::Get(vocab, heldout ? rng.Uniform(0.8, 1.4) : 1.0);
  std::string out;
  while (out.size() < size) Put8(out, static_cast<uint8_t>(zipf.Sample(rng)));
  return out;
}

// Offsets into a token stream, sample indices, position ids, lengths.
std::string GrowingInt32(Rng& rng, size_t size, bool heldout) {
  const int kind = static_cast<int>(rng.Below(4));
  const double mean_step = heldout ? rng.LogUniform(2, 20000) : rng.Pick<double>({8, 512, 4096});
  const uint32_t period = static_cast<uint32_t>(heldout ? 100 + rng.Below(8000) : 2048);
  uint32_t v = static_cast<uint32_t>(rng.Below(1 << 20));
  std::string out;
  for (uint32_t i = 0; out.size() < size; ++i) {
    switch (kind) {
      case 0:  // cumulative document offsets
        v += static_cast<uint32_t>(1 + mean_step * -std::log(1 - rng.Unit()));
        break;
      case 1:  // sorted sample indices
        v += static_cast<uint32_t>(1 + rng.Below(static_cast<uint64_t>(2 * mean_step)));
        break;
      case 2:  // position ids
        v = i % period;
        break;
      default:  // sequence lengths
        v = static_cast<uint32_t>(1 + rng.LogUniform(1, mean_step * 4));
        break;
    }
    Put32(out, v);
  }
  return out;
}

// Step counters, byte counters, timestamps.
std::string Counters64(Rng& rng, size_t size, bool heldout) {
  const bool timestamps = rng.Chance(0.4);
  uint64_t v = timestamps ? 1'700'000'000'000'000'000ull + rng.Below(uint64_t{1} << 50)
                          : rng.Below(heldout ? 1u << 30 : 1u << 20);
  const double step =
      timestamps ? rng.LogUniform(1e3, 1e9) : rng.LogUniform(1, heldout ? 1e5 : 1e4);
  std::string out;
  while (out.size() < size) {
    v += static_cast<uint64_t>(1 + step * rng.Unit() * 2);
    Put64(out, v);
  }
  return out;
}

// Shuffled sample indices and uniformly drawn ids: every value of a range
// about equally likely, as 4- or 8-byte integers. Ranges stop at 1e9: beyond,
// 4-byte values are as good as random bytes.
std::string UniformIds(Rng& rng, size_t size, bool heldout) {
  const uint64_t range = static_cast<uint64_t>(
      heldout ? rng.LogUniform(500, 1e9) : rng.Pick<double>({1e3, 6e4, 1e6, 1e8, 1e9}));
  const bool wide = rng.Chance(0.5);
  std::string out;
  while (out.size() < size) {
    const uint64_t v = rng.Below(range);
    wide ? Put64(out, v) : Put32(out, static_cast<uint32_t>(v));
  }
  return out;
}

// Text ---------------------------------------------------------------------

const std::vector<std::string>& Words() {
  static const auto* words = new std::vector<std::string>{
      "the",     "model",  "training",  "data",      "loss",    "gradient", "batch",    "layer",
      "weights", "step",   "learning",  "rate",      "node",    "cluster",  "backup",   "restore",
      "file",    "system", "network",   "memory",    "time",    "value",    "result",   "error",
      "update",  "config", "token",     "sequence",  "output",  "input",    "function", "return",
      "server",  "client", "request",   "cache",     "storage", "disk",     "table",    "index",
      "query",   "user",   "version",   "release",   "feature", "support",  "change",   "issue",
      "test",    "build",  "run",       "start",     "end",     "first",    "last",     "new",
      "large",   "small",  "fast",      "slow",      "with",    "from",     "into",     "over",
      "after",   "before", "while",     "because",   "and",     "or",       "not",      "is",
      "are",     "was",    "be",        "has",       "have",    "will",     "can",      "should",
      "this",    "that",   "it",        "we",        "they",    "you",      "one",      "two",
      "many",    "some",   "all",       "each",      "other",   "more",     "most",     "very",
      "also",    "only",   "then",      "than",      "when",    "where",    "which",    "how",
      "what",    "a",      "of",        "to",        "in",      "for",      "on",       "by",
      "shard",   "epoch",  "optimizer", "scheduler", "warmup",  "tensor",   "device"};
  return *words;
}

// Words are Zipf-picked, as in real text: "the" far more often than "warmup".
const std::string& Word(Rng& rng) { return Words()[Zipf::Get(Words().size(), 1.0).Sample(rng)]; }

std::string Sentence(Rng& rng, int min_words, int max_words) {
  std::string s;
  const int n = min_words + static_cast<int>(rng.Below(max_words - min_words + 1));
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += rng.Chance(0.08) ? ", " : " ";
    s += Word(rng);
  }
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(s[0]));
  return s + (rng.Chance(0.9) ? "." : "?");
}

std::string Identifier(Rng& rng) {
  std::string id = Word(rng);
  for (int i = static_cast<int>(rng.Below(3)); i > 0; --i) absl::StrAppend(&id, "_", Word(rng));
  return id;
}

std::string Logs(Rng& rng, size_t size, bool heldout) {
  if (!heldout && rng.Chance(0.5)) return TrainingLog(size, rng.Next());
  static const std::vector<std::string> kLevels = {"INFO", "INFO", "INFO", "DEBUG", "WARNING"};
  std::string out;
  int64_t ms = 1'700'000'000'000 + static_cast<int64_t>(rng.Below(1'000'000'000));
  for (int step = static_cast<int>(rng.Below(100000)); out.size() < size; ++step) {
    ms += static_cast<int64_t>(rng.Below(5000));
    const std::string level = rng.Pick(kLevels);
    if (rng.Chance(heldout ? 0.3 : 0.15)) {
      absl::StrAppendFormat(&out, "%d.%03d %s [%s.py:%d] %s\n", ms / 1000, ms % 1000, level,
                            Identifier(rng), rng.Below(900) + 10, Sentence(rng, 4, 14));
    } else {
      absl::StrAppendFormat(&out,
                            "%d.%03d %s epoch=%d step=%d loss=%.5f lr=%.2e grad_norm=%.4f "
                            "samples/s=%.1f\n",
                            ms / 1000, ms % 1000, level, step / 5000, step, 2 + rng.Unit(),
                            1e-4 * rng.Unit(), rng.Uniform(0.1, 3), rng.Uniform(100, 900));
    }
  }
  return out;
}

std::string JsonLines(Rng& rng, size_t size, bool heldout) {
  std::string out;
  for (int id = static_cast<int>(rng.Below(1 << 20)); out.size() < size; ++id) {
    absl::StrAppendFormat(&out, R"({"id": %d, "text": "%s", "score": %.6f, "tags": ["%s", "%s"])",
                          id, Sentence(rng, 5, heldout ? 60 : 30), rng.Unit(), Word(rng),
                          Word(rng));
    if (rng.Chance(0.5)) {
      absl::StrAppendFormat(&out, R"(, "meta": {"source": "%s/%s.txt", "tokens": %d})",
                            Identifier(rng), Identifier(rng), rng.Below(4096));
    }
    out += "}\n";
  }
  return out;
}

std::string Csv(Rng& rng, size_t size, bool heldout) {
  const int columns = 3 + static_cast<int>(rng.Below(heldout ? 12 : 8));
  std::string out;
  for (int c = 0; c < columns; ++c) absl::StrAppend(&out, c ? "," : "", Identifier(rng));
  out += "\n";
  for (int row = 0; out.size() < size; ++row) {
    for (int c = 0; c < columns; ++c) {
      if (c) out += ",";
      switch (c % 4) {
        case 0:
          absl::StrAppend(&out, row);
          break;
        case 1:
          absl::StrAppendFormat(&out, "%.4f", rng.Normal() * 10);
          break;
        case 2:
          out += Word(rng);
          break;
        default:
          absl::StrAppendFormat(&out, "2024-%02d-%02dT%02d:%02d:%02d", 1 + rng.Below(12),
                                1 + rng.Below(28), rng.Below(24), rng.Below(60), rng.Below(60));
      }
    }
    out += "\n";
  }
  return out;
}

std::string PythonSource(Rng& rng, size_t size, bool heldout) {
  std::string out = absl::StrCat("import ", Word(rng), "\nimport ", Word(rng), "\n\n");
  while (out.size() < size) {
    absl::StrAppend(&out, "\ndef ", Identifier(rng), "(", Identifier(rng), ", ", Identifier(rng),
                    "=", rng.Below(100), "):\n    \"\"\"", Sentence(rng, 4, 12), "\"\"\"\n");
    for (int i = 2 + static_cast<int>(rng.Below(heldout ? 12 : 8)); i > 0; --i) {
      switch (rng.Below(4)) {
        case 0:
          absl::StrAppend(&out, "    ", Identifier(rng), " = ", Identifier(rng), "(",
                          Identifier(rng), ")\n");
          break;
        case 1:
          absl::StrAppend(&out, "    if ", Identifier(rng), " > ", rng.Below(1000), ":\n        ",
                          Identifier(rng), " += 1\n");
          break;
        case 2:
          absl::StrAppend(&out, "    # ", Sentence(rng, 3, 10), "\n");
          break;
        default:
          absl::StrAppend(&out, "    for ", Word(rng), " in ", Identifier(rng), ":\n        ",
                          Identifier(rng), ".append(", Word(rng), ")\n");
      }
    }
    absl::StrAppend(&out, "    return ", Identifier(rng), "\n");
  }
  return out;
}

std::string CSource(Rng& rng, size_t size, bool heldout) {
  std::string out = "#include <stdint.h>\n#include <stdlib.h>\n\n";
  while (out.size() < size) {
    const std::string a = Identifier(rng), b = Identifier(rng);
    absl::StrAppend(&out, "/* ", Sentence(rng, 4, 12), " */\nstatic int ", Identifier(rng),
                    "(const char *", a, ", size_t ", b, ") {\n  if (", a, " == NULL) return -1;\n");
    for (int i = 1 + static_cast<int>(rng.Below(heldout ? 10 : 6)); i > 0; --i) {
      if (rng.Chance(0.5)) {
        absl::StrAppend(&out, "  for (size_t i = 0; i < ", b, "; ++i) {\n    ", Identifier(rng),
                        "[i] ^= ", a, "[i] & 0x", absl::Hex(rng.Below(256)), ";\n  }\n");
      } else {
        absl::StrAppend(&out, "  ", Identifier(rng), " = ", Identifier(rng), "(", a, ", ",
                        rng.Below(4096), ");\n");
      }
    }
    out += "  return 0;\n}\n\n";
  }
  return out;
}

std::string Markdown(Rng& rng, size_t size, bool heldout) {
  std::string out;
  while (out.size() < size) {
    absl::StrAppend(&out, rng.Chance(0.3) ? "# " : "## ", Sentence(rng, 2, 6), "\n\n");
    for (int i = 1 + static_cast<int>(rng.Below(3)); i > 0; --i) {
      for (int s = 2 + static_cast<int>(rng.Below(heldout ? 8 : 5)); s > 0; --s) {
        absl::StrAppend(&out, Sentence(rng, 5, 20), " ");
      }
      out += "\n\n";
    }
    switch (rng.Below(3)) {
      case 0:
        for (int i = 2 + static_cast<int>(rng.Below(5)); i > 0; --i) {
          absl::StrAppend(&out, "- **", Word(rng), "**: ", Sentence(rng, 3, 10), "\n");
        }
        break;
      case 1:
        absl::StrAppend(&out, "```bash\ncairnctl ", Word(rng), " --", Identifier(rng), " ",
                        rng.Below(100), "\n```\n");
        break;
      default:
        out += "| name | value |\n|---|---:|\n";
        for (int i = 2 + static_cast<int>(rng.Below(5)); i > 0; --i) {
          absl::StrAppend(&out, "| `", Identifier(rng), "` | ", rng.Below(100000), " |\n");
        }
    }
    out += "\n";
  }
  return out;
}

// Words of several languages; the held-out corpus uses languages the
// training corpus never saw, in the same UTF-8 widths (2 and 3 bytes).
const std::vector<std::vector<std::string>>& Languages(bool heldout) {
  static const auto* train = new std::vector<std::vector<std::string>>{
      {"数据", "模型", "训练", "损失", "梯度", "检查点", "集群", "备份", "恢复", "文件", "系统",
       "网络", "性能", "内存", "时间", "结果", "错误",   "的",   "是",   "在",   "了",   "和"},
      {"данные", "модель", "обучение", "потеря", "градиент", "кластер", "резервная", "копия",
       "восстановление", "файл", "система", "сеть", "и", "в", "на", "не", "это", "что"},
      {"データ", "モデル", "学習", "損失", "勾配", "クラスタ", "バックアップ", "復元", "ファイル",
       "システム", "です", "ます", "これは", "そして", "の", "を", "に"},
      {"Größe", "Übung", "Daten", "Modell", "Sicherung", "Wiederherstellung", "für", "über",
       "können", "Schlüssel", "die", "der", "und", "ist", "nicht", "wird", "mit"},
      {"البيانات", "النموذج", "التدريب", "الخسارة", "النظام", "الملف", "في", "من", "على", "هذا",
       "إلى", "أن"}};
  static const auto* heldout_languages = new std::vector<std::vector<std::string>>{
      {"δεδομένα", "μοντέλο", "εκπαίδευση", "απώλεια", "σύστημα", "αρχείο", "και", "το", "η",
       "είναι", "για", "με", "στο"},
      {"डेटा", "मॉडल", "प्रशिक्षण", "हानि", "प्रणाली", "फ़ाइल", "और", "है", "के", "में", "यह", "को"},
      {"데이터", "모델", "학습", "손실", "시스템", "파일", "그리고", "있다", "이", "는", "을",
       "에서"},
      {"données", "modèle", "entraînement", "perte", "système", "fichier", "sauvegardé", "être",
       "à", "où", "déjà", "très", "et", "le", "la"}};
  return heldout ? *heldout_languages : *train;
}

std::string Utf8Prose(Rng& rng, size_t size, bool heldout) {
  const std::vector<std::string> words = rng.Pick(Languages(heldout));
  const bool spaced = words[0].size() < 6 || rng.Chance(0.5);
  std::string out;
  while (out.size() < size) {
    for (int i = 4 + static_cast<int>(rng.Below(20)); i > 0; --i) {
      out += rng.Chance(0.05) ? Word(rng) : rng.Pick(words);
      if (spaced) out += ' ';
    }
    out += rng.Chance(0.5) ? "。" : ".";
    if (rng.Chance(0.2)) absl::StrAppend(&out, " ", rng.Below(10000));
    out += rng.Chance(0.3) ? "\n" : " ";
  }
  return out;
}

// Binary carried as text: PEM blocks, base64 fields of JSON lines, hex dumps.
std::string EncodedText(Rng& rng, size_t size, bool heldout) {
  static constexpr char kBase64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const int kind = static_cast<int>(rng.Below(3));
  const size_t width = heldout ? 48 + 4 * rng.Below(12) : rng.Pick<size_t>({64, 76});
  std::string out;
  while (out.size() < size) {
    if (kind == 0) absl::StrAppend(&out, "-----BEGIN ", Word(rng), " KEY-----\n");
    if (kind == 1) absl::StrAppend(&out, R"({"id": )", rng.Below(100000), R"(, "data": ")");
    const size_t lines = 1 + rng.Below(40);
    for (size_t l = 0; l < lines; ++l) {
      if (kind == 2) absl::StrAppendFormat(&out, "%08x  ", out.size());
      for (size_t c = 0; c < (kind == 2 ? 16 : width); ++c) {
        if (kind == 2) {
          absl::StrAppendFormat(&out, "%02x ", rng.Below(256));
        } else {
          out += kBase64[rng.Below(64)];
        }
      }
      if (kind != 1) out += '\n';
    }
    if (kind == 0) absl::StrAppend(&out, "-----END ", Word(rng), " KEY-----\n");
    if (kind == 1) out += "=\"}\n";
  }
  return out;
}

// Compressed ---------------------------------------------------------------

std::string AnyText(Rng& rng, size_t size, bool heldout) {
  static constexpr Generator kText[] = {Logs,    JsonLines, Csv,      PythonSource,
                                        CSource, Markdown,  Utf8Prose};
  return kText[rng.Below(std::size(kText))](rng, size, heldout);
}

// Compresses text with `compress` until the output is at least `size` bytes.
template <typename Compress>
std::string CompressUntil(Rng& rng, size_t size, bool heldout, Compress compress) {
  for (size_t input = size * 4;; input *= 2) {
    std::string out = compress(AnyText(rng, input, heldout));
    if (out.size() >= size) return out;
  }
}

std::string ZstdText(Rng& rng, size_t size, bool heldout) {
  const int level = heldout ? rng.Pick<int>({2, 5, 12, 17}) : rng.Pick<int>({1, 3, 7, 19});
  return CompressUntil(rng, size, heldout, [level](const std::string& in) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level));
    return out;
  });
}

std::string Lz4Text(Rng& rng, size_t size, bool heldout) {
  const int level = heldout ? rng.Pick<int>({0, 6, 10}) : rng.Pick<int>({0, 0, 9, 12});
  return CompressUntil(rng, size, heldout, [level](const std::string& in) {
    std::string out(LZ4_compressBound(static_cast<int>(in.size())), '\0');
    const int n = level == 0
                      ? LZ4_compress_default(in.data(), out.data(), static_cast<int>(in.size()),
                                             static_cast<int>(out.size()))
                      : LZ4_compress_HC(in.data(), out.data(), static_cast<int>(in.size()),
                                        static_cast<int>(out.size()), level);
    out.resize(std::max(n, 0));
    return out;
  });
}

#ifdef CAIRN_HAVE_ZLIB
std::string ZlibText(Rng& rng, size_t size, bool heldout) {
  const int level = heldout ? rng.Pick<int>({2, 5, 8}) : rng.Pick<int>({1, 6, 9});
  return CompressUntil(rng, size, heldout, [level](const std::string& in) {
    uLongf n = compressBound(in.size());
    std::string out(n, '\0');
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &n,
                  reinterpret_cast<const Bytef*>(in.data()), in.size(), level) != Z_OK) {
      n = 0;
    }
    out.resize(n);
    return out;
  });
}
#endif

// zstd over binary data (tokens, weights): compressed, but from a source that
// is not text.
std::string ZstdBinary(Rng& rng, size_t size, bool heldout) {
  static constexpr Generator kBinary[] = {Bf16Scaled, TokensU16, TokensWide, GrowingInt32,
                                          Fp32AdamSquares};
  const Generator source = kBinary[rng.Below(std::size(kBinary))];
  const int level = heldout ? rng.Pick<int>({2, 9}) : rng.Pick<int>({1, 3, 19});
  for (size_t input = size * 2;; input *= 2) {
    const std::string in = source(rng, input, heldout);
    std::string out(ZSTD_compressBound(in.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level));
    if (out.size() >= size) return out;
  }
}

std::string Random(Rng& rng, size_t size, bool) { return RandomBytes(size, rng.Next()); }

// Encrypted chunks as a backup tool stores them: random bytes framed by small
// plaintext headers (length, key id, nonce).
std::string SealedChunks(Rng& rng, size_t size, bool heldout) {
  std::string out;
  const uint32_t key_id = static_cast<uint32_t>(rng.Next());
  while (out.size() < size) {
    const size_t body = (heldout ? 512 : 1024) + rng.Below(64 * kKiB);
    Put32(out, 0x43524e31);
    Put32(out, static_cast<uint32_t>(body));
    Put32(out, key_id);
    out += RandomBytes(24 + body, rng.Next());
  }
  return out;
}

// Other --------------------------------------------------------------------

std::string PaddedText(Rng& rng, size_t width) {
  std::string s = Identifier(rng).substr(0, width);
  s.resize(width, '\0');
  return s;
}

// Log-structured records: binary headers, text fields, short arrays of
// numbers, protobuf-like varints.
std::string Records(Rng& rng, size_t size, bool heldout) {
  std::string out;
  uint64_t ts = 1'700'000'000'000 + rng.Below(1'000'000'000);
  while (out.size() < size) {
    const std::string text = rng.Chance(0.5) ? Sentence(rng, 2, heldout ? 16 : 10)
                                             : absl::StrCat("/", Identifier(rng), "/", Word(rng));
    Put32(out, 0xfeedf00d ^ static_cast<uint32_t>(rng.Below(4)));
    Put32(out, static_cast<uint32_t>(text.size()));
    Put64(out, ts += rng.Below(100000));
    out += text;
    switch (rng.Below(3)) {
      case 0:
        for (int i = static_cast<int>(rng.Below(12)); i > 0; --i) {
          PutF32(out, static_cast<float>(rng.Normal()));
        }
        break;
      case 1:
        for (int i = static_cast<int>(rng.Below(12)); i > 0; --i) {
          Put8(out, static_cast<uint8_t>(8 * (1 + rng.Below(15))));  // field tag
          for (uint64_t v = rng.Below(uint64_t{1} << (7 * (1 + rng.Below(4))));; v >>= 7) {
            Put8(out, static_cast<uint8_t>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
            if (v < 0x80) break;
          }
        }
        break;
      default:
        for (int i = static_cast<int>(rng.Below(6)); i > 0; --i) {
          Put16(out, static_cast<uint16_t>(rng.Below(512)));
        }
    }
    out.resize((out.size() + 7) / 8 * 8, '\0');
  }
  return out;
}

// One struct of mixed fields, as in an index or a metadata table.
struct StructLayout {
  int text_bytes;
  int floats;
  int u16s;
  bool timestamp;
  bool flags;
};

StructLayout RandomLayout(Rng& rng, bool heldout) {
  StructLayout l;
  l.text_bytes = rng.Chance(heldout ? 0.6 : 0.7) ? 4 + 4 * static_cast<int>(rng.Below(8)) : 0;
  l.floats = static_cast<int>(rng.Below(4));
  l.u16s = static_cast<int>(rng.Below(3));
  l.timestamp = rng.Chance(0.5);
  l.flags = rng.Chance(0.7);
  // An array of integers alone would be integers, not other.
  if (l.text_bytes == 0 && l.floats == 0) l.floats = 1 + static_cast<int>(rng.Below(3));
  return l;
}

void AppendStruct(Rng& rng, const StructLayout& l, uint32_t id, std::string& out) {
  Put32(out, id);
  if (l.flags) {
    Put8(out, static_cast<uint8_t>(rng.Below(4)));
    Put8(out, static_cast<uint8_t>(1u << rng.Below(8)));
    Put16(out, 0);
  }
  for (int i = 0; i < l.u16s; ++i) Put16(out, static_cast<uint16_t>(rng.Below(300)));
  if (l.u16s % 2) Put16(out, 0);
  for (int i = 0; i < l.floats; ++i) PutF32(out, static_cast<float>(rng.Unit() * 100));
  if (l.timestamp) Put64(out, 1'700'000'000 + rng.Below(1'000'000));
  if (l.text_bytes) out += PaddedText(rng, l.text_bytes);
}

std::string StructArray(Rng& rng, size_t size, bool heldout) {
  const StructLayout layout = RandomLayout(rng, heldout);
  std::string out;
  for (uint32_t id = static_cast<uint32_t>(rng.Below(100000)); out.size() < size;
       id += 1 + static_cast<uint32_t>(rng.Below(3))) {
    AppendStruct(rng, layout, id, out);
  }
  return out;
}

// A sparse file: long runs of zeros (or of 0xff, erased flash) between small
// structs.
std::string Sparse(Rng& rng, size_t size, bool heldout) {
  const StructLayout layout = RandomLayout(rng, heldout);
  const size_t max_gap = heldout ? 3 * kKiB : 2 * kKiB;
  const char fill = rng.Chance(0.25) ? '\xff' : '\0';
  std::string out;
  for (uint32_t id = 0; out.size() < size; ++id) {
    out.append(64 + rng.Below(max_gap), fill);
    for (int i = 1 + static_cast<int>(rng.Below(8)); i > 0; --i) {
      AppendStruct(rng, layout, id, out);
    }
  }
  return out;
}

// Tables of an ELF file: symbols, relocations, section headers and the string
// table they point into, in blocks as a linker lays them out.
std::string ElfTables(Rng& rng, size_t size, bool heldout) {
  std::string out;
  uint64_t address = 0x1000 + rng.Below(0x100000);
  uint32_t name = 1;
  while (out.size() < size) {
    const size_t block_end = out.size() + (heldout ? 512 : 1024) + rng.Below(6 * kKiB);
    switch (rng.Below(4)) {
      case 0:  // Elf64_Sym
        while (out.size() < block_end) {
          Put32(out, name += 4 + static_cast<uint32_t>(rng.Below(40)));
          Put8(out, rng.Pick<uint8_t>({0x12, 0x11, 0x22, 0x10}));
          Put8(out, 0);
          Put16(out, static_cast<uint16_t>(rng.Below(30)));
          Put64(out, address += rng.Below(512));
          Put64(out, rng.Below(1024));
        }
        break;
      case 1:  // Elf64_Rela
        while (out.size() < block_end) {
          Put64(out, address += 8);
          Put64(out, (rng.Below(2000) << 32) | rng.Pick<uint64_t>({6, 7, 8, 1}));
          Put64(out, rng.Chance(0.5) ? 0 : rng.Below(1 << 20));
        }
        break;
      case 2:  // Elf64_Shdr
        while (out.size() < block_end) {
          Put32(out, static_cast<uint32_t>(rng.Below(300)));
          Put32(out, static_cast<uint32_t>(rng.Below(12)));
          Put64(out, rng.Below(8));
          Put64(out, address);
          Put64(out, address - 0x1000);
          Put64(out, rng.Below(1 << 16));
          Put32(out, static_cast<uint32_t>(rng.Below(40)));
          Put32(out, 0);
          Put64(out, uint64_t{1} << rng.Below(6));
          Put64(out, rng.Chance(0.7) ? 0 : 24);
        }
        break;
      default:  // .dynstr
        while (out.size() < block_end) {
          absl::StrAppend(&out, rng.Chance(0.5) ? "_ZN5cairn" : "", Identifier(rng));
          Put8(out, 0);
        }
    }
  }
  return out;
}

// Raw 8-bit image rows (gray or RGB): smooth gradients plus sensor noise.
std::string Pixels(Rng& rng, size_t size, bool heldout) {
  const int channels = rng.Chance(0.5) ? 3 : 1;
  const int width = 256 + static_cast<int>(rng.Below(1800));
  const double noise = heldout ? rng.Uniform(1, 12) : rng.Pick<double>({2, 5, 9});
  std::vector<double> base(channels), slope(channels);
  for (int c = 0; c < channels; ++c) base[c] = rng.Uniform(20, 230), slope[c] = rng.Normal();
  std::string out;
  for (int y = 0; out.size() < size; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        const double v = base[c] + 60 * std::sin((x * slope[c] + y) / 97.0) + noise * rng.Normal();
        Put8(out, static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Real files

struct SystemFiles {
  std::vector<std::string> other;       // ELF executables and libraries
  std::vector<std::string> compressed;  // gzip files
};

bool HasMagic(const std::string& path, absl::string_view magic) {
  std::ifstream in(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  return in.read(head.data(), static_cast<std::streamsize>(head.size())) && head == magic;
}

std::vector<std::string> ListFiles(const std::string& dir, bool recursive,
                                   const std::function<bool(const std::string&)>& keep) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  auto visit = [&](const fs::directory_entry& e) {
    std::error_code e2;
    if (!e.is_regular_file(e2) || e.is_symlink(e2) || e.file_size(e2) < 2 * kMinSample) return;
    if (keep(e.path().string())) out.push_back(e.path().string());
  };
  if (recursive) {
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      visit(*it);
    }
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) visit(*it);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Sorted, then shuffled by a fixed seed, then dealt alternately to the two
// corpora: the same machine always gives the same, disjoint selections.
std::vector<std::string> Deal(std::vector<std::string> files, bool heldout) {
  Rng rng(0xf11e5);
  for (size_t i = files.size(); i > 1; --i) std::swap(files[i - 1], files[rng.Below(i)]);
  std::vector<std::string> half;
  for (size_t i = heldout ? 1 : 0; i < files.size(); i += 2) half.push_back(files[i]);
  return half;
}

SystemFiles FindSystemFiles(bool heldout) {
  auto elf = [](const std::string& p) { return HasMagic(p, "\177ELF"); };
  std::vector<std::string> other = ListFiles("/usr/lib/x86_64-linux-gnu", false, [&](auto& p) {
    return p.find(".so") != std::string::npos && elf(p);
  });
  std::vector<std::string> bins = ListFiles("/usr/bin", false, elf);
  other.insert(other.end(), bins.begin(), bins.end());
  std::vector<std::string> gz = ListFiles("/usr/share/doc", true, [](const std::string& p) {
    return p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0 && HasMagic(p, "\x1f\x8b");
  });
  return {Deal(std::move(other), heldout), Deal(std::move(gz), heldout)};
}

// ---------------------------------------------------------------------------
// Corpus

struct Source {
  DataClass label;
  std::string name;
  Generator generate = nullptr;                     // or
  const std::vector<std::string>* files = nullptr;  // real files, one per sample in turn
};

std::vector<Source> Sources(const SystemFiles* system) {
  using C = DataClass;
  std::vector<Source> s = {
      {C::kFloats, "bf16-normal", Bf16Scaled},
      {C::kFloats, "bf16-norm-weights", Bf16NormWeights},
      {C::kFloats, "fp16-normal", Fp16Normal},
      {C::kFloats, "fp32-normal", Fp32Scaled},
      {C::kFloats, "fp32-adam-squares", Fp32AdamSquares},
      {C::kFloats, "fp32-uniform", Fp32Uniform},
      {C::kFloats, "fp32-near-one", Fp32NearOne},
      {C::kFloats, "fp32-upcast", Fp32Upcast},
      {C::kFloats, "floats-with-zeros", FloatsWithZeros},
      {C::kIntegers, "u16-tokens", TokensU16},
      {C::kIntegers, "u32-u64-tokens", TokensWide},
      {C::kIntegers, "u8-ids", IdsU8},
      {C::kIntegers, "i32-growing", GrowingInt32},
      {C::kIntegers, "i64-counters", Counters64},
      {C::kIntegers, "uniform-ids", UniformIds},
      {C::kText, "logs", Logs},
      {C::kText, "jsonl", JsonLines},
      {C::kText, "csv", Csv},
      {C::kText, "python", PythonSource},
      {C::kText, "c-source", CSource},
      {C::kText, "markdown", Markdown},
      {C::kText, "utf8-prose", Utf8Prose},
      {C::kText, "encoded-text", EncodedText},
      {C::kCompressed, "zstd-text", ZstdText},
      {C::kCompressed, "lz4-text", Lz4Text},
#ifdef CAIRN_HAVE_ZLIB
      {C::kCompressed, "zlib-text", ZlibText},
#endif
      {C::kCompressed, "zstd-binary", ZstdBinary},
      {C::kCompressed, "random", Random},
      {C::kCompressed, "sealed-chunks", SealedChunks},
      {C::kOther, "records", Records},
      {C::kOther, "struct-array", StructArray},
      {C::kOther, "sparse", Sparse},
      {C::kOther, "elf-tables", ElfTables},
      {C::kOther, "pixels", Pixels},
  };
  if (system != nullptr) {
    if (!system->compressed.empty()) {
      s.push_back({C::kCompressed, "system-gz", nullptr, &system->compressed});
    }
    if (!system->other.empty()) s.push_back({C::kOther, "system-elf", nullptr, &system->other});
  }
  return s;
}

struct Sample {
  int label;  // index of the scored class
  int source;
  Features features;
};

struct Corpus {
  std::vector<Sample> samples;
  std::vector<std::string> files_used;
  uint64_t bytes = 0;
  double feature_seconds = 0;
};

absl::StatusOr<std::string> ReadRange(const std::string& path, uint64_t offset, size_t size) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  std::string out(size, '\0');
  const ssize_t n = pread(fd.get(), out.data(), size, static_cast<off_t>(offset));
  if (n < 0) return absl::InternalError(absl::StrCat("pread ", path, ": ", std::strerror(errno)));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A sample of 4-64 KiB of one real file, at a random offset.
absl::StatusOr<std::string> FileSample(Rng& rng, const std::string& path, size_t size) {
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(path, ": ", ec.message()));
  size = std::min<uint64_t>(size, file_size);
  return ReadRange(path, rng.Below(file_size - size + 1), size);
}

absl::StatusOr<Corpus> MakeCorpus(int per_class, uint64_t seed, bool heldout,
                                  const std::vector<Source>& sources) {
  Corpus corpus;
  std::vector<size_t> next_file(sources.size(), 0);
  for (int k = 0; k < kNumScoredClasses; ++k) {
    std::vector<int> of_class;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (sources[i].label == ScoredClass(k)) of_class.push_back(static_cast<int>(i));
    }
    for (int j = 0; j < per_class; ++j) {
      const int src = of_class[j % of_class.size()];
      const Source& source = sources[src];
      Rng rng(Mix(seed, static_cast<uint64_t>(k) << 32 | static_cast<uint64_t>(j)));
      const size_t size = kMinSample + rng.Below(kMaxSample - kMinSample + 1);
      std::string sample;
      if (source.files != nullptr) {
        const std::string& path = (*source.files)[next_file[src]++ % source.files->size()];
        ASSIGN_OR_RETURN(sample, FileSample(rng, path, size));
        corpus.files_used.push_back(path);
      } else {
        const size_t lead = rng.Below(kMaxLead);
        sample = source.generate(rng, lead + size, heldout).substr(lead, size);
      }
      const auto start = std::chrono::steady_clock::now();
      const Features features = ComputeFeatures(sample);
      corpus.feature_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      corpus.bytes += sample.size();
      corpus.samples.push_back({k, src, features});
    }
  }
  std::sort(corpus.files_used.begin(), corpus.files_used.end());
  corpus.files_used.erase(std::unique(corpus.files_used.begin(), corpus.files_used.end()),
                          corpus.files_used.end());
  return corpus;
}

// ---------------------------------------------------------------------------
// Training

// Standardization from the training corpus; a floor on the deviation keeps a
// feature that barely varies from getting a huge weight.
void Standardize(const std::vector<Sample>& samples, ClassifierParameters& p) {
  const double n = static_cast<double>(samples.size());
  for (int i = 0; i < kNumFeatures; ++i) {
    double sum = 0, sum_sq = 0;
    for (const Sample& s : samples) sum += s.features[i], sum_sq += s.features[i] * s.features[i];
    const double mean = sum / n;
    p.mean[i] = static_cast<float>(mean);
    p.stddev[i] =
        static_cast<float>(std::max(1e-3, std::sqrt(std::max(0.0, sum_sq / n - mean * mean))));
  }
}

using Matrix = std::vector<std::array<double, kNumFeatures + 1>>;  // features, then 1 (bias)

Matrix DesignMatrix(const std::vector<Sample>& samples, const ClassifierParameters& p) {
  Matrix x(samples.size());
  for (size_t r = 0; r < samples.size(); ++r) {
    for (int i = 0; i < kNumFeatures; ++i) {
      x[r][i] = (samples[r].features[i] - p.mean[i]) / p.stddev[i];
    }
    x[r][kNumFeatures] = 1;
  }
  return x;
}

using Weights = std::array<std::array<double, kNumFeatures + 1>, kNumScoredClasses>;

// Mean cross-entropy plus l2/2 |w|^2 (biases exempt), and its gradient.
double LossAndGradient(const Matrix& x, const std::vector<Sample>& samples, const Weights& w,
                       double l2, Weights& grad) {
  grad = {};
  double loss = 0;
  for (size_t r = 0; r < x.size(); ++r) {
    std::array<double, kNumScoredClasses> z;
    for (int k = 0; k < kNumScoredClasses; ++k) {
      z[k] = 0;
      for (int i = 0; i <= kNumFeatures; ++i) z[k] += w[k][i] * x[r][i];
    }
    const double top = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (double& v : z) sum += v = std::exp(v - top);
    loss -= std::log(z[samples[r].label] / sum);
    for (int k = 0; k < kNumScoredClasses; ++k) {
      const double residual = z[k] / sum - (k == samples[r].label ? 1 : 0);
      for (int i = 0; i <= kNumFeatures; ++i) grad[k][i] += residual * x[r][i];
    }
  }
  const double n = static_cast<double>(x.size());
  loss /= n;
  for (int k = 0; k < kNumScoredClasses; ++k) {
    for (int i = 0; i <= kNumFeatures; ++i) {
      grad[k][i] /= n;
      if (i < kNumFeatures) loss += 0.5 * l2 * w[k][i] * w[k][i], grad[k][i] += l2 * w[k][i];
    }
  }
  return loss;
}

// Full-batch gradient descent with Nesterov momentum: the problem is convex
// and small (a few thousand rows), so this is exact enough and deterministic.
ClassifierParameters Train(const std::vector<Sample>& samples, int iterations, double l2,
                           double* final_loss) {
  ClassifierParameters p;
  Standardize(samples, p);
  const Matrix x = DesignMatrix(samples, p);
  Weights w{}, velocity{}, grad;
  constexpr double kRate = 0.5, kMomentum = 0.9;
  for (int it = 0; it < iterations; ++it) {
    Weights ahead = w;
    for (int k = 0; k < kNumScoredClasses; ++k) {
      for (int i = 0; i <= kNumFeatures; ++i) ahead[k][i] += kMomentum * velocity[k][i];
    }
    *final_loss = LossAndGradient(x, samples, ahead, l2, grad);
    for (int k = 0; k < kNumScoredClasses; ++k) {
      for (int i = 0; i <= kNumFeatures; ++i) {
        velocity[k][i] = kMomentum * velocity[k][i] - kRate * grad[k][i];
        w[k][i] += velocity[k][i];
      }
    }
  }
  for (int k = 0; k < kNumScoredClasses; ++k) {
    for (int i = 0; i < kNumFeatures; ++i) p.weights[k][i] = static_cast<float>(w[k][i]);
    p.bias[k] = static_cast<float>(w[k][kNumFeatures]);
  }
  return p;
}

// ---------------------------------------------------------------------------
// Evaluation and report

struct Evaluation {
  std::array<std::array<int, kNumScoredClasses + 1>, kNumScoredClasses> confusion{};  // +unknown
  std::map<std::string, std::pair<int, int>> by_source;  // right, total
  int right = 0;
  int total = 0;
  double accuracy() const { return total == 0 ? 0 : static_cast<double>(right) / total; }
};

Evaluation Evaluate(const DataClassifier& model, const Corpus& corpus,
                    const std::vector<Source>& sources) {
  Evaluation e;
  for (const Sample& s : corpus.samples) {
    const DataClass predicted = model.Predict(s.features);
    const int column =
        predicted == DataClass::kUnknown ? kNumScoredClasses : static_cast<int>(predicted) - 1;
    ++e.confusion[s.label][column];
    const bool right = column == s.label;
    e.right += right;
    ++e.total;
    auto& [source_right, source_total] = e.by_source[sources[s.source].name];
    source_right += right;
    ++source_total;
  }
  return e;
}

absl::Status WritePlotCsv(const std::string& path, const DataClassifier& model,
                          const Corpus& corpus, const std::vector<Source>& sources) {
  std::string csv = "x,y,class,predicted,source\n";
  for (const Sample& s : corpus.samples) {
    const auto [x, y] = PlotCoordinates(s.features);
    absl::StrAppendFormat(&csv, "%.5f,%.5f,%s,%s,%s\n", x, y, DataClassName(ScoredClass(s.label)),
                          DataClassName(model.Predict(s.features)), sources[s.source].name);
  }
  return WriteFileAtomically(path, csv);
}

std::string ModelFileText(const DataClassifier& model, const Evaluation& heldout, int train_size,
                          uint64_t seed, bool system_files) {
  return absl::StrCat(
      "# The data classifier's model (common/data_classifier.h): multinomial logistic\n"
      "# regression over standardized sample features, embedded into cairn_common at\n"
      "# build time. Written by bench/train_classifier.sh; do not edit by hand.\n",
      absl::StrFormat("# Trained on %d samples (seed %d%s); held-out accuracy %.2f%% on %d.\n",
                      train_size, seed, system_files ? ", with system files" : "",
                      100 * heldout.accuracy(), heldout.total),
      model.Serialize());
}

int ModelSize() { return 2 * kNumFeatures + kNumScoredClasses * (kNumFeatures + 1); }

std::string ConfusionText(const Evaluation& e) {
  std::string out = absl::StrFormat("%-12s", "true\\pred");
  for (int k = 0; k < kNumScoredClasses; ++k) {
    absl::StrAppendFormat(&out, "%11s", DataClassName(ScoredClass(k)));
  }
  out += "    unknown\n";
  for (int k = 0; k < kNumScoredClasses; ++k) {
    absl::StrAppendFormat(&out, "%-12s", DataClassName(ScoredClass(k)));
    for (int count : e.confusion[k]) absl::StrAppendFormat(&out, "%11d", count);
    out += "\n";
  }
  return out;
}

std::string JsonStrings(const std::vector<std::string>& v) {
  std::vector<std::string> quoted;
  for (const std::string& s : v) quoted.push_back(absl::StrCat("\"", s, "\""));
  return absl::StrCat("[", absl::StrJoin(quoted, ","), "]");
}

struct Report {
  Evaluation train;
  Evaluation heldout;
  const Corpus* train_corpus;
  const Corpus* heldout_corpus;
  double loss;
  std::string out_path;
};

double NanosPerByte(const Corpus& c) {
  return 1e9 * c.feature_seconds / static_cast<double>(c.bytes);
}

void PrintText(const Report& r) {
  std::cout << absl::StrFormat(
      "features: %s\nmodel: %d numbers, written to %s\nfinal training loss: %.4f\n"
      "training accuracy: %.2f%% (%d samples)\nheld-out accuracy: %.2f%% (%d samples)\n"
      "ComputeFeatures: %.3f ns/byte over the held-out samples\n\nheld-out confusion "
      "(rows: true class, columns: predicted):\n%s\nheld-out accuracy by generator:\n",
      absl::StrJoin(FeatureNames(), " "), ModelSize(), r.out_path, r.loss, 100 * r.train.accuracy(),
      r.train.total, 100 * r.heldout.accuracy(), r.heldout.total, NanosPerByte(*r.heldout_corpus),
      ConfusionText(r.heldout));
  for (const auto& [name, counts] : r.heldout.by_source) {
    std::cout << absl::StrFormat("  %-20s %6.2f%% of %d\n", name,
                                 100.0 * counts.first / counts.second, counts.second);
  }
  std::cout << "\nsystem files sampled for the held-out corpus ("
            << r.heldout_corpus->files_used.size() << "):\n";
  for (const std::string& f : r.heldout_corpus->files_used) std::cout << "  " << f << "\n";
  std::cout << "(training used " << r.train_corpus->files_used.size() << " other system files)\n";
}

void PrintJson(const Report& r) {
  std::string rows;
  for (int k = 0; k < kNumScoredClasses; ++k) {
    absl::StrAppend(&rows, k ? "," : "", "[", absl::StrJoin(r.heldout.confusion[k], ","), "]");
  }
  std::string by_source;
  for (const auto& [name, counts] : r.heldout.by_source) {
    absl::StrAppendFormat(&by_source, "%s\"%s\":{\"right\":%d,\"total\":%d}",
                          by_source.empty() ? "" : ",", name, counts.first, counts.second);
  }
  std::vector<std::string> classes, features(FeatureNames().begin(), FeatureNames().end());
  for (int k = 0; k < kNumScoredClasses; ++k) classes.emplace_back(DataClassName(ScoredClass(k)));
  classes.emplace_back("unknown");
  std::cout << absl::StrFormat(
      "{\"model\":\"%s\",\"model_numbers\":%d,\"features\":%s,\"train_accuracy\":%.6f,"
      "\"train_samples\":%d,\"heldout_accuracy\":%.6f,\"heldout_samples\":%d,"
      "\"feature_ns_per_byte\":%.4f,\"confusion_classes\":%s,\"heldout_confusion\":[%s],"
      "\"heldout_by_source\":{%s},\"heldout_system_files\":%s,\"train_system_files\":%s}\n",
      r.out_path, ModelSize(), JsonStrings(features), r.train.accuracy(), r.train.total,
      r.heldout.accuracy(), r.heldout.total, NanosPerByte(*r.heldout_corpus), JsonStrings(classes),
      rows, by_source, JsonStrings(r.heldout_corpus->files_used),
      JsonStrings(r.train_corpus->files_used));
}

void ZeroFeatures(const std::vector<std::string>& names, std::vector<Corpus*> corpora) {
  for (const std::string& name : names) {
    const auto& all = FeatureNames();
    const auto it = std::find(all.begin(), all.end(), name);
    if (it == all.end()) continue;
    for (Corpus* c : corpora) {
      for (Sample& s : c->samples) s.features[it - all.begin()] = 0;
    }
  }
}

absl::Status Run() {
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const bool use_system = absl::GetFlag(FLAGS_system_files);
  const SystemFiles train_files = use_system ? FindSystemFiles(false) : SystemFiles{};
  const SystemFiles heldout_files = use_system ? FindSystemFiles(true) : SystemFiles{};
  const std::vector<Source> train_sources = Sources(use_system ? &train_files : nullptr);
  const std::vector<Source> heldout_sources = Sources(use_system ? &heldout_files : nullptr);

  ASSIGN_OR_RETURN(Corpus train,
                   MakeCorpus(absl::GetFlag(FLAGS_train_per_class), seed, false, train_sources));
  ASSIGN_OR_RETURN(Corpus heldout, MakeCorpus(absl::GetFlag(FLAGS_test_per_class),
                                              seed + kHeldOutSeedOffset, true, heldout_sources));
  ZeroFeatures(absl::GetFlag(FLAGS_ignore_features), {&train, &heldout});
  double loss = 0;
  ASSIGN_OR_RETURN(const DataClassifier model,
                   DataClassifier::Create(Train(train.samples, absl::GetFlag(FLAGS_iterations),
                                                absl::GetFlag(FLAGS_l2), &loss)));
  Report report{Evaluate(model, train, train_sources),
                Evaluate(model, heldout, heldout_sources),
                &train,
                &heldout,
                loss,
                absl::GetFlag(FLAGS_out)};
  RETURN_IF_ERROR(WriteFileAtomically(
      report.out_path, ModelFileText(model, report.heldout, report.train.total, seed, use_system)));
  if (const std::string csv = absl::GetFlag(FLAGS_plot_csv); !csv.empty()) {
    RETURN_IF_ERROR(WritePlotCsv(csv, model, heldout, heldout_sources));
  }
  absl::GetFlag(FLAGS_json) ? PrintJson(report) : PrintText(report);
  return absl::OkStatus();
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) {
  std::vector<std::string> flag_storage = cairn::NormalizeFlagNames(argc, argv);
  absl::SetProgramUsageMessage(
      "cairn_classifier_train: trains common/classifier_model.txt on a seeded corpus and "
      "reports held-out accuracy.\n\n"
      "  cairn_classifier_train [--out FILE] [--json] [--seed N] [--system_files=false]");
  absl::ParseCommandLine(argc, argv);
  absl::Status status = cairn::bench::Run();
  if (!status.ok()) {
    std::cerr << "cairn_classifier_train: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

#include "common/data_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "common/classifier_model_text.h"
#include "common/status_macros.h"
namespace cairn {
namespace {

enum Feature {
  kEntropy,
  kZero,
  kAscii,
  kDistinct,
  kUtf8Pairs,
  kBigrams,
  kLane2Min,
  kLane2Max,
  kSign2,
  kSmall2,
  kLane4Min,
  kLane4Mid,
  kLane4Max,
  kSign4,
  kZero4,
  kZero8,
  kRepeat1,
  kRepeat2,
  kRepeat4,
  kRepeat8,
  kFeatureCount,
};
static_assert(kFeatureCount == kNumFeatures);

constexpr std::array<absl::string_view, kNumFeatures> kFeatureNames = {
    "entropy",   "zero",  "ascii",   "distinct",  "utf8_pairs", "bigrams",   "lane2_min",
    "lane2_max", "sign2", "small2",  "lane4_min", "lane4_mid",  "lane4_max", "sign4",
    "zero4",     "zero8", "repeat1", "repeat2",   "repeat4",    "repeat8",
};

constexpr absl::string_view kModelMagic = "cairn-data-classifier";
constexpr absl::string_view kModelVersion = "1";
// A real model is a few KiB; the bound keeps hostile input from costing much.
constexpr size_t kMaxModelTextBytes = 1 << 20;

// ---------------------------------------------------------------------------
// Features: one pass for byte histograms, one vectorized pass comparing
// bytes with earlier ones, and a bigram count over a few KiB.

using Histogram = std::array<uint32_t, 256>;

// Byte counts of the four lanes of offsets mod 4, and of what they make up.
struct LaneHistograms {
  std::array<Histogram, 4> lane4{};
  std::array<uint64_t, 4> size4{};
  std::array<Histogram, 2> lane2{};
  std::array<uint64_t, 2> size2{};
  Histogram all{};
  uint64_t size = 0;
};

LaneHistograms CountLanes(const uint8_t* p, size_t n) {
  // 16-bit counters (a lane sees at most kMaxSampleBytes / 4 bytes) keep the
  // tables in 2 KiB of L1; one table per lane keeps increments of the same
  // counter from waiting on each other.
  static_assert(kMaxSampleBytes / 4 <= 0xffff);
  std::array<std::array<uint16_t, 256>, 4> counts{};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    ++counts[0][p[i]];
    ++counts[1][p[i + 1]];
    ++counts[2][p[i + 2]];
    ++counts[3][p[i + 3]];
  }
  for (; i < n; ++i) ++counts[i % 4][p[i]];
  LaneHistograms h;
  for (int l = 0; l < 4; ++l) {
    std::copy(counts[l].begin(), counts[l].end(), h.lane4[l].begin());
    h.size4[l] = n / 4 + (static_cast<size_t>(l) < n % 4 ? 1 : 0);
  }
  for (int l = 0; l < 2; ++l) {
    for (int v = 0; v < 256; ++v) h.lane2[l][v] = h.lane4[l][v] + h.lane4[l + 2][v];
    h.size2[l] = h.size4[l] + h.size4[l + 2];
  }
  for (int v = 0; v < 256; ++v) h.all[v] = h.lane2[0][v] + h.lane2[1][v];
  h.size = n;
  return h;
}

// c * log2(c) for the counts most bins hold, so a sample's ~2,000 bins cost
// table lookups, not logarithms.
constexpr uint32_t kCLogCTableSize = 4096;
const float* CLogCTable() {
  static const float* const table = [] {
    auto* t = new float[kCLogCTableSize];
    t[0] = 0;
    for (uint32_t c = 1; c < kCLogCTableSize; ++c) {
      t[c] = static_cast<float>(c * std::log2(static_cast<double>(c)));
    }
    return t;
  }();
  return table;
}

// Plug-in entropy plus the Miller-Madow correction, so that a 4 KiB sample
// and a 64 KiB sample of the same data score alike (the plug-in estimate of
// 1,024 random bytes is ~0.18 bits short of 8). Clamped to [0, log2(bins)].
double EntropyBits(const uint32_t* counts, int bins, uint64_t total) {
  if (total == 0) return 0;
  const float* table = CLogCTable();
  // Four sums, so the additions do not wait on each other.
  std::array<double, 4> sum{};
  int used = 0;
  for (int v = 0; v < bins; ++v) {
    const uint32_t c = counts[v];
    sum[v & 3] += c < kCLogCTableSize ? table[c] : c * std::log2(static_cast<double>(c));
    used += c != 0;
  }
  const double n = static_cast<double>(total);
  const double h =
      std::log2(n) - (sum[0] + sum[1] + sum[2] + sum[3]) / n + (used - 1) / (2 * n * M_LN2);
  return std::clamp(h, 0.0, std::log2(static_cast<double>(bins)));
}

double EntropyBits(const Histogram& h, uint64_t total) { return EntropyBits(h.data(), 256, total); }

// How much the top bit of each byte adds to a lane's entropy `bits`: one bit
// for the sign of zero-mean floats, nothing for small unsigned integers.
double TopBitBits(const Histogram& h, uint64_t total, double bits) {
  std::array<uint32_t, 128> folded;
  for (int v = 0; v < 128; ++v) folded[v] = h[v] + h[v + 128];
  return std::clamp(bits - EntropyBits(folded.data(), 128, total), 0.0, 1.0);
}

double Fraction(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

uint64_t CountBelow(const Histogram& h, int limit) {
  uint64_t sum = 0;
  for (int v = 0; v < limit; ++v) sum += h[v];
  return sum;
}

bool IsAsciiText(int v) { return (v >= 0x20 && v < 0x7f) || v == '\t' || v == '\n' || v == '\r'; }

void AddOrderZeroFeatures(const LaneHistograms& h, Features& f) {
  f[kEntropy] = static_cast<float>(EntropyBits(h.all, h.size) / 8);
  f[kZero] = static_cast<float>(Fraction(h.all[0], h.size));
  uint64_t ascii = 0;
  int distinct = 0;
  for (int v = 0; v < 256; ++v) {
    ascii += IsAsciiText(v) ? h.all[v] : 0;
    distinct += h.all[v] != 0;
  }
  f[kAscii] = static_cast<float>(Fraction(ascii, h.size));
  f[kDistinct] = static_cast<float>(distinct / 256.0);
}

// Lane indexes of `entropy` by increasing entropy.
template <size_t N>
std::array<int, N> ByEntropy(const std::array<double, N>& entropy) {
  std::array<int, N> order;
  for (size_t l = 0; l < N; ++l) order[l] = static_cast<int>(l);
  // Ties go to the lower index, so equal lanes give the same features always.
  std::sort(order.begin(), order.end(), [&entropy](int a, int b) {
    return entropy[a] != entropy[b] ? entropy[a] < entropy[b] : a < b;
  });
  return order;
}

void AddTwoLaneFeatures(const LaneHistograms& h, Features& f) {
  const std::array<double, 2> entropy = {EntropyBits(h.lane2[0], h.size2[0]),
                                         EntropyBits(h.lane2[1], h.size2[1])};
  const std::array<int, 2> order = ByEntropy(entropy);
  const int low = order[0];
  f[kLane2Min] = static_cast<float>(entropy[low] / 8);
  f[kLane2Max] = static_cast<float>(entropy[order[1]] / 8);
  f[kSign2] = static_cast<float>(TopBitBits(h.lane2[low], h.size2[low], entropy[low]));
  f[kSmall2] = static_cast<float>(std::max(Fraction(CountBelow(h.lane2[0], 16), h.size2[0]),
                                           Fraction(CountBelow(h.lane2[1], 16), h.size2[1])));
}

void AddFourLaneFeatures(const LaneHistograms& h, Features& f) {
  std::array<double, 4> entropy;
  double zero = 0;
  for (int l = 0; l < 4; ++l) {
    entropy[l] = EntropyBits(h.lane4[l], h.size4[l]);
    zero = std::max(zero, Fraction(h.lane4[l][0], h.size4[l]));
  }
  const std::array<int, 4> order = ByEntropy(entropy);
  const int low = order[0];
  f[kLane4Min] = static_cast<float>(entropy[low] / 8);
  f[kLane4Mid] = static_cast<float>(entropy[order[1]] / 8);
  f[kLane4Max] = static_cast<float>(entropy[order[3]] / 8);
  f[kSign4] = static_cast<float>(TopBitBits(h.lane4[low], h.size4[low], entropy[low]));
  f[kZero4] = static_cast<float>(zero);
}

// Sixteen bytes at a time with GCC/Clang vector extensions: SSE2 on x86-64,
// NEON on ARM, no intrinsics.
using Bytes16 = uint8_t __attribute__((vector_size(16)));

Bytes16 Load16(const uint8_t* p) {
  Bytes16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

struct SequenceCounts {
  std::array<uint64_t, 4> repeat{};  // bytes equal to the one 1, 2, 4, 8 before
  uint64_t utf8_breaks = 0;          // pairs that break UTF-8's lead/continuation rule
  std::array<uint64_t, 8> zero{};    // zero bytes per lane of offsets mod 8
  uint64_t positions = 0;            // bytes looked at: [8, 8 + positions)
};

// Compares each byte from offset 8 on with earlier ones, 16 at a time, in
// 8-bit counters flushed before they can wrap.
SequenceCounts CountSequences(const uint8_t* p, size_t n) {
  SequenceCounts c;
  size_t i = 8;
  while (i + 16 <= n) {
    Bytes16 r1{}, r2{}, r4{}, r8{}, breaks{}, zero{};
    const size_t end = std::min(n, i + 16 * 255);
    for (; i + 16 <= end; i += 16) {
      const Bytes16 y = Load16(p + i);
      const Bytes16 x = Load16(p + i - 1);
      // A true comparison is all ones: subtracting it adds 1.
      r1 -= reinterpret_cast<Bytes16>(y == x);
      r2 -= reinterpret_cast<Bytes16>(y == Load16(p + i - 2));
      r4 -= reinterpret_cast<Bytes16>(y == Load16(p + i - 4));
      r8 -= reinterpret_cast<Bytes16>(y == Load16(p + i - 8));
      zero -= reinterpret_cast<Bytes16>(y == 0);
      // A continuation byte (10xxxxxx) must follow a lead (11xxxxxx) or a
      // continuation; a lead must be followed by a continuation.
      const Bytes16 y_cont = reinterpret_cast<Bytes16>((y & 0xc0) == 0x80);
      const Bytes16 x_ascii = reinterpret_cast<Bytes16>(x < 0x80);
      const Bytes16 x_lead = reinterpret_cast<Bytes16>(x >= 0xc0);
      breaks -= (x_ascii & y_cont) | (x_lead & ~y_cont);
    }
    for (int k = 0; k < 16; ++k) {
      c.repeat[0] += r1[k];
      c.repeat[1] += r2[k];
      c.repeat[2] += r4[k];
      c.repeat[3] += r8[k];
      c.utf8_breaks += breaks[k];
      c.zero[k % 8] += zero[k];  // vector lane k holds offsets 8 + 16j + k
    }
  }
  c.positions = i - 8;
  return c;
}

void AddSequenceFeatures(const uint8_t* p, size_t n, Features& f) {
  SequenceCounts c = CountSequences(p, n);
  if (c.positions == 0) return;
  f[kUtf8Pairs] = static_cast<float>(1 - Fraction(c.utf8_breaks, c.positions));
  for (int d = 0; d < 4; ++d) {
    f[kRepeat1 + d] = static_cast<float>(Fraction(c.repeat[d], c.positions));
  }
  std::sort(c.zero.begin(), c.zero.end(), std::greater<>());
  const uint64_t lane_size = c.positions / 8;
  f[kZero8] =
      static_cast<float>(Fraction(c.zero[0] + c.zero[1] + c.zero[2] + c.zero[3], 4 * lane_size));
}

// Bigrams are counted in kBigramBlocks blocks of kBigramBlockBytes, at the
// start and the end of the sample: setting a bit per pair is the costliest
// work per byte here, so it sees 2 KiB, not all of the sample.
constexpr size_t kBigramBlocks = 2;
constexpr size_t kBigramBlockBytes = 1024;

// Distinct byte pairs relative to what uniform random bytes would show in as
// many pairs: an order-1 view that order-0 entropy misses (compressed data
// ~1; text, tables and tensors far fewer).
double BigramNovelty(const uint8_t* p, size_t n) {
  if (n < 2) return 0;
  std::array<uint64_t, 65536 / 64> seen{};
  const bool whole = n <= kBigramBlocks * kBigramBlockBytes;
  const size_t blocks = whole ? 1 : kBigramBlocks;
  const size_t block = whole ? n : kBigramBlockBytes;
  uint64_t distinct = 0;
  uint64_t pairs = 0;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t start = blocks == 1 ? 0 : b * (n - block) / (blocks - 1);
    for (size_t i = start + 1; i < start + block; ++i) {
      const unsigned pair = (unsigned{p[i - 1]} << 8) | p[i];
      const uint64_t bit = uint64_t{1} << (pair & 63);
      uint64_t& word = seen[pair >> 6];
      distinct += (word & bit) == 0;
      word |= bit;
    }
    pairs += block - 1;
  }
  const double expected = 65536.0 * -std::expm1(-static_cast<double>(pairs) / 65536.0);
  return std::clamp(static_cast<double>(distinct) / expected, 0.0, 1.0);
}

// ---------------------------------------------------------------------------
// The model text

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("classifier model line ", line, ": ", what));
}

// A word of hostile text as an error message may quote it: short, escaped.
std::string Quote(absl::string_view word) {
  return absl::StrCat("'", absl::CHexEscape(word.substr(0, 40)), word.size() > 40 ? "...'" : "'");
}

absl::Status CheckParameter(float v, absl::string_view what) {
  if (!std::isfinite(v) || std::fabs(v) > DataClassifier::kMaxParameter) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a finite number within +-1e6: ", v));
  }
  return absl::OkStatus();
}

// The model's text, line by line: a version line, the feature names, the
// means, the standard deviations, then one line per class in any order.
class ModelParser {
 public:
  absl::Status Line(int number, absl::string_view line);
  absl::Status Finish(int last_line) const;
  const ClassifierParameters& params() const { return params_; }

 private:
  enum class Next { kVersion, kFeatures, kMean, kStddev, kClasses, kDone };

  absl::Status Version(int number, const std::vector<absl::string_view>& words);
  absl::Status FeatureList(int number, const std::vector<absl::string_view>& words);
  absl::Status ClassRow(int number, const std::vector<absl::string_view>& words);

  Next next_ = Next::kVersion;
  std::array<bool, kNumScoredClasses> seen_{};
  int classes_seen_ = 0;
  ClassifierParameters params_;
};

// Reads words[first..] as exactly out.size() numbers.
absl::Status ParseNumbers(int line, const std::vector<absl::string_view>& words, size_t first,
                          absl::Span<float> out) {
  if (words.size() - first != out.size()) {
    return LineError(line, absl::StrCat("expected ", out.size(), " numbers after '", words[0],
                                        "', got ", words.size() - first));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const absl::string_view word = words[first + i];
    float v;
    // Plain decimal only: no hex floats, no "inf" or "nan" spelled any way.
    if (word.find_first_not_of("0123456789+-.eE") != absl::string_view::npos ||
        !absl::SimpleAtof(word, &v) || !std::isfinite(v) ||
        std::fabs(v) > DataClassifier::kMaxParameter) {
      return LineError(line, absl::StrCat(Quote(word), " is not a finite number within +-1e6"));
    }
    out[i] = v;
  }
  return absl::OkStatus();
}

absl::Status ModelParser::Line(int number, absl::string_view line) {
  const std::vector<absl::string_view> words =
      absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
  if (words.empty() || absl::StartsWith(words[0], "#")) return absl::OkStatus();
  switch (next_) {
    case Next::kVersion:
      return Version(number, words);
    case Next::kFeatures:
      return FeatureList(number, words);
    case Next::kMean:
    case Next::kStddev: {
      const absl::string_view keyword = next_ == Next::kMean ? "mean" : "stddev";
      if (words[0] != keyword) {
        return LineError(number, absl::StrCat("expected '", keyword, "', got ", Quote(words[0])));
      }
      Features& out = next_ == Next::kMean ? params_.mean : params_.stddev;
      RETURN_IF_ERROR(ParseNumbers(number, words, 1, absl::MakeSpan(out)));
      if (next_ == Next::kStddev) {
        for (float s : out) {
          if (!(s >= DataClassifier::kMinStddev)) {
            return LineError(number, "every stddev must be at least 1e-6");
          }
        }
      }
      next_ = next_ == Next::kMean ? Next::kStddev : Next::kClasses;
      return absl::OkStatus();
    }
    case Next::kClasses:
      return ClassRow(number, words);
    case Next::kDone:
      return LineError(number, "text after the last class line");
  }
  return LineError(number, "unreachable parser state");
}

absl::Status ModelParser::Version(int number, const std::vector<absl::string_view>& words) {
  if (words.size() != 2 || words[0] != kModelMagic) {
    return LineError(number, absl::StrCat("expected '", kModelMagic, " ", kModelVersion, "'"));
  }
  if (words[1] != kModelVersion) {
    return LineError(number, absl::StrCat("unsupported model version ", Quote(words[1]),
                                          " (this build reads ", kModelVersion, ")"));
  }
  next_ = Next::kFeatures;
  return absl::OkStatus();
}

absl::Status ModelParser::FeatureList(int number, const std::vector<absl::string_view>& words) {
  if (words[0] != "features") return LineError(number, "expected 'features' and their names");
  if (words.size() - 1 != kNumFeatures) {
    return LineError(
        number, absl::StrCat("expected ", kNumFeatures, " feature names, got ", words.size() - 1));
  }
  for (int i = 0; i < kNumFeatures; ++i) {
    if (words[i + 1] != kFeatureNames[i]) {
      return LineError(number, absl::StrCat("feature ", i + 1, " is ", Quote(words[i + 1]),
                                            ", this build computes '", kFeatureNames[i], "'"));
    }
  }
  next_ = Next::kMean;
  return absl::OkStatus();
}

absl::Status ModelParser::ClassRow(int number, const std::vector<absl::string_view>& words) {
  if (words[0] != "class" || words.size() < 2) {
    return LineError(number, "expected 'class <name> <bias> <weights>'");
  }
  int k = 0;
  while (k < kNumScoredClasses && DataClassName(ScoredClass(k)) != words[1]) ++k;
  if (k == kNumScoredClasses) {
    return LineError(number, absl::StrCat("unknown class ", Quote(words[1])));
  }
  if (seen_[k]) return LineError(number, absl::StrCat("class '", words[1], "' given twice"));
  std::array<float, kNumFeatures + 1> row;
  RETURN_IF_ERROR(ParseNumbers(number, words, 2, absl::MakeSpan(row)));
  params_.bias[k] = row[0];
  std::copy(row.begin() + 1, row.end(), params_.weights[k].begin());
  seen_[k] = true;
  if (++classes_seen_ == kNumScoredClasses) next_ = Next::kDone;
  return absl::OkStatus();
}

absl::Status ModelParser::Finish(int last_line) const {
  std::string missing;
  switch (next_) {
    case Next::kDone:
      return absl::OkStatus();
    case Next::kVersion:
      missing = "the version line";
      break;
    case Next::kFeatures:
      missing = "the feature names";
      break;
    case Next::kMean:
      missing = "the means";
      break;
    case Next::kStddev:
      missing = "the stddevs";
      break;
    case Next::kClasses:
      missing = "the lines of classes";
      for (int k = 0; k < kNumScoredClasses; ++k) {
        if (!seen_[k]) absl::StrAppend(&missing, " ", DataClassName(ScoredClass(k)));
      }
      break;
  }
  return LineError(last_line, absl::StrCat("the model ends without ", missing));
}

}  // namespace

absl::string_view DataClassName(DataClass c) {
  switch (c) {
    case DataClass::kUnknown:
      return "unknown";
    case DataClass::kFloats:
      return "floats";
    case DataClass::kIntegers:
      return "integers";
    case DataClass::kText:
      return "text";
    case DataClass::kCompressed:
      return "compressed";
    case DataClass::kOther:
      return "other";
  }
  return "unknown";
}

const std::array<absl::string_view, kNumFeatures>& FeatureNames() { return kFeatureNames; }

Features ComputeFeatures(absl::string_view sample) {
  sample = sample.substr(0, kMaxSampleBytes);
  const auto* p = reinterpret_cast<const uint8_t*>(sample.data());
  const size_t n = sample.size();
  Features f{};
  const LaneHistograms h = CountLanes(p, n);
  AddOrderZeroFeatures(h, f);
  AddTwoLaneFeatures(h, f);
  AddFourLaneFeatures(h, f);
  AddSequenceFeatures(p, n, f);
  f[kBigrams] = static_cast<float>(BigramNovelty(p, n));
  return f;
}

std::pair<float, float> PlotCoordinates(const Features& f) { return {f[kEntropy], f[kLane2Min]}; }

std::pair<absl::string_view, absl::string_view> PlotAxisNames() {
  return {"byte entropy / 8 bits", "entropy of the even or odd bytes (the lower) / 8 bits"};
}

absl::StatusOr<DataClassifier> DataClassifier::Create(const ClassifierParameters& params) {
  for (int i = 0; i < kNumFeatures; ++i) {
    const std::string name(kFeatureNames[i]);
    RETURN_IF_ERROR(CheckParameter(params.mean[i], "mean of " + name));
    RETURN_IF_ERROR(CheckParameter(params.stddev[i], "stddev of " + name));
    if (!(params.stddev[i] >= kMinStddev)) {
      return absl::InvalidArgumentError(absl::StrCat("stddev of ", name, " is below 1e-6"));
    }
  }
  for (int k = 0; k < kNumScoredClasses; ++k) {
    const std::string name(DataClassName(ScoredClass(k)));
    RETURN_IF_ERROR(CheckParameter(params.bias[k], "bias of " + name));
    for (float w : params.weights[k]) {
      RETURN_IF_ERROR(CheckParameter(w, "a weight of " + name));
    }
  }
  return DataClassifier(params);
}

absl::StatusOr<DataClassifier> DataClassifier::Parse(absl::string_view model_text) {
  if (model_text.size() > kMaxModelTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat("classifier model is ", model_text.size(),
                                                   " bytes, over the limit of ",
                                                   kMaxModelTextBytes));
  }
  ModelParser parser;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(model_text, '\n')) {
    ++number;
    RETURN_IF_ERROR(parser.Line(number, line));
  }
  RETURN_IF_ERROR(parser.Finish(number));
  return Create(parser.params());
}

const DataClassifier& DataClassifier::Builtin() {
  // The text is compiled in and a test parses it, so failing here means a
  // broken build, which no caller could handle.
  static const DataClassifier* const builtin = [] {
    absl::StatusOr<DataClassifier> parsed = Parse(ClassifierModelText());
    if (!parsed.ok()) {
      std::fprintf(stderr, "cairn: the embedded classifier model does not parse: %s\n",
                   parsed.status().ToString().c_str());
      std::abort();
    }
    return new DataClassifier(*std::move(parsed));
  }();
  return *builtin;
}

std::array<double, kNumScoredClasses> DataClassifier::Scores(const Features& f) const {
  std::array<double, kNumScoredClasses> scores;
  for (int k = 0; k < kNumScoredClasses; ++k) {
    double s = params_.bias[k];
    for (int i = 0; i < kNumFeatures; ++i) {
      s +=
          static_cast<double>(params_.weights[k][i]) * (f[i] - params_.mean[i]) / params_.stddev[i];
    }
    scores[k] = s;
  }
  return scores;
}

DataClass DataClassifier::Predict(const Features& f) const {
  const std::array<double, kNumScoredClasses> scores = Scores(f);
  int best = 0;
  for (int k = 0; k < kNumScoredClasses; ++k) {
    if (!std::isfinite(scores[k])) return DataClass::kUnknown;
    if (scores[k] > scores[best]) best = k;
  }
  return ScoredClass(best);
}

std::array<float, kNumScoredClasses> DataClassifier::Probabilities(const Features& f) const {
  const std::array<double, kNumScoredClasses> scores = Scores(f);
  const double top = *std::max_element(scores.begin(), scores.end());
  std::array<double, kNumScoredClasses> e;
  double sum = 0;
  for (int k = 0; k < kNumScoredClasses; ++k) sum += e[k] = std::exp(scores[k] - top);
  std::array<float, kNumScoredClasses> p;
  for (int k = 0; k < kNumScoredClasses; ++k) p[k] = static_cast<float>(e[k] / sum);
  return p;
}

DataClass DataClassifier::Classify(absl::string_view sample) const {
  if (sample.size() < kMinSampleBytes) return DataClass::kUnknown;
  return Predict(ComputeFeatures(sample));
}

std::string DataClassifier::Serialize() const {
  std::string out = absl::StrCat(kModelMagic, " ", kModelVersion, "\nfeatures");
  for (absl::string_view name : kFeatureNames) absl::StrAppend(&out, " ", name);
  // %.9g: enough digits that every float reads back to itself.
  auto append_row = [&out](absl::string_view head, const float* v, int n) {
    absl::StrAppend(&out, head);
    for (int i = 0; i < n; ++i) absl::StrAppendFormat(&out, " %.9g", v[i]);
    out += '\n';
  };
  out += '\n';
  append_row("mean", params_.mean.data(), kNumFeatures);
  append_row("stddev", params_.stddev.data(), kNumFeatures);
  out += "# class <name> <bias> <one weight per feature, in the order above>\n";
  for (int k = 0; k < kNumScoredClasses; ++k) {
    absl::StrAppendFormat(&out, "class %s %.9g", DataClassName(ScoredClass(k)), params_.bias[k]);
    append_row("", params_.weights[k].data(), kNumFeatures);
  }
  return out;
}

}  // namespace cairn

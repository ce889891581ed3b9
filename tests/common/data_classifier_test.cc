#include "common/data_classifier.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/le_coding.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

// The test's own generator and data, independent of bench/classifier_train.cc:
// the held-out check below would mean little if it reused the training code.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Normal() {
    return std::sqrt(-2.0 * std::log(1.0 - Unit())) * std::cos(2.0 * M_PI * Unit());
  }

 private:
  uint64_t state_;
};

void Put16(uint16_t v, std::string& out) {
  out.push_back(static_cast<char>(v));
  out.push_back(static_cast<char>(v >> 8));
}

std::string Bf16Normal(Rng& rng, size_t size) {
  const double stddev = 0.005 + 0.1 * rng.Unit();
  std::string out;
  while (out.size() < size) {
    const float v = static_cast<float>(stddev * rng.Normal());
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    Put16(static_cast<uint16_t>(bits >> 16), out);  // truncation, as some exporters do
  }
  return out;
}

std::string ZipfTokensU16(Rng& rng, size_t size) {
  constexpr int kVocab = 50000;
  std::vector<double> cdf(kVocab);
  double total = 0;
  for (int k = 0; k < kVocab; ++k) cdf[k] = total += 1.0 / std::pow(k + 1.0, 1.05);
  std::string out;
  while (out.size() < size) {
    const double u = rng.Unit() * total;
    Put16(static_cast<uint16_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()), out);
  }
  return out;
}

std::string LogText(Rng& rng, size_t size) {
  std::string out;
  for (int step = 1; out.size() < size; ++step) {
    absl::StrAppendFormat(
        &out, "I1201 10:%02d:%02d trainer.cc:88] step %d: loss %.4f, lr %.3e, %d tok/s\n",
        rng.Below(60), rng.Below(60), step, 3 - step * 1e-4 + rng.Unit() * 0.1, 3e-4 * rng.Unit(),
        350000 + static_cast<int>(rng.Below(20000)));
  }
  return out;
}

// zstd output of log text half the time, random bytes the other half.
std::string CompressedOrRandom(Rng& rng, size_t size) {
  if (rng.Below(2) == 0) {
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(rng.Next());
    return out;
  }
  for (size_t input = 8 * size;; input *= 2) {
    const std::string text = LogText(rng, input);
    std::string out(ZSTD_compressBound(text.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
    if (out.size() >= size) return out;
  }
}

// An array of C structs: { u32 id; u16 kind; u8 flags; u8 pad; f32 score;
// u64 mtime; char name[12]; u32 pad2 } (40 bytes).
std::string StructArray(Rng& rng, size_t size) {
  static constexpr const char* kNames[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta"};
  std::string out;
  for (uint32_t id = static_cast<uint32_t>(rng.Below(1000)); out.size() < size; ++id) {
    AppendLe32(id, &out);
    Put16(static_cast<uint16_t>(rng.Below(7)), out);
    out.push_back(static_cast<char>(1 << rng.Below(4)));
    out.push_back('\0');
    const float score = static_cast<float>(rng.Unit() * 10);
    uint32_t bits;
    std::memcpy(&bits, &score, 4);
    AppendLe32(bits, &out);
    AppendLe64(1'700'000'000 + rng.Below(86400 * 30), &out);
    std::string name = absl::StrCat(kNames[rng.Below(6)], "_", rng.Below(100));
    name.resize(12, '\0');
    out += name;
    AppendLe32(0, &out);
  }
  return out;
}

using Generator = std::string (*)(Rng&, size_t);

struct Labeled {
  DataClass label;
  Generator generate;
};

constexpr Labeled kHeldOut[] = {
    {DataClass::kFloats, Bf16Normal}, {DataClass::kIntegers, ZipfTokensU16},
    {DataClass::kText, LogText},      {DataClass::kCompressed, CompressedOrRandom},
    {DataClass::kOther, StructArray},
};

// A sample of 4-64 KiB at a random (often odd) offset of a generated file.
std::string Sample(Rng& rng, Generator generate) {
  const size_t size = 4096 + rng.Below(60 * 1024);
  const size_t offset = rng.Below(4096);
  return generate(rng, offset + size).substr(offset, size);
}

TEST(DataClassifierTest, ClassNamesAreStable) {
  EXPECT_EQ(DataClassName(DataClass::kUnknown), "unknown");
  EXPECT_EQ(DataClassName(DataClass::kFloats), "floats");
  EXPECT_EQ(DataClassName(DataClass::kIntegers), "integers");
  EXPECT_EQ(DataClassName(DataClass::kText), "text");
  EXPECT_EQ(DataClassName(DataClass::kCompressed), "compressed");
  EXPECT_EQ(DataClassName(DataClass::kOther), "other");
  EXPECT_EQ(DataClassName(static_cast<DataClass>(200)), "unknown");
  // Stored in the catalog.
  EXPECT_EQ(static_cast<int>(DataClass::kOther), 5);
}

TEST(DataClassifierTest, BuiltinModelParsesAndRoundTrips) {
  // Builtin() aborts if the embedded text does not parse.
  const DataClassifier& builtin = DataClassifier::Builtin();
  EXPECT_EQ(&builtin, &DataClassifier::Builtin());
  const std::string text = builtin.Serialize();
  ASSERT_OK_AND_ASSIGN(DataClassifier parsed, DataClassifier::Parse(text));
  EXPECT_EQ(parsed.Serialize(), text);
  // Not the all-zero placeholder: a trained model has weights.
  float magnitude = 0;
  for (const Features& w : builtin.parameters().weights) {
    for (float v : w) magnitude += std::fabs(v);
  }
  EXPECT_GT(magnitude, 1.0f);
}

ClassifierParameters RandomParameters(uint64_t seed) {
  Rng rng(seed);
  ClassifierParameters p;
  auto value = [&rng] {
    return static_cast<float>(rng.Normal() * std::pow(10.0, rng.Below(7) - 3.0));
  };
  for (int i = 0; i < kNumFeatures; ++i) {
    p.mean[i] = value();
    p.stddev[i] = std::fabs(value()) + 1e-6f;
  }
  for (int k = 0; k < kNumScoredClasses; ++k) {
    p.bias[k] = value();
    for (float& w : p.weights[k]) w = value();
  }
  return p;
}

TEST(DataClassifierTest, SerializeParseRoundTripIsExact) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const ClassifierParameters p = RandomParameters(seed);
    ASSERT_OK_AND_ASSIGN(DataClassifier model, DataClassifier::Create(p));
    ASSERT_OK_AND_ASSIGN(DataClassifier parsed, DataClassifier::Parse(model.Serialize()));
    const ClassifierParameters& q = parsed.parameters();
    EXPECT_EQ(std::memcmp(&p.mean, &q.mean, sizeof(p.mean)), 0);
    EXPECT_EQ(std::memcmp(&p.stddev, &q.stddev, sizeof(p.stddev)), 0);
    EXPECT_EQ(std::memcmp(&p.weights, &q.weights, sizeof(p.weights)), 0);
    EXPECT_EQ(std::memcmp(&p.bias, &q.bias, sizeof(p.bias)), 0);
  }
}

TEST(DataClassifierTest, ParseAcceptsCommentsBlankLinesAndCrlf) {
  std::string text = "# a comment\n\n" + DataClassifier::Builtin().Serialize();
  text = absl::StrReplaceAll(text, {{"\n", "\r\n"}});
  text = absl::StrReplaceAll(text, {{"\r\nmean", "\r\n   # indented comment\r\n\r\nmean"}});
  EXPECT_OK(DataClassifier::Parse(text).status());
}

void ExpectInvalid(absl::string_view text, absl::string_view why) {
  const absl::StatusOr<DataClassifier> parsed = DataClassifier::Parse(text);
  ASSERT_FALSE(parsed.ok()) << why;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << why;
}

TEST(DataClassifierTest, EveryTruncationFailsOrParsesNeverCrashes) {
  const std::string text = DataClassifier::Builtin().Serialize();
  const size_t last_line = text.rfind('\n', text.size() - 2) + 1;
  for (size_t n = 0; n < text.size(); ++n) {
    const absl::StatusOr<DataClassifier> parsed = DataClassifier::Parse(text.substr(0, n));
    if (n <= last_line) {
      ASSERT_FALSE(parsed.ok()) << "truncated at " << n;
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(parsed.status().message().find("line "), std::string::npos) << parsed.status();
    } else if (!parsed.ok()) {
      // Cut inside the last line: a shorter number can still be a number.
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// The builtin model's text with line `index` (counting data lines only)
// replaced by `replacement`, or removed if it is empty.
std::string WithLine(int index, absl::string_view replacement) {
  std::vector<std::string> lines = absl::StrSplit(DataClassifier::Builtin().Serialize(), '\n');
  int data = 0;
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    const bool is_data = !line.empty() && line[0] != '#';
    if (is_data && data++ == index) {
      if (!replacement.empty()) out.emplace_back(replacement);
    } else {
      out.push_back(line);
    }
  }
  return absl::StrJoin(out, "\n");
}

std::string DataLine(int index) {
  std::vector<std::string> lines = absl::StrSplit(DataClassifier::Builtin().Serialize(), '\n');
  int data = 0;
  for (const std::string& line : lines) {
    if (!line.empty() && line[0] != '#' && data++ == index) return line;
  }
  return "";
}

constexpr int kDataLines = 4 + kNumScoredClasses;  // version, features, mean, stddev, classes

TEST(DataClassifierTest, MissingLinesAreErrors) {
  for (int i = 0; i < kDataLines; ++i) ExpectInvalid(WithLine(i, ""), absl::StrCat("line ", i));
}

TEST(DataClassifierTest, WrongCountsAndNamesAreErrors) {
  const std::string mean = DataLine(2);
  ExpectInvalid(WithLine(2, mean.substr(0, mean.rfind(' '))), "one mean short");
  ExpectInvalid(WithLine(2, mean + " 0.5"), "one mean too many");
  const std::string floats = DataLine(4);
  ExpectInvalid(WithLine(4, floats.substr(0, floats.rfind(' '))), "one weight short");
  ExpectInvalid(WithLine(4, floats + " 1"), "one weight too many");
  ExpectInvalid(WithLine(4, "class floats"), "no numbers");
  ExpectInvalid(WithLine(4, "class"), "no class name");
  ExpectInvalid(WithLine(4, absl::StrReplaceAll(floats, {{"floats", "doubles"}})), "unknown class");
  ExpectInvalid(WithLine(4, DataLine(5)), "a class twice");
  ExpectInvalid(WithLine(0, "cairn-data-classifier 2"), "future version");
  ExpectInvalid(WithLine(0, "cairn-data-classifier"), "no version");
  ExpectInvalid(WithLine(0, "some-other-model 1"), "wrong magic");
  const std::string features = DataLine(1);
  ExpectInvalid(WithLine(1, features.substr(0, features.rfind(' '))), "a feature short");
  ExpectInvalid(WithLine(1, features + " extra"), "a feature too many");
  ExpectInvalid(WithLine(1, absl::StrReplaceAll(features, {{"entropy", "entropy2"}})),
                "renamed feature");
  ExpectInvalid(WithLine(2, DataLine(3)), "stddev where mean belongs");
  ExpectInvalid(DataClassifier::Builtin().Serialize() + "class floats 1\n", "trailing line");
}

TEST(DataClassifierTest, NonFiniteAndHugeNumbersAreErrors) {
  const std::string floats = DataLine(4);
  const size_t last = floats.rfind(' ') + 1;
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "infinity", "1e39", "-1e39", "2e6", "1e300",
                          "0x1p3", "1,5", "1.5.5", "--1", "1e", "e5", "\xff", "1\x01"}) {
    ExpectInvalid(WithLine(4, floats.substr(0, last) + bad), bad);
  }
  const std::string stddev = DataLine(3);
  const size_t first = stddev.find(' ') + 1;
  const std::string rest = stddev.substr(stddev.find(' ', first));
  for (const char* bad : {"0", "-1", "-0", "1e-50"}) {
    ExpectInvalid(WithLine(3, "stddev " + std::string(bad) + rest), bad);
  }
}

TEST(DataClassifierTest, CreateRejectsBadParameters) {
  ClassifierParameters p = RandomParameters(7);
  ASSERT_OK(DataClassifier::Create(p).status());
  ClassifierParameters q = p;
  q.stddev[3] = 0;
  EXPECT_FALSE(DataClassifier::Create(q).ok());
  q = p;
  q.weights[2][5] = std::nanf("");
  EXPECT_FALSE(DataClassifier::Create(q).ok());
  q = p;
  q.bias[4] = INFINITY;
  EXPECT_FALSE(DataClassifier::Create(q).ok());
  q = p;
  q.mean[0] = 1e7f;
  EXPECT_FALSE(DataClassifier::Create(q).ok());
}

TEST(DataClassifierTest, GarbageNeverCrashes) {
  Rng rng(0x6a7ba6e);
  for (int i = 0; i < 300; ++i) {
    std::string text(rng.Below(4096), '\0');
    for (char& c : text) c = static_cast<char>(rng.Below(4) == 0 ? '\n' : rng.Next());
    ExpectInvalid(text, "random bytes");
  }
  ExpectInvalid(std::string(2 << 20, '#'), "over the size limit");
  ExpectInvalid("", "empty");
  ExpectInvalid(std::string("cairn-data-classifier 1\0\n", 25), "NUL");
}

TEST(DataClassifierTest, FeaturesOfTinyAndOddInputsAreFinite) {
  EXPECT_EQ(ComputeFeatures(""), Features{});
  Rng rng(0x5eed);
  for (size_t n :
       {1, 2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33, 1023, 1025, 2049, 4097, 65535, 65537}) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng.Next());
    for (const std::string& sample : {data, std::string(n, '\0'), std::string(n, 'a')}) {
      const Features f = ComputeFeatures(sample);
      for (int i = 0; i < kNumFeatures; ++i) {
        EXPECT_TRUE(std::isfinite(f[i]) && f[i] >= 0 && f[i] <= 1)
            << "n=" << n << " " << FeatureNames()[i] << "=" << f[i];
      }
      const auto [x, y] = PlotCoordinates(f);
      EXPECT_TRUE(x >= 0 && x <= 1 && y >= 0 && y <= 1);
    }
  }
}

TEST(DataClassifierTest, LooksAtTheFirst64KiBOnly) {
  Rng rng(0xb16);
  std::string data = Bf16Normal(rng, kMaxSampleBytes);
  data.resize(kMaxSampleBytes);
  EXPECT_EQ(ComputeFeatures(data), ComputeFeatures(data + std::string(10000, 'x')));
}

TEST(DataClassifierTest, FeaturesBarelyDependOnAlignment) {
  Rng rng(0xa119);
  const std::string data = Bf16Normal(rng, 32 * 1024 + 3);
  const Features even = ComputeFeatures(absl::string_view(data).substr(0, 32 * 1024));
  for (size_t shift : {1, 2, 3}) {
    const Features odd = ComputeFeatures(absl::string_view(data).substr(shift, 32 * 1024));
    for (int i = 0; i < kNumFeatures; ++i) {
      EXPECT_NEAR(even[i], odd[i], 0.03) << FeatureNames()[i] << " shift " << shift;
    }
  }
}

TEST(DataClassifierTest, UnscorableInputsAreUnknown) {
  const DataClassifier& model = DataClassifier::Builtin();
  EXPECT_EQ(model.Classify(""), DataClass::kUnknown);
  EXPECT_EQ(model.Classify(std::string(kMinSampleBytes - 1, 'a')), DataClass::kUnknown);
  Features f{};
  f[0] = std::nanf("");
  EXPECT_EQ(model.Predict(f), DataClass::kUnknown);
  const std::array<float, kNumScoredClasses> p = model.Probabilities(ComputeFeatures("hello"));
  float sum = 0;
  for (float v : p) sum += v;
  EXPECT_NEAR(sum, 1.0f, 1e-5);
}

// Held-out data from this file's own generators and seeds (training uses
// bench/classifier_train.cc's): a bad model fails here, and that is the point.
TEST(DataClassifierTest, BuiltinModelClassifiesHeldOutData) {
  constexpr int kPerClass = 50;
  const DataClassifier& model = DataClassifier::Builtin();
  int right = 0, total = 0;
  std::string confusion;
  for (const Labeled& labeled : kHeldOut) {
    std::array<int, kNumScoredClasses + 1> predicted{};
    for (int i = 0; i < kPerClass; ++i) {
      Rng rng(0x7e57000 + 1000 * static_cast<uint64_t>(labeled.label) + i);
      const DataClass c = model.Classify(Sample(rng, labeled.generate));
      ++predicted[static_cast<int>(c)];
      right += c == labeled.label;
      ++total;
    }
    absl::StrAppend(&confusion, DataClassName(labeled.label), ": ", absl::StrJoin(predicted, " "),
                    "\n");
  }
  const double accuracy = static_cast<double>(right) / total;
  EXPECT_GE(accuracy, 0.90) << "rows: true class; columns: unknown floats integers text "
                               "compressed other\n"
                            << confusion;
  RecordProperty("heldout_accuracy", absl::StrFormat("%.4f", accuracy));
}

}  // namespace
}  // namespace cairn

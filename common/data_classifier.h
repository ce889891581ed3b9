// What a file's bytes are, guessed from a sample when its head has no magic
// number (SniffFileKind gave kUnknown): the class decides compression. Already
// compressed data is stored as is, so no CPU goes into a codec that cannot win;
// float tensors go to the byte-plane tensor codec; the rest to the general one.
//
// A small learned model: cheap byte statistics (ComputeFeatures), then a
// multinomial logistic regression over them (DataClassifier). The model ships
// in the binary (common/classifier_model.txt, embedded at build time) and is
// retrained by bench/train_classifier.sh.
//
//   DataClass c = DataClassifier::Builtin().Classify(first_64_kib);
#ifndef CAIRN_COMMON_DATA_CLASSIFIER_H_
#define CAIRN_COMMON_DATA_CLASSIFIER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// Values are stored in the catalog: never renumber; append only.
enum class DataClass : uint8_t {
  kUnknown = 0,
  kFloats = 1,      // float tensors: bf16, fp16, fp32
  kIntegers = 2,    // token ids, indices, lengths, counters
  kText = 3,        // ASCII or UTF-8 text
  kCompressed = 4,  // compressed, encrypted or random bytes
  kOther = 5,       // any other binary: executables, records, sparse files
};

// "unknown", "floats", "integers", "text", "compressed", "other"; "unknown"
// for a value out of range.
absl::string_view DataClassName(DataClass c);

// The classes a model scores: kFloats..kOther, in enum order.
inline constexpr int kNumScoredClasses = 5;
inline constexpr DataClass ScoredClass(int k) { return static_cast<DataClass>(k + 1); }

// ComputeFeatures looks at no more than this many bytes of a sample.
inline constexpr size_t kMaxSampleBytes = 64 << 10;
// The model was trained on samples of 4-64 KiB; below this size Classify does
// not guess.
inline constexpr size_t kMinSampleBytes = 1 << 10;

inline constexpr int kNumFeatures = 20;
using Features = std::array<float, kNumFeatures>;

// The names of the features, in Features order (the model file lists them, so
// a model trained on other features is refused). "Lane l of n" is the bytes at
// offsets = l mod n: a bf16/fp16 sign+exponent byte is one lane of 2, an fp32
// exponent byte or the high byte of a u32 one lane of 4. Lane features do not
// depend on which lane is which, so a sample may start mid-element.
//   entropy     order-0 byte entropy / 8
//   zero        fraction of zero bytes
//   ascii       fraction of printable ASCII bytes, tab, CR and LF
//   distinct    distinct byte values / 256
//   utf8_pairs  fraction of adjacent byte pairs that keep UTF-8's rule (a
//               continuation byte follows a lead or a continuation, a lead is
//               followed by a continuation): ~1 for text, ~0.69 for random
//   bigrams     distinct byte pairs / the number uniform random bytes would
//               show in as many pairs (~1 for compressed data), counted in
//               the first and the last KiB of a sample larger than 2 KiB
//   lane2_min   entropy / 8 of the lower and the higher of the 2 lanes of 2
//   lane2_max
//   sign2       bits the top bit adds to the lane2_min lane's entropy (the
//               sign of zero-mean floats; ~0 for small unsigned integers)
//   small2      fraction of bytes < 16 in the lane of 2 that has more of them
//               (u16 values < 4096)
//   lane4_min   entropy / 8 of the lowest, second lowest and highest of the 4
//   lane4_mid     lanes of 4
//   lane4_max
//   sign4       as sign2, for the lane4_min lane
//   zero4       fraction of zero bytes in the lane of 4 that has most of them
//               (u32 values < 2^24)
//   zero8       mean fraction of zero bytes in the 4 lanes of 8 that have most
//               of them (the high half of small 64-bit integers)
//   repeat1     fraction of bytes equal to the byte 1, 2, 4, 8 before
//   repeat2
//   repeat4
//   repeat8
// All are in [0, 1].
const std::array<absl::string_view, kNumFeatures>& FeatureNames();

// The features of the first kMaxSampleBytes of `sample`. Any input is fine,
// including an empty one (all zeros).
Features ComputeFeatures(absl::string_view sample);

// The two features a scatter plot of samples uses: x = order-0 entropy / 8,
// y = lane2_min (the bf16/fp16 exponent plane's entropy / 8), both in [0, 1].
// Compressed data sits in the top right corner, text (~0.55-0.65) and other
// data without lanes on the diagonal, 16-bit floats and ids below it.
std::pair<float, float> PlotCoordinates(const Features& f);
// Axis labels for those coordinates, x then y.
std::pair<absl::string_view, absl::string_view> PlotAxisNames();

// The numbers of a model. A feature is standardized as (f - mean) / stddev;
// class ScoredClass(k) scores bias[k] + dot(weights[k], standardized).
struct ClassifierParameters {
  Features mean{};
  Features stddev{};
  std::array<Features, kNumScoredClasses> weights{};
  std::array<float, kNumScoredClasses> bias{};
};

// Multinomial logistic regression over standardized features.
class DataClassifier {
 public:
  // InvalidArgument unless every number is finite and within +-kMaxParameter,
  // and every stddev at least kMinStddev (a smaller one would turn a feature's
  // rounding noise into a decision).
  static absl::StatusOr<DataClassifier> Create(const ClassifierParameters& params);
  // The text format Serialize writes. Malformed or hostile text gives
  // InvalidArgument naming the line; it never crashes.
  static absl::StatusOr<DataClassifier> Parse(absl::string_view model_text);
  // The model embedded from common/classifier_model.txt, parsed on first use.
  static const DataClassifier& Builtin();

  // The bound on every parameter's magnitude.
  static constexpr float kMaxParameter = 1e6f;
  static constexpr float kMinStddev = 1e-6f;

  // The highest-scoring class; kUnknown if a score is not finite (features
  // that ComputeFeatures did not make).
  DataClass Predict(const Features& f) const;
  // Softmax probabilities of ScoredClass(0..4); NaN where Predict says kUnknown.
  std::array<float, kNumScoredClasses> Probabilities(const Features& f) const;
  // Predict(ComputeFeatures(sample)), or kUnknown for a sample shorter than
  // kMinSampleBytes.
  DataClass Classify(absl::string_view sample) const;

  std::string Serialize() const;
  const ClassifierParameters& parameters() const { return params_; }

 private:
  explicit DataClassifier(const ClassifierParameters& params) : params_(params) {}
  std::array<double, kNumScoredClasses> Scores(const Features& f) const;

  ClassifierParameters params_;
};

}  // namespace cairn

#endif  // CAIRN_COMMON_DATA_CLASSIFIER_H_

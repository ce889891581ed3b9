// libFuzzer target for the classifier's model parser and its features
// (common/data_classifier.h): any model text parses or is refused, and any
// bytes give features in [0, 1] and a class.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/data_classifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<cairn::DataClassifier> model = cairn::DataClassifier::Parse(in);
  if (model.ok()) {
    // What parses serializes and parses again.
    if (!cairn::DataClassifier::Parse(model->Serialize()).ok()) abort();
  }
  const cairn::Features features = cairn::ComputeFeatures(in);
  for (float f : features) {
    if (!(f >= 0.0f && f <= 1.0f)) abort();
  }
  (void)cairn::DataClassifier::Builtin().Predict(features);
  return 0;
}

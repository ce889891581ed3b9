// libFuzzer target for the tensor-file header parsers and the format sniffer
// (common/tensor_layout.h, common/file_kind.h): any bytes give regions that
// tile the file, or an error; never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/file_kind.h"
#include "common/gguf_layout.h"
#include "common/tensor_layout.h"

namespace {

void CheckTiles(const std::vector<cairn::TensorRegion>& regions, uint64_t file_size) {
  uint64_t at = 0;
  for (const cairn::TensorRegion& r : regions) {
    if (r.offset != at || r.length == 0) abort();
    at += r.length;
  }
  if (!regions.empty() && at != file_size) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  // The file is said to be a little larger than the bytes given, by an amount
  // the input picks, so offsets past the header can be in range.
  const uint64_t file_size = size + (size > 0 ? static_cast<uint64_t>(data[0]) << 12 : 0);
  (void)cairn::SniffFileKind(in.substr(0, cairn::kSniffBytes), file_size, "x.bin");
  (void)cairn::SniffFileKind(in, size, "model.onnx");
  if (auto regions = cairn::ParseSafetensorsLayout(in, file_size + 8 + size); regions.ok()) {
    CheckTiles(*regions, file_size + 8 + size);
  }
  if (auto regions = cairn::ParseNpyLayout(in, file_size); regions.ok()) {
    CheckTiles(*regions, file_size);
  }
  if (auto regions = cairn::ParseGgufLayout(in, file_size); regions.ok()) {
    CheckTiles(*regions, file_size);
  }
  (void)cairn::SafetensorsHeaderLength(in.substr(0, 8), file_size);
  return 0;
}

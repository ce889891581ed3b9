#include "agent/file_probe.h"

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/gguf_layout.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// Reads n bytes at offset; the caller asks only for bytes below the size
// fstat gave, so a short read means the file shrank: Aborted, as the chunker
// reports it, and the backup keeps the file's previous version.
absl::StatusOr<std::string> ReadAt(int fd, uint64_t offset, size_t n, const std::string& path) {
  std::string out;
  absl::Status status = PreadFully(fd, offset, n, &out, path);
  if (absl::IsOutOfRange(status)) {
    return absl::AbortedError(absl::StrCat(path, " shrank while it was read"));
  }
  RETURN_IF_ERROR(status);
  return out;
}

std::vector<TensorRegion> SafetensorsRegions(int fd, uint64_t size, absl::string_view head,
                                             const std::string& path, absl::Status* read_error) {
  absl::StatusOr<uint64_t> header_length = SafetensorsHeaderLength(head.substr(0, 8), size);
  if (!header_length.ok()) return {};
  absl::StatusOr<std::string> header = ReadAt(fd, 8, *header_length, path);
  if (!header.ok()) {
    *read_error = header.status();
    return {};
  }
  absl::StatusOr<std::vector<TensorRegion>> regions = ParseSafetensorsLayout(*header, size);
  return regions.ok() ? *std::move(regions) : std::vector<TensorRegion>{};
}

DataHint TensorHint(ElementType type, uint64_t offset_in_tensor) {
  switch (type) {
    case ElementType::kBf16:
    case ElementType::kF16:
      return {.kind = DataHint::Class::kFloats, .width = 2, .offset = offset_in_tensor};
    case ElementType::kF32:
      return {.kind = DataHint::Class::kFloats, .width = 4, .offset = offset_in_tensor};
    case ElementType::kI16:
    case ElementType::kU16:
      return {.kind = DataHint::Class::kIntegers, .width = 2, .offset = offset_in_tensor};
    case ElementType::kI32:
    case ElementType::kU32:
      return {.kind = DataHint::Class::kIntegers, .width = 4, .offset = offset_in_tensor};
    default:
      // FP8 has no exponent byte to split off; 8-byte and 1-byte types go the
      // general way.
      return {};
  }
}

DataHint ClassHint(DataClass data_class, uint64_t offset) {
  switch (data_class) {
    case DataClass::kFloats:
      return {.kind = DataHint::Class::kFloats, .offset = offset};
    case DataClass::kIntegers:
      return {.kind = DataHint::Class::kIntegers, .offset = offset};
    case DataClass::kText:
      return {.kind = DataHint::Class::kText};
    case DataClass::kCompressed:
      return {.kind = DataHint::Class::kCompressed};
    default:
      return {};
  }
}

}  // namespace

absl::StatusOr<FileProbe> ProbeFile(int fd, uint64_t size, const std::string& path) {
  FileProbe probe;
  const size_t head_size = static_cast<size_t>(std::min<uint64_t>(size, kNpyHeadBytes));
  ASSIGN_OR_RETURN(std::string head, ReadAt(fd, 0, head_size, path));
  const size_t slash = path.rfind('/');
  const absl::string_view name = slash == std::string::npos
                                     ? absl::string_view(path)
                                     : absl::string_view(path).substr(slash + 1);
  probe.kind = SniffFileKind(absl::string_view(head).substr(0, kSniffBytes), size, name);
  absl::Status read_error;
  switch (probe.kind) {
    case FileKind::kSafetensors:
      probe.regions = SafetensorsRegions(fd, size, head, path, &read_error);
      RETURN_IF_ERROR(read_error);
      break;
    case FileKind::kGguf: {
      // Most headers fit in 1 MiB; a large vocabulary needs up to 16 MiB.
      for (uint64_t want : {uint64_t{1} << 20, kMaxGgufHeader}) {
        const size_t n = static_cast<size_t>(std::min(size, want));
        ASSIGN_OR_RETURN(std::string header, ReadAt(fd, 0, n, path));
        absl::StatusOr<std::vector<TensorRegion>> regions = ParseGgufLayout(header, size);
        if (regions.ok()) probe.regions = *std::move(regions);
        if (regions.ok() || n == size) break;
      }
      break;
    }
    case FileKind::kNpy: {
      absl::StatusOr<std::vector<TensorRegion>> regions = ParseNpyLayout(head, size);
      if (regions.ok()) probe.regions = *std::move(regions);
      break;
    }
    case FileKind::kUnknown:
      if (size >= kMinClassifiedSize) {
        // From the middle, past any header, at an offset that keeps 2- and
        // 4-byte elements aligned as they are in the file.
        const uint64_t offset = (size - kClassifierSample) / 2 / 4096 * 4096;
        ASSIGN_OR_RETURN(std::string sample, ReadAt(fd, offset, kClassifierSample, path));
        const Features features = ComputeFeatures(sample);
        probe.data_class = DataClassifier::Builtin().Predict(features);
        probe.plot = PlotCoordinates(features);
      }
      break;
    default:
      break;
  }
  return probe;
}

void RecordProbe(const FileProbe& probe, v1::TreeEntry* entry) {
  entry->set_kind(static_cast<uint32_t>(probe.kind));
  entry->set_data_class(static_cast<uint32_t>(probe.data_class));
  if (probe.plot.has_value()) {
    auto quantize = [](float v) {
      return static_cast<char>(static_cast<uint8_t>(std::clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f));
    };
    entry->set_plot(std::string{quantize(probe.plot->first), quantize(probe.plot->second)});
  }
}

DataHint HintFor(const FileProbe& probe, const TensorRegion* region, uint64_t offset) {
  if (region != nullptr) return TensorHint(region->type, offset - region->offset);
  switch (probe.kind) {
    case FileKind::kText:
    case FileKind::kJsonl:
      return {.kind = DataHint::Class::kText};
    case FileKind::kArchive:
    case FileKind::kMedia:
      return {.kind = DataHint::Class::kCompressed};
    case FileKind::kPytorchZip:
    case FileKind::kOnnx:
    case FileKind::kTflite:
    case FileKind::kGguf:  // when its header did not parse
    case FileKind::kNpz:
      return {.kind = DataHint::Class::kMaybeFloats, .offset = offset};
    case FileKind::kUnknown:
      return ClassHint(probe.data_class, offset);
    default:
      return {};
  }
}

}  // namespace cairn

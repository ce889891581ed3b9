#include "common/gguf_layout.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/le_coding.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// GGUF metadata value types.
enum GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// Arrays of arrays are legal; this deep is not.
constexpr int kMaxArrayDepth = 4;
constexpr uint32_t kMaxDims = 8;

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("GGUF header: ", what));
}

// Reads little-endian fields from the head, never past it.
class Cursor {
 public:
  explicit Cursor(absl::string_view data) : data_(data) {}

  absl::Status Skip(uint64_t n, absl::string_view what) {
    if (n > data_.size() - pos_) {
      return Bad(absl::StrCat(what, " runs past the ", data_.size(), " bytes read of the header"));
    }
    pos_ += n;
    return absl::OkStatus();
  }
  absl::StatusOr<uint32_t> U32(absl::string_view what) {
    const size_t at = pos_;
    RETURN_IF_ERROR(Skip(4, what));
    return LoadLe32(data_.data() + at);
  }
  absl::StatusOr<uint64_t> U64(absl::string_view what) {
    const size_t at = pos_;
    RETURN_IF_ERROR(Skip(8, what));
    return LoadLe64(data_.data() + at);
  }
  absl::StatusOr<absl::string_view> String(absl::string_view what) {
    ASSIGN_OR_RETURN(uint64_t length, U64(what));
    const size_t at = pos_;
    RETURN_IF_ERROR(Skip(length, what));
    return data_.substr(at, length);
  }
  size_t pos() const { return pos_; }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

// Bytes of one scalar of a fixed-size type, 0 for strings and arrays.
uint64_t ScalarSize(uint32_t type) {
  switch (type) {
    case kUint8:
    case kInt8:
    case kBool:
      return 1;
    case kUint16:
    case kInt16:
      return 2;
    case kUint32:
    case kInt32:
    case kFloat32:
      return 4;
    case kUint64:
    case kInt64:
    case kFloat64:
      return 8;
    default:
      return 0;
  }
}

absl::Status SkipValue(Cursor* in, uint32_t type, int depth) {
  if (const uint64_t size = ScalarSize(type); size != 0) return in->Skip(size, "a metadata value");
  if (type == kString) return in->String("a metadata string").status();
  if (type != kArray) return Bad(absl::StrCat("unknown metadata value type ", type));
  if (depth >= kMaxArrayDepth) return Bad("metadata arrays nest too deep");
  ASSIGN_OR_RETURN(uint32_t element, in->U32("an array's element type"));
  ASSIGN_OR_RETURN(uint64_t count, in->U64("an array's length"));
  if (const uint64_t size = ScalarSize(element); size != 0) {
    if (count > UINT64_MAX / size) return Bad("an array's length overflows");
    return in->Skip(count * size, "an array");
  }
  for (uint64_t i = 0; i < count; ++i) {
    // Each element takes at least 8 bytes (a length), so a lying count ends
    // at the end of the head, not after 2^64 iterations.
    RETURN_IF_ERROR(SkipValue(in, element, depth + 1));
  }
  return absl::OkStatus();
}

ElementType TypeOf(uint32_t ggml_type) {
  switch (ggml_type) {
    case 0:
      return ElementType::kF32;
    case 1:
      return ElementType::kF16;
    case 25:
      return ElementType::kI16;
    case 26:
      return ElementType::kI32;
    case 30:
      return ElementType::kBf16;
    default:
      return ElementType::kNone;  // quantized blocks, I8, I64, F64, ...
  }
}

struct TensorInfo {
  uint64_t offset;  // from the start of the data
  ElementType type;
};

}  // namespace

absl::StatusOr<std::vector<TensorRegion>> ParseGgufLayout(absl::string_view head,
                                                          uint64_t file_size) {
  head = head.substr(0, std::min<uint64_t>({head.size(), file_size, kMaxGgufHeader}));
  Cursor in(head);
  RETURN_IF_ERROR(in.Skip(4, "the magic"));
  if (head.substr(0, 4) != "GGUF") return Bad("no GGUF magic");
  ASSIGN_OR_RETURN(uint32_t version, in.U32("the version"));
  if (version != 2 && version != 3) {
    return Bad(absl::StrCat("version ", version, " (only 2 and 3 are read)"));
  }
  ASSIGN_OR_RETURN(uint64_t tensor_count, in.U64("the tensor count"));
  ASSIGN_OR_RETURN(uint64_t kv_count, in.U64("the metadata count"));
  if (tensor_count > kMaxGgufTensors) {
    return Bad(absl::StrCat(tensor_count, " tensors, more than ", kMaxGgufTensors));
  }
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < kv_count; ++i) {
    ASSIGN_OR_RETURN(absl::string_view key, in.String("a metadata key"));
    ASSIGN_OR_RETURN(uint32_t type, in.U32("a metadata value type"));
    if (key == "general.alignment") {
      if (type != kUint32) return Bad("general.alignment is not a uint32");
      ASSIGN_OR_RETURN(uint32_t value, in.U32("general.alignment"));
      if (value == 0 || (value & (value - 1)) != 0 || value > (1u << 20)) {
        return Bad(absl::StrCat("general.alignment ", value, " is not a power of two up to 1 MiB"));
      }
      alignment = value;
      continue;
    }
    RETURN_IF_ERROR(SkipValue(&in, type, 0));
  }
  std::vector<TensorInfo> tensors;
  // Each tensor takes at least 24 bytes of the head: a lying count does not
  // decide how much is allocated.
  tensors.reserve(std::min<uint64_t>(tensor_count, head.size() / 24));
  absl::flat_hash_set<absl::string_view> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    ASSIGN_OR_RETURN(absl::string_view name, in.String("a tensor name"));
    if (!names.insert(name).second) return Bad("two tensors have the same name");
    ASSIGN_OR_RETURN(uint32_t dims, in.U32("a tensor's dimension count"));
    if (dims > kMaxDims) return Bad(absl::StrCat("a tensor has ", dims, " dimensions"));
    RETURN_IF_ERROR(in.Skip(8ull * dims, "a tensor's dimensions"));
    ASSIGN_OR_RETURN(uint32_t type, in.U32("a tensor's type"));
    ASSIGN_OR_RETURN(uint64_t offset, in.U64("a tensor's offset"));
    tensors.push_back({offset, TypeOf(type)});
  }
  const uint64_t data_start = (in.pos() + alignment - 1) / alignment * alignment;
  if (data_start > file_size) return Bad("the tensor data would start past the end of the file");
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.offset < b.offset; });
  std::vector<TensorRegion> regions;
  if (data_start > 0) regions.push_back({0, data_start, ElementType::kNone});
  for (size_t i = 0; i < tensors.size(); ++i) {
    const uint64_t data_left = file_size - data_start;
    if (tensors[i].offset >= data_left) {
      return Bad(
          absl::StrCat("a tensor's offset ", tensors[i].offset, " is past the end of the file"));
    }
    if (i > 0 && tensors[i].offset == tensors[i - 1].offset) {
      return Bad("two tensors start at the same offset");
    }
    const uint64_t end = i + 1 < tensors.size() ? tensors[i + 1].offset : data_left;
    const uint64_t begin = tensors[i].offset;
    if (i == 0 && begin > 0) regions.push_back({data_start, begin, ElementType::kNone});
    regions.push_back({data_start + begin, std::min(end, data_left) - begin, tensors[i].type});
  }
  if (tensors.empty() && data_start < file_size) {
    regions.push_back({data_start, file_size - data_start, ElementType::kNone});
  }
  return regions;
}

}  // namespace cairn

#include "common/tensor_layout.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/json_reader.h"
#include "common/le_coding.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// Names come from the file: keep messages short and printable.
std::string Quoted(absl::string_view name) {
  constexpr size_t kMax = 64;
  return name.size() <= kMax ? absl::StrCat("\"", absl::CHexEscape(name), "\"")
                             : absl::StrCat("\"", absl::CHexEscape(name.substr(0, kMax)), "\"...");
}

absl::Status Prefixed(absl::string_view prefix, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

ElementType SafetensorsDtype(absl::string_view dtype) {
  static constexpr std::pair<absl::string_view, ElementType> kDtypes[] = {
      {"BF16", ElementType::kBf16}, {"F16", ElementType::kF16},    {"F32", ElementType::kF32},
      {"F64", ElementType::kF64},   {"F8_E4M3", ElementType::kF8}, {"F8_E5M2", ElementType::kF8},
      {"I8", ElementType::kI8},     {"U8", ElementType::kU8},      {"I16", ElementType::kI16},
      {"U16", ElementType::kU16},   {"I32", ElementType::kI32},    {"U32", ElementType::kU32},
      {"I64", ElementType::kI64},   {"U64", ElementType::kU64},    {"BOOL", ElementType::kBool},
  };
  for (const auto& [name, type] : kDtypes) {
    if (name == dtype) return type;
  }
  return ElementType::kNone;
}

struct Tensor {
  uint64_t begin;  // relative to the end of the header, as in the file
  uint64_t end;
  ElementType type;
  std::string name;
};

absl::Status SkipMetadata(JsonReader& in) {
  if (in.Peek() != JsonType::kObject) {
    return absl::InvalidArgumentError("__metadata__ is not an object of strings");
  }
  RETURN_IF_ERROR(in.EnterObject());
  std::string key;
  while (true) {
    ASSIGN_OR_RETURN(bool more, in.NextMember(&key));
    if (!more) return absl::OkStatus();
    if (in.Peek() != JsonType::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat("__metadata__ value ", Quoted(key), " is not a string"));
    }
    RETURN_IF_ERROR(in.SkipValue());
  }
}

absl::Status ReadOffsets(JsonReader& in, uint64_t* begin, uint64_t* end) {
  constexpr absl::string_view kWant = "data_offsets is not an array of two non-negative integers";
  if (in.Peek() != JsonType::kArray) return absl::InvalidArgumentError(kWant);
  RETURN_IF_ERROR(in.EnterArray());
  for (uint64_t* value : {begin, end}) {
    ASSIGN_OR_RETURN(bool more, in.NextElement());
    if (!more || in.Peek() != JsonType::kNumber) return absl::InvalidArgumentError(kWant);
    RETURN_IF_ERROR(Prefixed("data_offsets: ", in.ReadUint64(value)));
  }
  ASSIGN_OR_RETURN(bool more, in.NextElement());
  if (more) return absl::InvalidArgumentError(kWant);
  if (*begin > *end) {
    return absl::InvalidArgumentError(
        absl::StrCat("data_offsets [", *begin, ", ", *end, "] end before they begin"));
  }
  return absl::OkStatus();
}

// One tensor's entry; its fields are checked against data_size, the bytes
// after the header.
absl::StatusOr<Tensor> ReadTensor(JsonReader& in, uint64_t data_size) {
  if (in.Peek() != JsonType::kObject) return absl::InvalidArgumentError("entry is not an object");
  RETURN_IF_ERROR(in.EnterObject());
  Tensor t{};
  std::optional<std::string> dtype;
  bool has_offsets = false, has_shape = false;
  std::string key;
  while (true) {
    ASSIGN_OR_RETURN(bool more, in.NextMember(&key));
    if (!more) break;
    // A repeated field would mean different things to different readers.
    auto once = [&key](bool& seen) {
      if (seen) return absl::InvalidArgumentError(absl::StrCat("field ", Quoted(key), " repeats"));
      seen = true;
      return absl::OkStatus();
    };
    if (key == "dtype") {
      bool seen = dtype.has_value();
      RETURN_IF_ERROR(once(seen));
      if (in.Peek() != JsonType::kString) {
        return absl::InvalidArgumentError("dtype is not a string");
      }
      RETURN_IF_ERROR(in.ReadString(&dtype.emplace()));
    } else if (key == "data_offsets") {
      RETURN_IF_ERROR(once(has_offsets));
      RETURN_IF_ERROR(ReadOffsets(in, &t.begin, &t.end));
    } else {
      // The shape is the tensor codec's business; the offsets alone place it.
      if (key == "shape") RETURN_IF_ERROR(once(has_shape));
      RETURN_IF_ERROR(in.SkipValue());
    }
  }
  if (!dtype.has_value()) return absl::InvalidArgumentError("no dtype");
  if (!has_offsets) return absl::InvalidArgumentError("no data_offsets");
  if (t.end > data_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("data ends at byte ", t.end, " of ", data_size, ", past the end of the file"));
  }
  t.type = SafetensorsDtype(*dtype);
  const int width = ElementWidth(t.type);
  if (width > 0 && (t.end - t.begin) % width != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(t.end - t.begin, " bytes of ", *dtype, " is not a whole number of elements"));
  }
  return t;
}

// The tensors of the header, unsorted, zero-length ones included.
absl::StatusOr<std::vector<Tensor>> ReadTensors(absl::string_view header_json, uint64_t data_size) {
  JsonReader in(header_json);
  if (in.Peek() != JsonType::kObject) return absl::InvalidArgumentError("not a JSON object");
  RETURN_IF_ERROR(in.EnterObject());
  std::vector<Tensor> tensors;
  absl::flat_hash_set<std::string> names;
  std::string name;
  while (true) {
    ASSIGN_OR_RETURN(bool more, in.NextMember(&name));
    if (!more) break;
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate name ", Quoted(name)));
    }
    if (name == "__metadata__") {
      RETURN_IF_ERROR(SkipMetadata(in));
      continue;
    }
    if (tensors.size() >= kMaxSafetensorsTensors) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxSafetensorsTensors, " tensors"));
    }
    absl::StatusOr<Tensor> t = ReadTensor(in, data_size);
    if (!t.ok()) return Prefixed(absl::StrCat("tensor ", Quoted(name), ": "), t.status());
    t->name = name;
    tensors.push_back(*std::move(t));
  }
  RETURN_IF_ERROR(in.Finish());
  return tensors;
}

absl::StatusOr<std::vector<TensorRegion>> SafetensorsLayout(absl::string_view header_json,
                                                            uint64_t file_size) {
  if (header_json.size() > kMaxSafetensorsHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header of ", header_json.size(), " bytes exceeds the limit of ", kMaxSafetensorsHeader));
  }
  if (file_size < 8 || header_json.size() > file_size - 8) {
    return absl::InvalidArgumentError(absl::StrCat("header of ", header_json.size(),
                                                   " bytes does not fit a file of ", file_size));
  }
  const uint64_t data_start = 8 + header_json.size();
  ASSIGN_OR_RETURN(std::vector<Tensor> tensors, ReadTensors(header_json, file_size - data_start));
  std::erase_if(tensors, [](const Tensor& t) { return t.begin == t.end; });
  std::sort(tensors.begin(), tensors.end(), [](const Tensor& a, const Tensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });

  std::vector<TensorRegion> regions = {{0, data_start, ElementType::kNone}};
  uint64_t covered = 0;  // relative to data_start
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.begin < covered) {
      return absl::InvalidArgumentError(absl::StrCat("tensors ", Quoted(tensors[i - 1].name),
                                                     " and ", Quoted(t.name), " overlap"));
    }
    if (t.begin > covered) {
      regions.push_back({data_start + covered, t.begin - covered, ElementType::kNone});
    }
    regions.push_back({data_start + t.begin, t.end - t.begin, t.type});
    covered = t.end;
  }
  if (data_start + covered < file_size) {
    regions.push_back({data_start + covered, file_size - data_start - covered, ElementType::kNone});
  }
  return regions;
}

// The header of a .npy file is a Python dict literal, which numpy reads with
// ast.literal_eval. This reads the subset numpy writes: strings without
// escapes, non-negative integers (Python 2 files may add an 'L'), True, False,
// None, and tuples and lists of those.
class PyLiteralReader {
 public:
  explicit PyLiteralReader(absl::string_view text) : text_(text) {}

  bool Take(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  absl::Status Expect(char c) {
    if (Take(c)) return absl::OkStatus();
    return Error(absl::StrCat("expected '", std::string(1, c), "'"));
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }
  bool AtString() {
    SkipSpace();
    return pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"');
  }

  absl::Status ReadString(std::string* out) {
    if (!AtString()) return Error("expected a string");
    const char quote = text_[pos_++];
    const size_t end = text_.find_first_of(absl::StrCat(std::string(1, quote), "\\\n"), pos_);
    if (end == absl::string_view::npos || text_[end] != quote) {
      return Error("unterminated string or one with an escape");
    }
    out->assign(text_.data() + pos_, end - pos_);
    pos_ = end + 1;
    return absl::OkStatus();
  }

  absl::Status ReadUint64(uint64_t* out) {
    SkipSpace();
    const size_t start = pos_;
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_++] - '0');
      if (value > (UINT64_MAX - digit) / 10) return Error("integer does not fit in 64 bits");
      value = value * 10 + digit;
    }
    if (pos_ == start) return Error("expected a non-negative integer");
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
    *out = value;
    return absl::OkStatus();
  }

  absl::Status ReadBool(bool* out) {
    SkipSpace();
    for (bool value : {true, false}) {
      const absl::string_view word = value ? "True" : "False";
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        *out = value;
        return absl::OkStatus();
      }
    }
    return Error("expected True or False");
  }

  // A tuple of integers: "()", "(3,)", "(3, 4)". "(3)" is the integer 3, not
  // a shape, as numpy also finds.
  absl::Status ReadShape(std::vector<uint64_t>* shape) {
    shape->clear();
    RETURN_IF_ERROR(Expect('('));
    bool comma = false;
    while (!Take(')')) {
      RETURN_IF_ERROR(ReadUint64(&shape->emplace_back()));
      comma = Take(',');
      if (!comma) {
        RETURN_IF_ERROR(Expect(')'));
        break;
      }
    }
    if (shape->size() == 1 && !comma) return Error("shape is not a tuple");
    return absl::OkStatus();
  }

  // Any value of the subset (a structured descr nests lists and tuples).
  absl::Status Skip(int depth = 0) {
    SkipSpace();
    if (pos_ >= text_.size()) return Error("expected a value");
    const char c = text_[pos_];
    if (c == '\'' || c == '"') {
      std::string ignored;
      return ReadString(&ignored);
    }
    if (c == '(' || c == '[') {
      if (depth >= kMaxDepth) return Error("nesting too deep");
      ++pos_;
      const char close = c == '(' ? ')' : ']';
      while (!Take(close)) {
        RETURN_IF_ERROR(Skip(depth + 1));
        if (!Take(',')) return Expect(close);
      }
      return absl::OkStatus();
    }
    if (text_.substr(pos_, 4) == "None") {
      pos_ += 4;
      return absl::OkStatus();
    }
    if (c == 'T' || c == 'F') {
      bool ignored;
      return ReadBool(&ignored);
    }
    uint64_t ignored;
    return ReadUint64(&ignored);
  }

 private:
  static constexpr int kMaxDepth = 16;

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("header dict at byte ", pos_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

ElementType NpyDescrType(absl::string_view descr) {
  static constexpr std::pair<absl::string_view, ElementType> kTypes[] = {
      {"b1", ElementType::kBool}, {"i1", ElementType::kI8},  {"u1", ElementType::kU8},
      {"i2", ElementType::kI16},  {"u2", ElementType::kU16}, {"f2", ElementType::kF16},
      {"i4", ElementType::kI32},  {"u4", ElementType::kU32}, {"f4", ElementType::kF32},
      {"i8", ElementType::kI64},  {"u8", ElementType::kU64}, {"f8", ElementType::kF64},
  };
  if (descr.empty() || (descr[0] != '<' && descr[0] != '|')) return ElementType::kNone;
  for (const auto& [code, type] : kTypes) {
    // '|' means "byte order does not apply", which is only true of one byte.
    if (descr.substr(1) == code && (descr[0] == '<' || ElementWidth(type) == 1)) return type;
  }
  return ElementType::kNone;
}

struct NpyHeader {
  ElementType type = ElementType::kNone;
  std::vector<uint64_t> shape;
};

absl::StatusOr<NpyHeader> ParseNpyDict(absl::string_view dict) {
  PyLiteralReader in(dict);
  NpyHeader header;
  bool has_descr = false, has_order = false, has_shape = false;
  RETURN_IF_ERROR(in.Expect('{'));
  std::string key;
  while (!in.Take('}')) {
    RETURN_IF_ERROR(in.ReadString(&key));
    RETURN_IF_ERROR(in.Expect(':'));
    bool* seen = key == "descr"           ? &has_descr
                 : key == "fortran_order" ? &has_order
                 : key == "shape"         ? &has_shape
                                          : nullptr;
    // numpy refuses other keys too.
    if (seen == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown key ", Quoted(key)));
    }
    if (*seen) return absl::InvalidArgumentError(absl::StrCat("key ", Quoted(key), " repeats"));
    *seen = true;
    if (key == "descr") {
      // A list is a structured dtype: records, not one tensor.
      if (in.AtString()) {
        std::string descr;
        RETURN_IF_ERROR(in.ReadString(&descr));
        header.type = NpyDescrType(descr);
      } else {
        RETURN_IF_ERROR(in.Skip());
      }
    } else if (key == "fortran_order") {
      // Element order does not change which bytes are tensor data.
      bool ignored;
      RETURN_IF_ERROR(in.ReadBool(&ignored));
    } else {
      RETURN_IF_ERROR(in.ReadShape(&header.shape));
    }
    if (!in.Take(',')) {
      RETURN_IF_ERROR(in.Expect('}'));
      break;
    }
  }
  if (!in.AtEnd()) return absl::InvalidArgumentError("bytes after the header dict");
  if (!has_descr || !has_order || !has_shape) {
    return absl::InvalidArgumentError("header dict lacks 'descr', 'fortran_order' or 'shape'");
  }
  return header;
}

absl::StatusOr<std::vector<TensorRegion>> NpyLayout(absl::string_view head, uint64_t file_size) {
  constexpr absl::string_view kMagic = "\x93NUMPY";
  if (head.size() < 10 || head.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError("no .npy magic");
  }
  const uint8_t major = static_cast<uint8_t>(head[6]);
  if (major < 1 || major > 3) {
    return absl::InvalidArgumentError(absl::StrCat("unknown format version ", major));
  }
  // Version 1 has a 2-byte header length, later versions 4 bytes.
  const size_t length_at = 8, dict_at = major == 1 ? 10 : 12;
  if (head.size() < dict_at) return absl::InvalidArgumentError("truncated header length");
  const uint64_t dict_length = major == 1
                                   ? uint64_t{static_cast<uint8_t>(head[length_at])} |
                                         uint64_t{static_cast<uint8_t>(head[length_at + 1])} << 8
                                   : uint64_t{LoadLe32(head.data() + length_at)};
  const uint64_t data_start = dict_at + dict_length;
  if (data_start > file_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("header of ", data_start, " bytes is longer than the file of ", file_size));
  }
  if (data_start > head.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header of ", data_start, " bytes is longer than head (", head.size(), " bytes)"));
  }
  ASSIGN_OR_RETURN(NpyHeader header, ParseNpyDict(head.substr(dict_at, dict_length)));

  uint64_t data_length = file_size - data_start;
  const int width = ElementWidth(header.type);
  if (width > 0) {
    uint64_t need = static_cast<uint64_t>(width);
    for (uint64_t dim : header.shape) {
      if (dim != 0 && need > data_length / dim) {
        return absl::InvalidArgumentError(
            absl::StrCat("shape needs more than the ", data_length, " data bytes of the file"));
      }
      need *= dim;
    }
    data_length = need;
  }
  std::vector<TensorRegion> regions = {{0, data_start, ElementType::kNone}};
  if (data_length > 0) regions.push_back({data_start, data_length, header.type});
  const uint64_t end = data_start + data_length;
  if (end < file_size) regions.push_back({end, file_size - end, ElementType::kNone});
  return regions;
}

}  // namespace

int ElementWidth(ElementType t) {
  switch (t) {
    case ElementType::kNone:
      return 0;
    case ElementType::kF8:
    case ElementType::kI8:
    case ElementType::kU8:
    case ElementType::kBool:
      return 1;
    case ElementType::kBf16:
    case ElementType::kF16:
    case ElementType::kI16:
    case ElementType::kU16:
      return 2;
    case ElementType::kF32:
    case ElementType::kI32:
    case ElementType::kU32:
      return 4;
    case ElementType::kF64:
    case ElementType::kI64:
    case ElementType::kU64:
      return 8;
  }
  return 0;
}

absl::StatusOr<uint64_t> SafetensorsHeaderLength(absl::string_view first8, uint64_t file_size) {
  if (first8.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("safetensors prefix: need 8 bytes, have ", first8.size()));
  }
  const uint64_t n = LoadLe64(first8.data());
  if (n > kMaxSafetensorsHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        "safetensors prefix: header length ", n, " exceeds the limit of ", kMaxSafetensorsHeader));
  }
  if (n < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("safetensors prefix: header length ", n, " has no room for a JSON object"));
  }
  if (file_size < 8 || n > file_size - 8) {
    return absl::InvalidArgumentError(absl::StrCat("safetensors prefix: header length ", n,
                                                   " runs past the end of a file of ", file_size,
                                                   " bytes"));
  }
  return n;
}

absl::StatusOr<std::vector<TensorRegion>> ParseSafetensorsLayout(absl::string_view header_json,
                                                                 uint64_t file_size) {
  absl::StatusOr<std::vector<TensorRegion>> regions = SafetensorsLayout(header_json, file_size);
  if (!regions.ok()) return Prefixed("safetensors header: ", regions.status());
  return regions;
}

absl::StatusOr<std::vector<TensorRegion>> ParseNpyLayout(absl::string_view head,
                                                         uint64_t file_size) {
  absl::StatusOr<std::vector<TensorRegion>> regions = NpyLayout(head, file_size);
  if (!regions.ok()) return Prefixed(".npy header: ", regions.status());
  return regions;
}

}  // namespace cairn

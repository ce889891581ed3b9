#include "common/tensor_layout.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/le_coding.h"
#include "gtest/gtest.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using T = ElementType;

// Regions must cover [0, file_size) with no gap, no overlap, no empty region.
void ExpectTiles(const std::vector<TensorRegion>& regions, uint64_t file_size) {
  uint64_t at = 0;
  for (const TensorRegion& r : regions) {
    EXPECT_EQ(r.offset, at);
    EXPECT_GT(r.length, 0u) << r.offset;
    at = r.offset + r.length;
  }
  EXPECT_EQ(at, file_size);
}

std::string Prefix(uint64_t n) {
  std::string out;
  AppendLe64(n, &out);
  return out;
}

// Two tensors out of order, a gap, a zero-length tensor, an unknown dtype and
// trailing bytes.
constexpr absl::string_view kHeader =
    R"({"__metadata__":{"format":"pt","note":"a\"b"},)"
    R"("b":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},)"
    R"("a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},)"
    R"("empty":{"dtype":"F32","shape":[0],"data_offsets":[24,24]},)"
    R"("c":{"dtype":"C64","shape":[3],"data_offsets":[28,34]},)"
    R"("d":{"shape":[2],"data_offsets":[34,36],"dtype":"U8","extra":{"x":[1]}}})"
    "    ";

absl::Status LayoutError(absl::string_view header, uint64_t data_size = 64) {
  return ParseSafetensorsLayout(header, 8 + header.size() + data_size).status();
}

absl::StatusOr<std::vector<TensorRegion>> OneTensor(absl::string_view dtype, uint64_t begin,
                                                    uint64_t end, uint64_t data_size) {
  std::string header = absl::StrCat(R"({"t":{"dtype":")", dtype, R"(","shape":[1],)",
                                    R"("data_offsets":[)", begin, ",", end, "]}}");
  return ParseSafetensorsLayout(header, 8 + header.size() + data_size);
}

TEST(ElementWidthTest, MatchesTheTypes) {
  EXPECT_EQ(ElementWidth(T::kNone), 0);
  for (T t : {T::kF8, T::kI8, T::kU8, T::kBool}) EXPECT_EQ(ElementWidth(t), 1);
  for (T t : {T::kBf16, T::kF16, T::kI16, T::kU16}) EXPECT_EQ(ElementWidth(t), 2);
  for (T t : {T::kF32, T::kI32, T::kU32}) EXPECT_EQ(ElementWidth(t), 4);
  for (T t : {T::kF64, T::kI64, T::kU64}) EXPECT_EQ(ElementWidth(t), 8);
}

TEST(SafetensorsHeaderLengthTest, ChecksThePrefix) {
  ASSERT_OK_AND_ASSIGN(uint64_t n, SafetensorsHeaderLength(Prefix(100) + "{", 108));
  EXPECT_EQ(n, 100u);
  EXPECT_EQ(*SafetensorsHeaderLength(Prefix(kMaxSafetensorsHeader), 1ull << 40),
            kMaxSafetensorsHeader);
  for (auto [first8, file_size, why] : std::vector<std::tuple<std::string, uint64_t, std::string>>{
           {"", 100, "need 8 bytes"},
           {Prefix(10).substr(0, 7), 100, "need 8 bytes"},
           {Prefix(100), 107, "past the end"},
           {Prefix(100), 4, "past the end"},
           {Prefix(0), 100, "no room"},
           {Prefix(1), 100, "no room"},
           {Prefix(kMaxSafetensorsHeader + 1), 1ull << 40, "exceeds the limit"},
           {Prefix(UINT64_MAX), UINT64_MAX, "exceeds the limit"},
       }) {
    absl::StatusOr<uint64_t> got = SafetensorsHeaderLength(first8, file_size);
    ASSERT_FALSE(got.ok()) << why;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(got.status().message().find(why), std::string::npos) << got.status();
  }
}

TEST(SafetensorsLayoutTest, TilesAMultiTensorFile) {
  const uint64_t start = 8 + kHeader.size();
  const uint64_t file_size = start + 40;
  ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions,
                       ParseSafetensorsLayout(kHeader, file_size));
  EXPECT_EQ(regions, (std::vector<TensorRegion>{
                         {0, start, T::kNone},
                         {start, 8, T::kBf16},
                         {start + 8, 16, T::kF32},
                         {start + 24, 4, T::kNone},  // gap
                         {start + 28, 6, T::kNone},  // unknown dtype, any length
                         {start + 34, 2, T::kU8},
                         {start + 36, 4, T::kNone},  // trailing bytes
                     }));
  ExpectTiles(regions, file_size);
}

TEST(SafetensorsLayoutTest, HeaderOnly) {
  ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions, ParseSafetensorsLayout("{}", 10));
  EXPECT_EQ(regions, (std::vector<TensorRegion>{{0, 10, T::kNone}}));
  ASSERT_OK_AND_ASSIGN(regions, ParseSafetensorsLayout("{ }  ", 20));
  EXPECT_EQ(regions, (std::vector<TensorRegion>{{0, 13, T::kNone}, {13, 7, T::kNone}}));
}

TEST(SafetensorsLayoutTest, MapsEveryDtype) {
  for (auto [dtype, type] : std::vector<std::pair<std::string, T>>{{"BF16", T::kBf16},
                                                                   {"F16", T::kF16},
                                                                   {"F32", T::kF32},
                                                                   {"F64", T::kF64},
                                                                   {"F8_E4M3", T::kF8},
                                                                   {"F8_E5M2", T::kF8},
                                                                   {"I8", T::kI8},
                                                                   {"U8", T::kU8},
                                                                   {"I16", T::kI16},
                                                                   {"U16", T::kU16},
                                                                   {"I32", T::kI32},
                                                                   {"U32", T::kU32},
                                                                   {"I64", T::kI64},
                                                                   {"U64", T::kU64},
                                                                   {"BOOL", T::kBool},
                                                                   {"bf16", T::kNone},
                                                                   {"C64", T::kNone},
                                                                   {"F8_E8M0", T::kNone},
                                                                   {"", T::kNone}}) {
    ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions, OneTensor(dtype, 0, 8, 8));
    ASSERT_EQ(regions.size(), 2u) << dtype;
    EXPECT_EQ(regions[1].type, type) << dtype;
    EXPECT_EQ(regions[1].length, 8u) << dtype;
  }
}

TEST(SafetensorsLayoutTest, NamesAreComparedDecoded) {
  ASSERT_OK(
      ParseSafetensorsLayout(
          R"({"\u00e9\n\"":{"dtype":"U8","data_offsets":[0,1]},"é\n":{"dtype":"U8","data_offsets":[1,2]}})",
          1000)
          .status());
  absl::Status status = LayoutError(
      R"({"a":{"dtype":"U8","data_offsets":[0,1]},"\u0061":{"dtype":"U8","data_offsets":[1,2]}})");
  EXPECT_NE(status.message().find("duplicate name \"a\""), std::string::npos) << status;
}

TEST(SafetensorsLayoutTest, RefusesBadHeadersClearly) {
  const std::string ok = R"("dtype":"F32","data_offsets":[0,4])";
  for (
      auto [header, why] : std::vector<std::pair<std::string, std::string>>{
          {"", "not a JSON object"},
          {"[]", "not a JSON object"},
          {"{", "JSON at byte 1"},
          {R"({"a":{)" + ok + "}} x", "trailing bytes"},
          {R"({"a":{)" + ok + "},}", "expected a string key"},
          {R"({"a":{)" + ok + "},\"a\":{" + ok + "}}", "duplicate name \"a\""},
          {R"({"__metadata__":{},"__metadata__":{}})", "duplicate name \"__metadata__\""},
          {R"({"__metadata__":[]})", "__metadata__ is not an object of strings"},
          {R"({"__metadata__":{"k":1}})", "__metadata__ value \"k\" is not a string"},
          {R"({"a":[]})", "tensor \"a\": entry is not an object"},
          {R"({"a":{"data_offsets":[0,4]}})", "tensor \"a\": no dtype"},
          {R"({"a":{"dtype":"F32"}})", "tensor \"a\": no data_offsets"},
          {R"({"a":{"dtype":7,"data_offsets":[0,4]}})", "dtype is not a string"},
          {R"({"a":{"dtype":"F32","dtype":"F32","data_offsets":[0,4]}})",
           "field \"dtype\" repeats"},
          {R"({"a":{)" + ok + R"(,"data_offsets":[0,4]}})", "field \"data_offsets\" repeats"},
          {R"({"a":{"shape":[1],"shape":[1],)" + ok + "}}", "field \"shape\" repeats"},
          {R"({"a":{"dtype":"F32","data_offsets":4}})", "not an array of two non-negative"},
          {R"({"a":{"dtype":"F32","data_offsets":[]}})", "not an array of two non-negative"},
          {R"({"a":{"dtype":"F32","data_offsets":[4]}})", "not an array of two non-negative"},
          {R"({"a":{"dtype":"F32","data_offsets":[0,4,8]}})", "not an array of two non-negative"},
          {R"({"a":{"dtype":"F32","data_offsets":["0","4"]}})", "not an array of two non-negative"},
          {R"({"a":{"dtype":"F32","data_offsets":[-4,0]}})", "negative number -4"},
          {R"({"a":{"dtype":"F32","data_offsets":[0,4.0]}})", "not an integer"},
          {R"({"a":{"dtype":"F32","data_offsets":[0,1e2]}})", "not an integer"},
          {R"({"a":{"dtype":"F32","data_offsets":[0,18446744073709551616]}})",
           "does not fit in 64 bits"},
          {R"({"a":{"dtype":"F32","data_offsets":[8,4]}})", "end before they begin"},
          {R"({"a":{"dtype":"F32","data_offsets":[0,68]}})", "past the end of the file"},
          {R"({"a":{"dtype":"F32","data_offsets":[68,68]}})", "past the end of the file"},
          {R"({"a":{"dtype":"F32","data_offsets":[0,18446744073709551615]}})",
           "past the end of the file"},
          {R"({"a":{"dtype":"F32","data_offsets":[0,6]}})", "not a whole number of elements"},
          {R"({"a":{"dtype":"F64","data_offsets":[0,12]}})", "not a whole number of elements"},
          {R"({"a":{)" + ok + R"(},"b":{"dtype":"F32","data_offsets":[0,8]}})",
           "tensors \"a\" and \"b\" overlap"},
          {R"({"a":{"dtype":"U8","data_offsets":[0,10]},"b":{"dtype":"U8","data_offsets":[9,11]}})",
           "overlap"},
          {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4],\"s\":\"\xff\"}}", "not valid UTF-8"},
      }) {
    absl::Status status = LayoutError(header);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << header;
    EXPECT_NE(status.message().find("safetensors header: "), std::string::npos) << status;
    EXPECT_NE(status.message().find(why), std::string::npos) << header << " -> " << status;
  }
}

TEST(SafetensorsLayoutTest, ZeroLengthTensorsAreDroppedButChecked) {
  ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions, OneTensor("F32", 4, 4, 8));
  EXPECT_EQ(regions.size(), 2u);  // header, then the 8 data bytes as one gap
  EXPECT_EQ(regions[1].type, T::kNone);
  EXPECT_FALSE(OneTensor("F32", 9, 9, 8).ok());
  EXPECT_FALSE(OneTensor("F32", 4, 3, 8).ok());
}

TEST(SafetensorsLayoutTest, RefusesHeadersThatDoNotFit) {
  EXPECT_NE(ParseSafetensorsLayout("{}", 9).status().message().find("does not fit"),
            std::string::npos);
  EXPECT_FALSE(ParseSafetensorsLayout("{}", 0).ok());
  std::string huge = "{}" + std::string(kMaxSafetensorsHeader - 1, ' ');
  absl::Status status = ParseSafetensorsLayout(huge, 1ull << 40).status();
  EXPECT_NE(status.message().find("exceeds the limit"), std::string::npos) << status;
  huge.pop_back();
  EXPECT_OK(ParseSafetensorsLayout(huge, 1ull << 40).status());
}

TEST(SafetensorsLayoutTest, RefusesDeepNesting) {
  // The top object and the tensor's are two levels: 62 arrays fit, 63 do not.
  auto header = [](int arrays) {
    return R"({"a":{"dtype":"U8","data_offsets":[0,1],"x":)" + std::string(arrays, '[') +
           std::string(arrays, ']') + "}}";
  };
  EXPECT_OK(LayoutError(header(62)));
  absl::Status status = LayoutError(header(63));
  EXPECT_NE(status.message().find("deeper than 64"), std::string::npos) << status;
  status = LayoutError(R"({"a":{"x":)" + std::string(100000, '['));
  EXPECT_NE(status.message().find("deeper than 64"), std::string::npos) << status;
}

TEST(SafetensorsLayoutTest, ManyTensors) {
  std::string header = "{";
  const int kCount = 20000;
  for (int i = 0; i < kCount; ++i) {
    absl::StrAppend(&header, i ? "," : "", "\"t", i, R"(":{"dtype":"F16","data_offsets":[)", 2 * i,
                    ",", 2 * i + 2, "]}");
  }
  header += "}";
  ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions,
                       ParseSafetensorsLayout(header, 8 + header.size() + 2 * kCount));
  EXPECT_EQ(regions.size(), kCount + 1u);
  ExpectTiles(regions, 8 + header.size() + 2 * kCount);
}

TEST(SafetensorsLayoutTest, EveryTruncationIsAnError) {
  const std::string header(kHeader.substr(0, kHeader.find_last_of('}') + 1));
  for (size_t n = 0; n < header.size(); ++n) {
    absl::StatusOr<std::vector<TensorRegion>> got =
        ParseSafetensorsLayout(header.substr(0, n), 8 + header.size() + 40);
    EXPECT_FALSE(got.ok()) << n;
  }
}

TEST(SafetensorsLayoutTest, MutatedHeadersNeverCrashAndAlwaysTile) {
  const std::string header(kHeader);
  uint64_t x = 7;
  auto next = [&x] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  const std::string bytes = "{}[]:,\"\\0123456789-e. \xff";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = header;
    for (int k = 0, n = 1 + next() % 3; k < n; ++k) {
      mutated[next() % mutated.size()] = bytes[next() % bytes.size()];
    }
    const uint64_t file_size = 8 + mutated.size() + next() % 64;
    absl::StatusOr<std::vector<TensorRegion>> got = ParseSafetensorsLayout(mutated, file_size);
    if (got.ok()) {
      ++accepted;
      ExpectTiles(*got, file_size);
    } else {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(accepted, 0);
}

// A .npy file's first bytes: magic, version, header length, the dict padded
// with spaces and a newline to a multiple of 64 bytes.
std::string NpyHead(absl::string_view dict, int major = 1) {
  const size_t fixed = major == 1 ? 10 : 12;
  std::string padded(dict);
  padded.append((64 - (fixed + padded.size() + 1) % 64) % 64, ' ');
  padded += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  if (major == 1) {
    out += static_cast<char>(padded.size() & 0xff);
    out += static_cast<char>(padded.size() >> 8);
  } else {
    AppendLe32(static_cast<uint32_t>(padded.size()), &out);
  }
  return out + padded;
}

std::string Dict(absl::string_view descr, absl::string_view shape) {
  return absl::StrCat("{'descr': ", descr, ", 'fortran_order': False, 'shape': ", shape, ", }");
}

TEST(NpyLayoutTest, ReadsEachVersion) {
  for (int major : {1, 2, 3}) {
    const std::string head = NpyHead(Dict("'<f4'", "(3, 4)"), major);
    ASSERT_EQ(head.size() % 64, 0u);
    ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions, ParseNpyLayout(head, head.size() + 48));
    EXPECT_EQ(regions,
              (std::vector<TensorRegion>{{0, head.size(), T::kNone}, {head.size(), 48, T::kF32}}));
  }
}

TEST(NpyLayoutTest, MapsDescrs) {
  for (auto [descr, type] :
       std::vector<std::pair<std::string, T>>{{"'<f2'", T::kF16},
                                              {"'<f4'", T::kF32},
                                              {"'<f8'", T::kF64},
                                              {"'|i1'", T::kI8},
                                              {"'|u1'", T::kU8},
                                              {"'<i2'", T::kI16},
                                              {"'<u2'", T::kU16},
                                              {"'<i4'", T::kI32},
                                              {"'<u4'", T::kU32},
                                              {"'<i8'", T::kI64},
                                              {"'<u8'", T::kU64},
                                              {"'|b1'", T::kBool},
                                              {"\"<f4\"", T::kF32},
                                              {"'<V2'", T::kNone},
                                              {"'>f4'", T::kNone},
                                              {"'|f4'", T::kNone},
                                              {"'=f4'", T::kNone},
                                              {"'<c8'", T::kNone},
                                              {"'|O'", T::kNone},
                                              {"'<U3'", T::kNone},
                                              {"[('x', '<f4'), ('y', '<i2', (2,))]", T::kNone}}) {
    const std::string head = NpyHead(Dict(descr, "(2, 3)"));
    ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions, ParseNpyLayout(head, head.size() + 96));
    ASSERT_EQ(regions.size(), type == T::kNone ? 2u : 3u) << descr;
    EXPECT_EQ(regions[1].type, type) << descr;
    if (type != T::kNone) {
      EXPECT_EQ(regions[1].length, 6u * ElementWidth(type)) << descr;
    }
    ExpectTiles(regions, head.size() + 96);
  }
}

TEST(NpyLayoutTest, AcceptsWhatNumpyWrites) {
  for (auto [dict, data] : std::vector<std::pair<std::string, uint64_t>>{
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4},
           {"{'descr': '<f4', 'fortran_order': True, 'shape': (5,), }", 20},
           {"{'shape': (2L, 3L), 'fortran_order': False, 'descr': '<i2'}", 12},
           {"{\"descr\":\"<u2\",\"fortran_order\":False,\"shape\":(1,2,)}", 4},
       }) {
    const std::string head = NpyHead(dict);
    ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions,
                         ParseNpyLayout(head, head.size() + data));
    ASSERT_EQ(regions.size(), 2u) << dict;
    EXPECT_EQ(regions[1].length, data) << dict;
  }
}

TEST(NpyLayoutTest, EmptyArrayAndTrailingBytes) {
  const std::string head = NpyHead(Dict("'<f4'", "(0, 5)"));
  ASSERT_OK_AND_ASSIGN(std::vector<TensorRegion> regions, ParseNpyLayout(head, head.size()));
  EXPECT_EQ(regions, (std::vector<TensorRegion>{{0, head.size(), T::kNone}}));
  ASSERT_OK_AND_ASSIGN(regions, ParseNpyLayout(head, head.size() + 3));
  EXPECT_EQ(regions,
            (std::vector<TensorRegion>{{0, head.size(), T::kNone}, {head.size(), 3, T::kNone}}));
  const std::string f2 = NpyHead(Dict("'<f2'", "(4,)"));
  ASSERT_OK_AND_ASSIGN(regions, ParseNpyLayout(f2, f2.size() + 10));
  EXPECT_EQ(regions,
            (std::vector<TensorRegion>{
                {0, f2.size(), T::kNone}, {f2.size(), 8, T::kF16}, {f2.size() + 8, 2, T::kNone}}));
}

TEST(NpyLayoutTest, RefusesBadHeadersClearly) {
  const std::string good = NpyHead(Dict("'<f4'", "(2,)"));
  std::string v4 = good, long_header = good;
  v4[6] = 4;
  long_header[8] = static_cast<char>(0xff);
  for (auto [head, why] : std::vector<std::pair<std::string, std::string>>{
           {"", "no .npy magic"},
           {"\x93NUMPZ\x01\x00\x10\x00", "no .npy magic"},
           {v4, "unknown format version 4"},
           {NpyHead(Dict("'<f4'", "(2,)"), 2).substr(0, 11), "truncated header length"},
           {NpyHead("{'descr': '<f4', 'shape': (2,)}"), "lacks"},
           {NpyHead("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"),
            "unknown key \"x\""},
           {NpyHead("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}"),
            "key \"descr\" repeats"},
           {NpyHead(Dict("'<f4'", "(3)")), "not a tuple"},
           {NpyHead(Dict("'<f4'", "(-3,)")), "non-negative integer"},
           {NpyHead(Dict("'<f4'", "(2.5,)")), "expected ')'"},
           {NpyHead(Dict("'<f4'", "[2]")), "expected '('"},
           {NpyHead(Dict("'<f4'", "(99999999999999999999999,)")), "does not fit in 64 bits"},
           {NpyHead(Dict("'<f4'", "(4294967296, 4294967296)")), "shape needs more"},
           {NpyHead(Dict("'<f4'", "(1000,)")), "shape needs more"},
           {NpyHead(Dict("'<\\f4'", "(2,)")), "escape"},
           {NpyHead("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"), "True or False"},
           {NpyHead(Dict("'<f4'", "(2,)") + " x"), "bytes after the header dict"},
           {NpyHead("['descr']"), "expected '{'"},
           {NpyHead(Dict(std::string(40, '[') + std::string(40, ']'), "(2,)")), "too deep"},
       }) {
    absl::StatusOr<std::vector<TensorRegion>> got = ParseNpyLayout(head, head.size() + 8);
    ASSERT_FALSE(got.ok()) << why;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(got.status().message().find(".npy header: "), std::string::npos) << got.status();
    EXPECT_NE(got.status().message().find(why), std::string::npos) << got.status();
  }
  EXPECT_NE(ParseNpyLayout(good, good.size() - 1).status().message().find("longer than the file"),
            std::string::npos);
  EXPECT_NE(ParseNpyLayout(long_header, 1 << 20).status().message().find("longer than head"),
            std::string::npos);
}

TEST(NpyLayoutTest, EveryTruncationIsAnError) {
  const std::string head = NpyHead(Dict("[('x', '<f4'), ('y', '<i2', (2,))]", "(2, 3)"));
  ASSERT_OK(ParseNpyLayout(head, 1000).status());
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_FALSE(ParseNpyLayout(head.substr(0, n), 1000).ok()) << n;
  }
}

TEST(NpyLayoutTest, RandomHeadersNeverCrash) {
  uint64_t x = 99;
  auto next = [&x] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  const std::string good = NpyHead(Dict("'<f4'", "(2, 3)"));
  const std::string bytes = "{}()[],:'\"0123456789L TrueFalseNone<|f4\n";
  for (int i = 0; i < 20000; ++i) {
    std::string head = good;
    for (int k = 0, n = 1 + next() % 4; k < n; ++k) {
      const size_t at = next() % head.size();
      head[at] = at < 10 || i % 4 == 0 ? static_cast<char>(next()) : bytes[next() % bytes.size()];
    }
    const uint64_t file_size = next() % 256;
    absl::StatusOr<std::vector<TensorRegion>> got = ParseNpyLayout(head, file_size);
    if (got.ok()) ExpectTiles(*got, file_size);
  }
}

}  // namespace
}  // namespace cairn

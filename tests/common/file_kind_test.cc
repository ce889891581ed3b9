#include "common/file_kind.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/le_coding.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using K = FileKind;
constexpr int kKindCount = static_cast<int>(FileKind::kEmpty) + 1;

// A whole small file, sniffed as the backup would: head = first 4 KiB.
FileKind Sniff(absl::string_view file, absl::string_view name = "f") {
  return SniffFileKind(file.substr(0, kSniffBytes), file.size(), name);
}

// Bitwise CRC32C, independent of the table-driven one under test.
uint32_t Crc32c(absl::string_view data) {
  uint32_t crc = ~0u;
  for (char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
  }
  return ~crc;
}

uint32_t MaskedCrc(absl::string_view data) {
  const uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
}

std::string TfRecord(absl::string_view data) {
  std::string out;
  AppendLe64(data.size(), &out);
  AppendLe32(MaskedCrc(out), &out);
  absl::StrAppend(&out, data);
  AppendLe32(MaskedCrc(data), &out);
  return out;
}

std::string Safetensors() {
  std::string header = R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[4],)"
                       R"("data_offsets":[0,16]}})";
  header.resize((header.size() + 7) / 8 * 8, ' ');
  std::string out;
  AppendLe64(header.size(), &out);
  return out + header + std::string(16, '\x3f');
}

std::string ZipEntry(absl::string_view name) {
  std::string out = "PK\x03\x04";
  out += std::string("\x14\x00\x00\x00\x08\x00", 6);  // version, flags, deflate
  AppendLe32(0x5a6b0000, &out);                       // time, date
  AppendLe32(0x12345678, &out);                       // crc
  AppendLe32(100, &out);                              // sizes
  AppendLe32(200, &out);
  out += static_cast<char>(name.size() & 0xff);
  out += static_cast<char>(name.size() >> 8);
  out += std::string(2, '\0');  // no extra field
  return absl::StrCat(out, name, std::string(100, '\x9c'));
}

std::string Npy() {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  dict.resize(128 - 10 - 1, ' ');
  dict += '\n';
  return absl::StrCat("\x93NUMPY\x01", std::string(1, '\0'), std::string(1, '\x76'),
                      std::string(1, '\0'), dict, std::string(8, '\0'));
}

std::string Tar() {
  std::string header(512, '\0');
  header.replace(0, 8, "data.txt");
  header.replace(100, 7, "0000644");
  header.replace(124, 11, "00000000005");
  header[156] = '0';
  header.replace(257, 6, std::string("ustar\0", 6));
  header.replace(263, 2, "00");
  return header + "hello" + std::string(507, '\0');
}

std::string Onnx() {
  // ir_version 8, producer_name "pytorch", producer_version "2.1", then a
  // graph (field 7) whose bytes are binary.
  static constexpr char kBytes[] =
      "\x08\x08\x12\x07pytorch\x1a\x03"
      "2.1\x3a\x90\x01\x0a\x00\x01\x02\xff";
  return std::string(kBytes, sizeof(kBytes) - 1);
}

std::string Bytes(std::initializer_list<int> bytes, size_t pad = 64) {
  std::string out;
  for (int b : bytes) out += static_cast<char>(b);
  uint64_t x = 0x1234567;
  for (size_t i = 0; i < pad; ++i)
    out += static_cast<char>((x = x * 6364136223846793005 + 1) >> 56);
  return out;
}

// One sample of every magic-number format, for the truncation sweep.
std::vector<std::tuple<std::string, std::string, FileKind>> Samples() {
  return {
      {"model.safetensors", Safetensors(), K::kSafetensors},
      {"model.gguf", "GGUF" + Bytes({3, 0, 0, 0}), K::kGguf},
      {"a.npy", Npy(), K::kNpy},
      {"ckpt.pt", ZipEntry("archive/data.pkl"), K::kPytorchZip},
      {"arrays.npz", ZipEntry("arr_0.npy"), K::kNpz},
      {"docs.zip", ZipEntry("readme.txt"), K::kArchive},
      {"x.pkl", Bytes({0x80, 4, 0x95}), K::kPickle},
      {"model.onnx", Onnx(), K::kOnnx},
      {"m.tflite", Bytes({0x1c, 0, 0, 0, 'T', 'F', 'L', '3'}), K::kTflite},
      {"t.parquet", "PAR1" + Bytes({0x15, 0x04}), K::kParquet},
      {"t.arrow", std::string("ARROW1\0\0", 8) + Bytes({}), K::kArrow},
      {"d.tfrecord", TfRecord("hello tfrecord") + TfRecord("second"), K::kTfrecord},
      {"a.tar", Tar(), K::kTar},
      {"a.gz", Bytes({0x1f, 0x8b, 8, 0}), K::kArchive},
      {"a.zst", Bytes({0x28, 0xb5, 0x2f, 0xfd}), K::kArchive},
      {"a.xz", Bytes({0xfd, '7', 'z', 'X', 'Z', 0}), K::kArchive},
      {"a.bz2", Bytes({'B', 'Z', 'h', '9', 0x31, 0x41}), K::kArchive},
      {"a.lz4", Bytes({0x04, 0x22, 0x4d, 0x18}), K::kArchive},
      {"a.7z", Bytes({'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}), K::kArchive},
      {"a.jpg", Bytes({0xff, 0xd8, 0xff, 0xe0}), K::kMedia},
      {"a.png", Bytes({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}), K::kMedia},
      {"a.gif", "GIF89a" + Bytes({}), K::kMedia},
      {"a.webp", "RIFF" + Bytes({0x24, 0, 0, 0, 'W', 'E', 'B', 'P'}), K::kMedia},
      {"a.mp4", Bytes({0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm'}), K::kMedia},
      {"a.mkv", Bytes({0x1a, 0x45, 0xdf, 0xa3}), K::kMedia},
      {"a.mp3", Bytes({'I', 'D', '3', 4, 0, 0}), K::kMedia},
      {"b.mp3", Bytes({0xff, 0xfb, 0x90, 0x64}), K::kMedia},
      {"a.flac", "fLaC" + Bytes({}), K::kMedia},
      {"a.ogg", "OggS" + Bytes({0}), K::kMedia},
  };
}

TEST(FileKindNameTest, RoundTrips) {
  std::set<std::string> names;
  for (int i = 0; i < kKindCount; ++i) {
    const FileKind k = static_cast<FileKind>(i);
    const absl::string_view name = FileKindName(k);
    EXPECT_TRUE(names.insert(std::string(name)).second) << name;
    EXPECT_EQ(ParseFileKindName(name), k) << name;
  }
  EXPECT_EQ(FileKindName(K::kPytorchZip), "pytorch");
  EXPECT_EQ(FileKindName(static_cast<FileKind>(kKindCount)), "unknown");
  for (const char* bad : {"", "Text", "pytorchzip", "text ", "tar.gz"}) {
    EXPECT_FALSE(ParseFileKindName(bad).has_value()) << bad;
  }
}

// The catalog stores the numbers.
TEST(FileKindNameTest, ValuesAreStable) {
  EXPECT_EQ(static_cast<int>(K::kSafetensors), 1);
  EXPECT_EQ(static_cast<int>(K::kTfrecord), 11);
  EXPECT_EQ(static_cast<int>(K::kEmpty), 17);
}

TEST(SniffFileKindTest, RecognizesEveryMagic) {
  for (const auto& [name, file, kind] : Samples()) {
    EXPECT_EQ(Sniff(file, name), kind) << name;
  }
}

TEST(SniffFileKindTest, Safetensors) {
  const std::string file = Safetensors();
  EXPECT_EQ(Sniff(file, "no-extension"), K::kSafetensors);
  // The header length must fit the file and the header start with '{'.
  EXPECT_NE(Sniff(file.substr(0, file.size() - 17)), K::kSafetensors);
  std::string no_brace = file;
  no_brace[8] = ' ';
  EXPECT_NE(Sniff(no_brace), K::kSafetensors);
  std::string huge = file;
  StoreLe64(100ull << 20 | 1, huge.data());
  EXPECT_NE(SniffFileKind(huge, 1ull << 30, "x.safetensors"), K::kSafetensors);
  StoreLe64(100ull << 20, huge.data());
  EXPECT_EQ(SniffFileKind(huge, 1ull << 30, "x.safetensors"), K::kSafetensors);
}

TEST(SniffFileKindTest, PytorchZipByFirstEntry) {
  for (const char* entry :
       {"archive/data.pkl", "data.pkl", "my_model/data.pkl", "archive/version",
        "archive/.data/version", "archive/.format_version", "archive/byteorder"}) {
    EXPECT_EQ(Sniff(ZipEntry(entry), "m.bin"), K::kPytorchZip) << entry;
  }
  for (const char* entry : {"/data.pkl", "mydata.pkl", "version", "data.pkl.bak", "x.npy/a"}) {
    EXPECT_EQ(Sniff(ZipEntry(entry)), K::kArchive) << entry;
  }
  EXPECT_EQ(Sniff(ZipEntry("nested/arr.npy")), K::kNpz);
  // A name the head cuts off is not guessed at.
  const std::string long_name = std::string(kSniffBytes, 'a') + "/data.pkl";
  EXPECT_EQ(Sniff(ZipEntry(long_name)), K::kArchive);
  EXPECT_EQ(Sniff(std::string("PK\x05\x06", 4) + std::string(18, '\0')), K::kArchive);
}

TEST(SniffFileKindTest, PickleNeedsItsName) {
  const std::string pickle = Bytes({0x80, 2, ']', 'q', 0});
  for (const char* name :
       {"a.pkl", "a.PKL", "a.pickle", "a.pt", "a.pth", "pytorch_model.bin", "dir/a.ckpt"}) {
    EXPECT_EQ(Sniff(pickle, name), K::kPickle) << name;
  }
  EXPECT_EQ(Sniff(pickle, "a.dat"), K::kUnknown);
  EXPECT_EQ(Sniff(Bytes({0x80, 6, ']'}), "a.pkl"), K::kUnknown);       // protocol 6
  EXPECT_EQ(Sniff(Bytes({0x80, 1, ']'}), "a.pkl"), K::kUnknown);       // protocol 1
  EXPECT_EQ(Sniff(Bytes({0x80, 4, '.'}), "a.pkl"), K::kUnknown);       // STOP first
  EXPECT_EQ(Sniff(Bytes({0x80, 4, 0x99}), "a.pkl"), K::kUnknown);      // no such opcode
  EXPECT_EQ(Sniff(std::string("\x80\x04", 2), "a.pkl"), K::kUnknown);  // no opcode at all
}

TEST(SniffFileKindTest, OnnxNeedsItsName) {
  EXPECT_EQ(Sniff(Onnx(), "dir/model.ONNX"), K::kOnnx);
  EXPECT_EQ(Sniff(Onnx(), "model.pb"), K::kUnknown);
  std::string no_version = Onnx();
  no_version[0] = 0x12;
  EXPECT_NE(Sniff(no_version, "model.onnx"), K::kOnnx);
}

TEST(SniffFileKindTest, TfrecordChecksTheLengthCrc) {
  ASSERT_EQ(Crc32c("123456789"), 0xe3069283u);  // the CRC32C check value
  const std::string file = TfRecord("payload");
  EXPECT_EQ(Sniff(file, "x"), K::kTfrecord);
  std::string bad_crc = file;
  bad_crc[9] ^= 1;
  EXPECT_NE(Sniff(bad_crc), K::kTfrecord);
  // A record longer than the file is not the start of one.
  std::string too_long;
  AppendLe64(1000, &too_long);
  AppendLe32(MaskedCrc(too_long), &too_long);
  too_long += "short";
  EXPECT_NE(Sniff(too_long), K::kTfrecord);
}

TEST(SniffFileKindTest, TarNeedsUstarAt257) {
  const std::string tar = Tar();
  EXPECT_EQ(Sniff(tar), K::kTar);
  EXPECT_EQ(SniffFileKind(tar.substr(0, 262), 1 << 20, "a.tar"), K::kTar);
  EXPECT_NE(SniffFileKind(tar.substr(0, 261), 1 << 20, "a.tar"), K::kTar);
  std::string gnu = tar;
  gnu.replace(257, 8, std::string("ustar  \0", 8));
  EXPECT_EQ(Sniff(gnu), K::kTar);
}

TEST(SniffFileKindTest, MediaLookalikes) {
  // UTF-16 text starts FF FE, which an MPEG layer I header may too.
  EXPECT_EQ(Sniff(std::string("\xff\xfeh\0i\0\n\0", 8)), K::kUnknown);
  EXPECT_EQ(Sniff(Bytes({'I', 'D', '3', 9})), K::kUnknown);
  EXPECT_EQ(Sniff("ID3 tags are written by taggers\n"), K::kText);
  EXPECT_EQ(Sniff("BZh is not bzip2 without a level\n"), K::kText);
  EXPECT_EQ(Sniff("RIFF....WAVE"), K::kText);
}

TEST(SniffFileKindTest, Text) {
  EXPECT_EQ(Sniff("hello world\nsecond line\n"), K::kText);
  EXPECT_EQ(Sniff("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\ttab\r\n"), K::kText);
  EXPECT_EQ(Sniff("\x1b[31mred log line\x1b[0m\n"), K::kText);
  EXPECT_EQ(Sniff("\xef\xbb\xbfwith a byte order mark\n"), K::kText);
  EXPECT_EQ(Sniff("x"), K::kText);
  EXPECT_EQ(Sniff(std::string("nul\0inside", 10)), K::kUnknown);
  EXPECT_EQ(Sniff("latin-1 caf\xe9\n"), K::kUnknown);
  EXPECT_EQ(Sniff("overlong \xc0\xaf\n"), K::kUnknown);
  EXPECT_EQ(Sniff("surrogate \xed\xa0\x80\n"), K::kUnknown);
  EXPECT_EQ(Sniff("\x01\x02\x03 mostly control \x04\x05\n"), K::kUnknown);
  // One odd control character in 100 bytes is still text.
  EXPECT_EQ(Sniff(std::string(99, 'a') + "\x07"), K::kText);
  EXPECT_EQ(Sniff(std::string(98, 'a') + "\x07\x07"), K::kUnknown);
}

TEST(SniffFileKindTest, TextCutInsideACharacter) {
  const std::string euro = "\xe2\x82\xac";
  std::string text = std::string(kSniffBytes - 1, 'a') + euro + "tail";
  // The head ends after the first byte of the euro sign; the file goes on.
  EXPECT_EQ(SniffFileKind(text.substr(0, kSniffBytes), text.size(), "t"), K::kText);
  EXPECT_EQ(SniffFileKind(text.substr(0, kSniffBytes + 1), text.size(), "t"), K::kText);
  // A file that itself ends inside a character is not text.
  EXPECT_EQ(Sniff("abc" + euro.substr(0, 2)), K::kUnknown);
  // Only a well-formed start of a sequence may be cut.
  EXPECT_EQ(SniffFileKind("abc\xe2\x41", 100, "t"), K::kUnknown);
  EXPECT_EQ(SniffFileKind("abc\xed\xa0", 100, "t"), K::kUnknown);
  EXPECT_EQ(SniffFileKind("abc\xf0\x9f\x98", 100, "t"), K::kText);
}

TEST(SniffFileKindTest, Jsonl) {
  EXPECT_EQ(Sniff("{\"a\": 1}\n{\"a\": 2}\n"), K::kJsonl);
  EXPECT_EQ(Sniff("  \n[1, 2, 3]\r\n[4]\n"), K::kJsonl);
  EXPECT_EQ(Sniff("{\"loss\": NaN}"), K::kJsonl);  // one line, the whole file
  EXPECT_EQ(Sniff("\xef\xbb\xbf{\"a\": 1}\n"), K::kJsonl);
  EXPECT_EQ(Sniff("{\n  \"pretty\": true\n}\n"), K::kText);
  EXPECT_EQ(Sniff("{\n  \"pretty\": true\n}\n", "data.jsonl"), K::kJsonl);
  EXPECT_EQ(Sniff("plain\n", "x.NDJSON"), K::kJsonl);
  EXPECT_EQ(Sniff("[link](url) {x}\n"), K::kText);
  EXPECT_EQ(Sniff("{x]\n"), K::kText);
  // A first line longer than the head: its end cannot be seen.
  const std::string long_line = "{\"tokens\": \"" + std::string(2 * kSniffBytes, 'a') + "\"}\n";
  EXPECT_EQ(Sniff(long_line), K::kText);
  EXPECT_EQ(Sniff(long_line, "shard.jsonl"), K::kJsonl);
  EXPECT_EQ(Sniff(std::string("\x1f\x8b\x08\x00", 4), "shard.jsonl"), K::kArchive);
}

TEST(SniffFileKindTest, EmptyAndUnknown) {
  EXPECT_EQ(SniffFileKind("", 0, "model.safetensors"), K::kEmpty);
  EXPECT_EQ(SniffFileKind("ignored", 0, ""), K::kEmpty);
  EXPECT_EQ(SniffFileKind("", 100, "x"), K::kUnknown);  // a caller that read nothing
  EXPECT_EQ(Sniff(Bytes({0, 1, 2, 3})), K::kUnknown);
  // Bytes past file_size do not count.
  EXPECT_EQ(SniffFileKind("GGUF", 2, "x"), K::kText);
}

TEST(SniffFileKindTest, TruncatedHeadsNeverCrash) {
  for (const auto& [name, file, kind] : Samples()) {
    for (size_t n = 0; n <= file.size(); ++n) {
      const absl::string_view head = absl::string_view(file).substr(0, n);
      for (uint64_t size : {uint64_t{n}, uint64_t{n} + 1, uint64_t{1} << 40, UINT64_MAX}) {
        const FileKind k = SniffFileKind(head, size, name);
        EXPECT_LT(static_cast<int>(k), kKindCount);
        if (n == 0) {
          EXPECT_EQ(k, size == 0 ? K::kEmpty : K::kUnknown);
        }
      }
    }
  }
}

TEST(SniffFileKindTest, RandomBytesNeverCrash) {
  uint64_t x = 2024;
  auto next = [&x] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  const std::vector<std::string> names = {"", "a.pkl", "m.onnx", "d.jsonl", "/", "x/"};
  const auto samples = Samples();
  int counts[kKindCount] = {};
  for (int i = 0; i < 20000; ++i) {
    std::string head;
    if (i % 2) {
      // A real magic with random bytes after it, to reach the deeper checks.
      head = std::get<1>(samples[next() % samples.size()]);
      head.resize(next() % (head.size() + 16));
      for (size_t j = next() % 16; j < head.size(); j += 1 + next() % 16) {
        head[j] = static_cast<char>(next());
      }
    } else {
      head.resize(next() % (kSniffBytes + 64));
      for (char& c : head) c = static_cast<char>(next());
    }
    const uint64_t size = i % 3 == 0 ? head.size() : next() >> (next() % 64);
    const FileKind k = SniffFileKind(head, size, names[next() % names.size()]);
    ASSERT_LT(static_cast<int>(k), kKindCount);
    ++counts[static_cast<int>(k)];
  }
  EXPECT_GT(counts[static_cast<int>(K::kUnknown)], 1000);
}

}  // namespace
}  // namespace cairn

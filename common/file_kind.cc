#include "common/file_kind.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/le_coding.h"
#include "common/utf8.h"

namespace cairn {
namespace {

constexpr std::pair<FileKind, absl::string_view> kNames[] = {
    {FileKind::kUnknown, "unknown"}, {FileKind::kSafetensors, "safetensors"},
    {FileKind::kGguf, "gguf"},       {FileKind::kPytorchZip, "pytorch"},
    {FileKind::kPickle, "pickle"},   {FileKind::kNpy, "npy"},
    {FileKind::kNpz, "npz"},         {FileKind::kOnnx, "onnx"},
    {FileKind::kTflite, "tflite"},   {FileKind::kParquet, "parquet"},
    {FileKind::kArrow, "arrow"},     {FileKind::kTfrecord, "tfrecord"},
    {FileKind::kTar, "tar"},         {FileKind::kJsonl, "jsonl"},
    {FileKind::kText, "text"},       {FileKind::kArchive, "archive"},
    {FileKind::kMedia, "media"},     {FileKind::kEmpty, "empty"},
};

// The sniffer accepts bigger safetensors headers than the layout parser
// (kMaxSafetensorsHeader): the kind is right even where cutting at tensors is
// refused.
constexpr uint64_t kMaxSniffedSafetensorsHeader = 100 << 20;

bool At(absl::string_view head, size_t offset, absl::string_view magic) {
  return head.size() >= offset + magic.size() && head.substr(offset, magic.size()) == magic;
}

uint8_t Byte(absl::string_view head, size_t i) { return static_cast<uint8_t>(head[i]); }

bool NameEndsWith(absl::string_view name, std::initializer_list<absl::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [name](absl::string_view s) { return absl::EndsWithIgnoreCase(name, s); });
}

constexpr std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78 : c >> 1;  // Castagnoli
    table[i] = c;
  }
  return table;
}

uint32_t Crc32c(absl::string_view data) {
  static constexpr std::array<uint32_t, 256> kTable = MakeCrc32cTable();
  uint32_t crc = ~0u;
  for (char c : data) crc = kTable[(crc ^ static_cast<uint8_t>(c)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

// A TFRecord file starts with a record: u64 length, the masked CRC32C of those
// 8 bytes, the data, the masked CRC32C of the data. A matching CRC is a 32-bit
// magic number.
bool IsTfrecord(absl::string_view head, uint64_t file_size) {
  if (head.size() < 12 || file_size < 16) return false;
  const uint32_t crc = Crc32c(head.substr(0, 8));
  const uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8;
  return LoadLe32(head.data() + 8) == masked && LoadLe64(head.data()) <= file_size - 16;
}

// A u64 little-endian JSON length that fits the file, then the JSON object.
bool IsSafetensors(absl::string_view head, uint64_t file_size) {
  if (head.size() < 9) return false;
  const uint64_t n = LoadLe64(head.data());
  return n >= 2 && n <= kMaxSniffedSafetensorsHeader && n <= file_size - 8 && head[8] == '{';
}

// The first entry of a zip says what holds it: torch.save writes
// "<dir>/data.pkl" first, numpy.savez writes "<name>.npy" entries.
FileKind ZipKind(absl::string_view head) {
  if (head.size() < 30) return FileKind::kArchive;
  const size_t name_length = Byte(head, 26) | size_t{Byte(head, 27)} << 8;
  if (head.size() - 30 < name_length) return FileKind::kArchive;  // name cut off
  const absl::string_view name = head.substr(30, name_length);
  if (name == "data.pkl") return FileKind::kPytorchZip;
  for (absl::string_view torch_entry :
       {"/data.pkl", "/version", "/.format_version", "/byteorder"}) {
    if (name.size() > torch_entry.size() && absl::EndsWith(name, torch_entry)) {
      return FileKind::kPytorchZip;
    }
  }
  if (absl::EndsWith(name, ".npy")) return FileKind::kNpz;
  return FileKind::kArchive;
}

bool IsPickleOpcode(uint8_t op) {
  // STOP ('.') is left out: a pickle does not end where it starts.
  constexpr absl::string_view kOpcodes = "()01FGIJKLMNPQRSTUVXBCabcdeghijlopqrstu}]2";
  return (op >= 0x80 && op <= 0x98) || kOpcodes.find(static_cast<char>(op)) != kOpcodes.npos;
}

// PROTO 2..5 and a first opcode: torch.save's legacy format, joblib, pickle.
bool IsPickle(absl::string_view head, absl::string_view name) {
  return head.size() >= 3 && Byte(head, 0) == 0x80 && Byte(head, 1) >= 2 && Byte(head, 1) <= 5 &&
         IsPickleOpcode(Byte(head, 2)) &&
         NameEndsWith(name, {".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt"});
}

// ONNX is a bare ModelProto, whose exporters write ir_version (field 1,
// varint) first.
bool IsOnnx(absl::string_view head, absl::string_view name) {
  return head.size() >= 2 && Byte(head, 0) == 0x08 && Byte(head, 1) >= 1 && Byte(head, 1) < 0x80 &&
         NameEndsWith(name, {".onnx"});
}

// An MP3 frame header without ID3 tag: sync bits, a defined MPEG version,
// layer III, a valid bitrate and sample rate. Layers I and II are left out:
// their headers include FF FE, the byte order mark of UTF-16 text.
bool IsMp3Frame(absl::string_view head) {
  if (head.size() < 4 || Byte(head, 0) != 0xff || (Byte(head, 1) & 0xe0) != 0xe0) return false;
  const uint8_t version = (Byte(head, 1) >> 3) & 3, layer = (Byte(head, 1) >> 1) & 3;
  const uint8_t bitrate = Byte(head, 2) >> 4, rate = (Byte(head, 2) >> 2) & 3;
  return version != 1 && layer == 1 && bitrate != 0 && bitrate != 0xf && rate != 3;
}

bool IsMedia(absl::string_view head) {
  return At(head, 0, "\xff\xd8\xff") || At(head, 0, "\x89PNG\r\n\x1a\n") || At(head, 0, "GIF87a") ||
         At(head, 0, "GIF89a") || (At(head, 0, "RIFF") && At(head, 8, "WEBP")) ||
         At(head, 4, "ftyp") || At(head, 0, "\x1a\x45\xdf\xa3") || At(head, 0, "fLaC") ||
         At(head, 0, "OggS") ||
         (At(head, 0, "ID3") && head.size() >= 5 && Byte(head, 3) >= 2 && Byte(head, 3) <= 4) ||
         IsMp3Frame(head);
}

constexpr absl::string_view kXzMagic("\xfd\x37\x7a\x58\x5a\x00", 6);

bool IsArchive(absl::string_view head) {
  return (At(head, 0, "\x1f\x8b") && head.size() >= 3 && Byte(head, 2) == 8) ||  // deflate
         At(head, 0, "\x28\xb5\x2f\xfd") || At(head, 0, kXzMagic) ||
         (At(head, 0, "BZh") && head.size() >= 4 && head[3] >= '1' && head[3] <= '9') ||
         At(head, 0, "\x04\x22\x4d\x18") || At(head, 0, "7z\xbc\xaf\x27\x1c") ||
         At(head, 0, "PK\x05\x06");  // an empty zip
}

// UTF-8, no NUL, at most one odd control character in 100 bytes. A sequence
// cut by the end of the head is fine when the file goes on.
bool IsText(absl::string_view head, bool cut) {
  size_t controls = 0;
  for (size_t i = 0; i < head.size();) {
    const uint8_t b = Byte(head, i);
    if (b == 0) return false;
    if (b < 0x80) {
      // Tabs, line ends, form feeds and ANSI escapes (colored logs) are text.
      if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' && b != '\v' &&
           b != 0x1b) ||
          b == 0x7f) {
        ++controls;
      }
      ++i;
      continue;
    }
    const int n = Utf8Sequence(head.substr(i));
    if (n == -1 && cut) break;
    if (n <= 0) return false;
    i += n;
  }
  return controls * 100 <= head.size();
}

// The first non-blank line is one JSON object or array, as far as its
// brackets show (Python writes NaN into JSONL, so no strict parse).
bool FirstLineIsJson(absl::string_view head, bool cut) {
  absl::ConsumePrefix(&head, "\xef\xbb\xbf");  // byte order mark
  head = absl::StripLeadingAsciiWhitespace(head);
  const size_t end = head.find('\n');
  if (end == absl::string_view::npos && cut) return false;  // cannot see its end
  const absl::string_view line = absl::StripTrailingAsciiWhitespace(head.substr(0, end));
  return line.size() >= 2 && ((line.front() == '{' && line.back() == '}') ||
                              (line.front() == '[' && line.back() == ']'));
}

}  // namespace

absl::string_view FileKindName(FileKind k) {
  for (const auto& [kind, name] : kNames) {
    if (kind == k) return name;
  }
  return "unknown";
}

std::optional<FileKind> ParseFileKindName(absl::string_view name) {
  for (const auto& [kind, kind_name] : kNames) {
    if (kind_name == name) return kind;
  }
  return std::nullopt;
}

FileKind SniffFileKind(absl::string_view head, uint64_t file_size, absl::string_view file_name) {
  if (file_size == 0) return FileKind::kEmpty;
  head = head.substr(0, std::min<uint64_t>({head.size(), file_size, kSniffBytes}));
  if (head.empty()) return FileKind::kUnknown;
  const absl::string_view name = file_name.substr(file_name.rfind('/') + 1);

  // Strongest evidence first: TFRecord's CRC before safetensors' '{'.
  if (IsTfrecord(head, file_size)) return FileKind::kTfrecord;
  if (IsSafetensors(head, file_size)) return FileKind::kSafetensors;
  if (At(head, 0, "GGUF")) return FileKind::kGguf;
  if (At(head, 0, "\x93NUMPY")) return FileKind::kNpy;
  if (At(head, 0, "PK\x03\x04")) return ZipKind(head);
  if (At(head, 0, "PAR1")) return FileKind::kParquet;
  if (At(head, 0, "ARROW1")) return FileKind::kArrow;
  if (At(head, 4, "TFL3") && LoadLe32(head.data()) < file_size) return FileKind::kTflite;
  if (At(head, 257, "ustar")) return FileKind::kTar;
  if (IsArchive(head)) return FileKind::kArchive;
  if (IsMedia(head)) return FileKind::kMedia;
  if (IsPickle(head, name)) return FileKind::kPickle;
  if (IsOnnx(head, name)) return FileKind::kOnnx;

  const bool cut = head.size() < file_size;
  if (!IsText(head, cut)) return FileKind::kUnknown;
  if (FirstLineIsJson(head, cut) || NameEndsWith(name, {".jsonl", ".ndjson"})) {
    return FileKind::kJsonl;
  }
  return FileKind::kText;
}

}  // namespace cairn

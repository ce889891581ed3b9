// What kind of file this is, from its first bytes (and, where a format has no
// magic number of its own, its name): the backup picks chunking and codecs by
// kind, and the catalog reports it. A guess, never an error: any head, however
// short or hostile, gives some kind.
//
//   std::string head = ...first min(size, kSniffBytes) bytes...;
//   FileKind kind = SniffFileKind(head, size, "model.safetensors");
#ifndef CAIRN_COMMON_FILE_KIND_H_
#define CAIRN_COMMON_FILE_KIND_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace cairn {

// Values are stored in the catalog: never renumber; append only.
enum class FileKind : uint8_t {
  kUnknown = 0,
  kSafetensors,
  kGguf,
  kPytorchZip,
  kPickle,
  kNpy,
  kNpz,
  kOnnx,
  kTflite,
  kParquet,
  kArrow,
  kTfrecord,
  kTar,
  kJsonl,
  kText,
  kArchive,  // gzip, zstd, xz, bzip2, lz4 frame, 7z, any other zip
  kMedia,    // jpeg, png, gif, webp, mp4/mov, mkv/webm, mp3, flac, ogg
  kEmpty,
};

// How much of the head SniffFileKind looks at.
inline constexpr size_t kSniffBytes = 4096;

// "safetensors", "gguf", "pytorch", "pickle", "npy", "npz", "onnx", "tflite",
// "parquet", "arrow", "tfrecord", "tar", "jsonl", "text", "archive", "media",
// "unknown", "empty"; "unknown" for a value out of range.
absl::string_view FileKindName(FileKind k);
// The inverse of FileKindName (exact, lower case).
std::optional<FileKind> ParseFileKindName(absl::string_view name);

// head is the first min(file_size, kSniffBytes) bytes (bytes past file_size
// are ignored); file_name is the base name or a path. Magic numbers decide
// first; ONNX and pickle, which have none worth the name, also need a
// matching name; then UTF-8 text without NULs is text, or JSONL if its first
// line is one JSON object or array (or the name ends .jsonl/.ndjson).
FileKind SniffFileKind(absl::string_view head, uint64_t file_size, absl::string_view file_name);

}  // namespace cairn

#endif  // CAIRN_COMMON_FILE_KIND_H_

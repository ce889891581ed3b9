// What a file holds, read from its first bytes before it is chunked: the kind
// recorded in the catalog (safetensors, text, media, ...), the tensor regions
// a backup cuts at, and, for files no header describes, what the learned
// classifier makes of a sample. A malformed or hostile header only costs the
// layout: the file is then chunked and compressed the plain way.
//
//   ASSIGN_OR_RETURN(FileProbe probe, ProbeFile(fd, size, path));
//   DataHint hint = HintFor(probe, region, chunk_offset);
#ifndef CAIRN_AGENT_FILE_PROBE_H_
#define CAIRN_AGENT_FILE_PROBE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/v1/types.pb.h"
#include "common/codec.h"
#include "common/data_classifier.h"
#include "common/file_kind.h"
#include "common/tensor_layout.h"

namespace cairn {

// Files smaller than this are not classified: one chunk, and the codec's
// own sample costs less than the classifier's.
inline constexpr uint64_t kMinClassifiedSize = 256 << 10;
// Bytes of the middle of a file the classifier looks at.
inline constexpr size_t kClassifierSample = 64 << 10;

struct FileProbe {
  FileKind kind = FileKind::kUnknown;
  // For kUnknown files of at least kMinClassifiedSize: the classifier's call
  // and the two features the stats plot shows (common/data_classifier.h).
  DataClass data_class = DataClass::kUnknown;
  std::optional<std::pair<float, float>> plot;
  // Regions that tile the file in offset order (tensors and what lies between
  // them); empty when the format has no layout we read or its header is bad.
  std::vector<TensorRegion> regions;
};

// Reads the head of the open file (and the header of a tensor format, up to
// kMaxSafetensorsHeader). Only read errors fail; `path` is for messages.
absl::StatusOr<FileProbe> ProbeFile(int fd, uint64_t size, const std::string& path);

// Records the kind, class and plot features in the file's tree entry.
void RecordProbe(const FileProbe& probe, v1::TreeEntry* entry);

// The codec hint for a chunk at `offset` in the file, inside `region` (one of
// probe.regions, or nullptr when the chunk spans several or there are none).
DataHint HintFor(const FileProbe& probe, const TensorRegion* region, uint64_t offset);

}  // namespace cairn

#endif  // CAIRN_AGENT_FILE_PROBE_H_

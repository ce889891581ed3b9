// Where a checkpoint delta's base comes from: the previous checkpoint, still
// on disk beside the new one. Training jobs write each checkpoint under a
// numbered name (`ckpt/step-1200/model.safetensors`,
// `ckpt/model-001200.safetensors`, `global_step1200/...`) and keep the last
// few; the predecessor of a file is the same relative path under the nearest
// lower number. It is used only when its tensor layout matches the new
// file's region for region (same element types, and same lengths for every
// tensor), so a tensor piece and its base are the same tensor at two
// training steps.
//
// No trust is placed in the predecessor: the base's chunk id is computed from
// the bytes read here, and the server says whether it holds that chunk
// (FindMissingChunks) before a delta is built. A predecessor that changed,
// was never backed up, or is a different model only costs the read.
//
//   std::optional<DeltaSource> source = DeltaSource::Open(path, probe);
//   if (source) RETURN_IF_ERROR(source->ReadBase(region, offset, length, &base));
#ifndef CAIRN_AGENT_DELTA_BASE_H_
#define CAIRN_AGENT_DELTA_BASE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/file_probe.h"
#include "common/file_util.h"

namespace cairn {

// Pieces smaller than this are stored whole: a delta's lookup and base read
// cost more than it saves.
inline constexpr uint64_t kMinDeltaPiece = 64 << 10;

// The path of the file `path` most likely evolved from, or nullopt. Looks at
// the file name and then up to three parent directories, innermost first: a
// component whose last run of digits is n is matched with its siblings that
// differ from it only in that run; the one with the largest number below n
// that holds the same relative path as a regular file wins.
std::optional<std::string> PredecessorPath(const std::string& path);

class DeltaSource {
 public:
  // Opens the predecessor of `path` when its layout matches `probe`'s.
  static std::optional<DeltaSource> Open(const std::string& path, const FileProbe& probe);

  // Reads the predecessor's bytes for `length` bytes at `offset_in_region`
  // of tensor region `region` (an index into the new file's probe.regions)
  // into *base. An error when the predecessor is now shorter or unreadable.
  absl::Status ReadBase(size_t region, uint64_t offset_in_region, uint64_t length,
                        std::string* base) const;

  const std::string& path() const { return path_; }

 private:
  DeltaSource(std::string path, UniqueFd fd, std::vector<TensorRegion> regions)
      : path_(std::move(path)), fd_(std::move(fd)), regions_(std::move(regions)) {}

  std::string path_;
  UniqueFd fd_;
  std::vector<TensorRegion> regions_;  // the predecessor's
};

}  // namespace cairn

#endif  // CAIRN_AGENT_DELTA_BASE_H_

// Small files of one directory stored together (docs/scale.md, "Small
// files"). A file of at most crypto.bundle_file_bytes is not a chunk of its
// own: its bytes join an open bundle, and its entry's one ChunkRef names the
// bundle chunk and its slice of it (bundle_offset, bundle_size). A bundle is
// sealed at about kBundleTargetBytes, so it compresses as one stream (text
// packs 15-25% smaller than file by file) and costs one chunk row, one
// sealed frame and one pack index entry instead of one per file.
//
// Two bundles are open at a time: one for compressible bytes (zstd at
// kBundleZstdLevel) and one for bytes that look compressed or random (stored
// raw: mixing them would only cost the text its ratio). Entries wait in the
// queue, in name order, until the bundles they name are sealed, then go to
// the tree in order. Bundles never span directories, so the same directory
// backed up by two agents makes the same bundles (dedup), and the walk holds
// at most one directory's bundles.
//
// An unchanged file keeps its bundle. When less than half of an old bundle
// is still used by the directory's unchanged files (Sparse), the walk reads
// them again into the new bundles, so old bundles do not stay alive for a
// few of their files. Only where the whole directory was in view: one of
// more than kMaxQueuedEntries entries keeps its bundles as they are (a full
// backup makes new ones).
//
//   DirectoryBundles bundles(&crypto, &uploader);
//   RETURN_IF_ERROR(bundles.AddSmall(std::move(entry), data));  // or Add(entry)
//   RETURN_IF_ERROR(bundles.Drain([&](v1::TreeEntry e) { return tree.Add(std::move(e)); }));
#ifndef CAIRN_AGENT_FILE_BUNDLES_H_
#define CAIRN_AGENT_FILE_BUNDLES_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/agent_config.h"
#include "agent/chunk_uploader.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

// A bundle is sealed once it holds this many bytes (so it ends below
// kBundleTargetBytes + kMaxBundleFileBytes) or kMaxBundleFiles files.
inline constexpr size_t kBundleTargetBytes = 1 << 20;
inline constexpr size_t kMaxBundleFiles = 4096;
// zstd level for compressible bundles: 15-25% smaller than zstd-1 file by
// file on logs, source code, JSON and prose, at ~70 MB/s a core. Level 16
// (optimal parsing) did better only on the benchmark's synthetic logs and
// worse on real text, at a quarter of the speed (docs/scale.md).
inline constexpr int kBundleZstdLevel = 9;
// Queued entries are handed to the tree (sealing the open bundles) past
// this many, so a directory of a million files is not held whole.
inline constexpr size_t kMaxQueuedEntries = 8192;

class DirectoryBundles final {
 public:
  DirectoryBundles(const AgentCrypto* crypto, ChunkUploader* uploader)
      : crypto_(crypto), uploader_(uploader) {}
  DirectoryBundles(const DirectoryBundles&) = delete;
  DirectoryBundles& operator=(const DirectoryBundles&) = delete;

  // Whether a regular file of `size` bytes goes into a bundle.
  bool Bundles(uint64_t size) const { return size > 0 && size <= crypto_->bundle_file_bytes; }

  // Queues a complete entry (any type), after those queued before it.
  void Add(v1::TreeEntry entry) { queue_.push_back(Queued{std::move(entry), -1}); }
  // Queues a small file's entry (size and metadata set) whose bytes are
  // `data`: its chunk list becomes one slice of an open bundle.
  absl::Status AddSmall(v1::TreeEntry entry, absl::string_view data);

  // Queued entries that are unchanged files whose bundle this directory
  // uses less than half of: worth reading again into a new bundle. Indexes
  // into the queue, for Replace. Empty once a Drain came before the
  // directory's end (a directory of more than kMaxQueuedEntries): its
  // bundles' files are then not all in view.
  std::vector<size_t> Sparse() const;
  // Replaces queued entry `index` (one Sparse named) with `entry`, whose
  // bytes, `data`, go into an open bundle.
  absl::Status Replace(size_t index, v1::TreeEntry entry, absl::string_view data);
  // The queued entry at `index`.
  const v1::TreeEntry& queued(size_t index) const { return queue_[index].entry; }

  // Seals the open bundles and hands every queued entry to `add`, in order.
  absl::Status Drain(const std::function<absl::Status(v1::TreeEntry)>& add);
  // Seals the open bundles (entries stay queued).
  absl::Status Seal();

  bool full() const { return queue_.size() >= kMaxQueuedEntries; }
  size_t queued_count() const { return queue_.size(); }

 private:
  struct Queued {
    v1::TreeEntry entry;
    int open = -1;       // the open bundle its slice is in, until sealed
    bool fresh = false;  // its bytes were read by this backup
  };
  struct OpenBundle {
    std::string bytes;
    std::vector<size_t> members;  // queue indexes
  };
  absl::Status Put(size_t index, absl::string_view data);
  absl::Status SealOne(int which);

  const AgentCrypto* crypto_;
  ChunkUploader* uploader_;
  std::vector<Queued> queue_;
  std::array<OpenBundle, 2> open_;  // 0: compressible, 1: stored raw
  bool drained_ = false;
};

// Whether a small file's bytes look compressed or random (the classifier's
// call on them), so its bundle stores them raw.
bool LooksIncompressible(absl::string_view data);

}  // namespace cairn

#endif  // CAIRN_AGENT_FILE_BUNDLES_H_

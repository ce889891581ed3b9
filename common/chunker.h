// Content-defined chunking (FastCDC-style gear hash with normalized chunking):
// cuts a byte stream where its content says so, so an insertion or deletion
// moves only the boundaries near the edit and the other chunks dedup.
//
//   Chunker chunker(ChunkerParams::Default(), &source);
//   Chunk chunk;
//   while (true) { ASSIGN_OR_RETURN(bool more, chunker.Next(&chunk)); if (!more) break; ... }
#ifndef CAIRN_COMMON_CHUNKER_H_
#define CAIRN_COMMON_CHUNKER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/byte_source.h"

namespace cairn {

inline constexpr uint32_t kMaxChunkSize = 16 << 20;

// Chunk sizes in bytes. Changing any of them changes every boundary, so the
// chunks of a file chunked with other params do not dedup with the old ones.
struct ChunkerParams {
  uint32_t min_size;
  // The normal point: cuts are 4x rarer below it and 4x likelier above it.
  // With min = avg / 4 and max = 4 * avg the mean chunk is ~1.15 * avg_size.
  uint32_t avg_size;
  uint32_t max_size;

  // 512 KiB / 2 MiB / 8 MiB (mean chunk ~2.3 MiB): chosen by measuring speed
  // and re-upload after edits of large AI files, see docs/performance.md.
  static ChunkerParams Default();

  // 64 <= min < avg < max <= kMaxChunkSize; powers of two are not required.
  absl::Status Validate() const;
};

struct Chunk {
  uint64_t offset;         // relative to the start of the source
  absl::string_view data;  // valid until the next call to Chunker::Next
};

// Cuts the bytes of a ByteSource into chunks. Reads 1 MiB at a time and scans
// it while it is still in cache. Holds a buffer of at most max_size + 1 MiB
// (it starts at 64 KiB and grows, so small files stay cheap); never the whole
// input. A chunker that failed (read error, bad params) keeps returning that
// error until Reset. Not thread-safe.
class Chunker final {
 public:
  Chunker(const ChunkerParams& params, ByteSource* source);
  Chunker(const Chunker&) = delete;
  Chunker& operator=(const Chunker&) = delete;

  // Sets *chunk to the next chunk and returns true; returns false at the end.
  // Every chunk is within [min_size, max_size] except the last, which may be
  // shorter. An empty source yields no chunk.
  absl::StatusOr<bool> Next(Chunk* chunk);

  // Starts over on another source (the next file), keeping the buffer, whose
  // first use costs page faults worth chunking several MiB.
  void Reset(ByteSource* source);

 private:
  friend size_t FindChunkBoundary(const ChunkerParams&, const uint8_t*, size_t);

  struct Masks {
    uint64_t hard;  // for chunk lengths up to avg_size
    uint64_t easy;  // for chunk lengths above avg_size
  };
  // How far the search for the current chunk's end got, so a read that adds
  // bytes resumes it instead of starting over.
  struct ScanState {
    size_t scanned = 0;  // chunk bytes examined without finding a cut
    uint64_t hash = 0;   // gear hash after data[scanned - 1]
  };

  static Masks MasksFor(uint32_t avg_size);
  // Continues the search over data[0, n) (the same bytes as before plus
  // more). Returns the cut, or 0 if data[0, n) has none and n < max_size.
  static size_t ContinueScan(const ChunkerParams& params, const Masks& masks, const uint8_t* data,
                             size_t n, ScanState* state);

  // One read into the buffer after end_, compacting or growing it first.
  absl::Status ReadMore();

  const ChunkerParams params_;
  const Masks masks_;
  ByteSource* source_;
  absl::Status status_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // first byte not yet returned in a chunk
  size_t end_ = 0;    // one past the last byte read
  ScanState scan_;
  uint64_t offset_ = 0;
  bool at_end_ = false;
};

// The cut point for data[0, n): the length of the first chunk. Returns n if
// n <= min_size, or if no boundary is found before n and n <= max_size;
// returns max_size if there is no boundary in the first max_size bytes.
// Whether a position is a boundary depends only on the 64 bytes ending there
// (and on its distance from data[0]), never on n: a cut found in a prefix is
// the cut of the whole. Pure; params must be valid.
size_t FindChunkBoundary(const ChunkerParams& params, const uint8_t* data, size_t n);

}  // namespace cairn

#endif  // CAIRN_COMMON_CHUNKER_H_

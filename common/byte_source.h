// ByteSource: a pull-style stream of bytes that the chunker reads from, so a
// multi-GB file is never loaded whole. FdRangeSource reads one byte range of an
// open file (one data extent of a sparse file); StringSource serves tests and benches.
//
//   FdRangeSource source(fd, extent.offset, extent.length, path);
//   Chunker chunker(ChunkerParams::Default(), &source);
#ifndef CAIRN_COMMON_BYTE_SOURCE_H_
#define CAIRN_COMMON_BYTE_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Reads up to n bytes into buf. Returns 0 only at the end of the source (or
  // when n == 0). Retries EINTR and short reads, so a return below n means
  // the source has fewer than n bytes left. Not thread-safe.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// Reads [offset, offset + length) of an open fd with pread, so the fd's file
// position is untouched and several ranges of one fd may be read in turn.
// Does not own the fd. A file that ends before offset + length (it shrank
// while being read) yields an Aborted error: the caller re-reads the file.
class FdRangeSource final : public ByteSource {
 public:
  FdRangeSource(int fd, uint64_t offset, uint64_t length, std::string path_for_errors);
  FdRangeSource(const FdRangeSource&) = delete;
  FdRangeSource& operator=(const FdRangeSource&) = delete;

  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

  // Bytes of the range not yet returned.
  uint64_t remaining() const { return end_ - position_; }

 private:
  const int fd_;
  uint64_t position_;
  const uint64_t end_;
  const std::string path_;
};

// Serves the bytes of a view it does not own; the view must outlive the source.
class StringSource final : public ByteSource {
 public:
  explicit StringSource(absl::string_view data) : data_(data) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  absl::string_view data_;
};

}  // namespace cairn

#endif  // CAIRN_COMMON_BYTE_SOURCE_H_

// Sequential writes of a new file that bypass the page cache (O_DIRECT).
// Packs are written once and read seldom; copying every byte into the page
// cache cost the server more CPU than anything else on the ingest path
// (docs/scale.md, "Cheap ingest"). Appended bytes are gathered in an aligned
// buffer and written in whole aligned blocks; Finish() writes the last block
// padded with zeros and cuts the file back to its exact size.
//
// A file system that refuses O_DIRECT (ramfs, some FUSE and network file
// systems) is written through the page cache instead, by the same calls:
// Open asks for O_DIRECT after creating the file and keeps writing buffered
// when it is refused, and a writer whose direct write is refused (or cut
// short at an unaligned length) turns O_DIRECT off and carries on.
//
//   ASSIGN_OR_RETURN(DirectWriter out, DirectWriter::Open(path, O_EXCL, 0640));
//   RETURN_IF_ERROR(out.Append(bytes));   // any sizes
//   RETURN_IF_ERROR(out.Finish());        // every byte written, not yet fsynced
//   RETURN_IF_ERROR(SyncFile(out.fd(), path));
//   RETURN_IF_ERROR(out.Close());
#ifndef CAIRN_SERVER_TIERS_DIRECT_WRITER_H_
#define CAIRN_SERVER_TIERS_DIRECT_WRITER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"

namespace cairn {

class DirectWriter final {
 public:
  // The alignment of buffer, offsets and lengths of every direct write: the
  // largest logical block size in common use.
  static constexpr size_t kAlignment = 4096;
  // Bytes gathered before a write: the memory a writer holds.
  static constexpr size_t kBufferBytes = 1 << 20;

  // Creates `path` for writing (O_WRONLY | O_CREAT | O_TRUNC | extra_flags),
  // with O_DIRECT when `direct` and the file system allows it.
  static absl::StatusOr<DirectWriter> Open(const std::string& path, int extra_flags, mode_t mode,
                                           bool direct = true);

  DirectWriter(DirectWriter&&) = default;
  DirectWriter& operator=(DirectWriter&&) = default;

  absl::Status Append(absl::string_view data);
  // Writes what is gathered; after it, the file holds exactly the bytes
  // appended. Append after Finish is FailedPrecondition.
  absl::Status Finish();

  // The descriptor, for fsync (SyncFile) after Finish.
  int fd() const { return fd_.get(); }
  // Closes the file (an error close(2) reports is returned); Abandon closes
  // it without a word, after a failure.
  absl::Status Close() { return fd_.Close(path_); }
  void Abandon() { fd_.reset(); }
  uint64_t size() const { return size_; }
  // Whether writes still bypass the page cache.
  bool direct() const { return direct_; }

 private:
  struct FreeAligned {
    void operator()(char* p) const;
  };
  DirectWriter(std::string path, UniqueFd fd, bool direct);
  // Writes `length` bytes at written_ (pwrite, retrying EINTR and short
  // writes), falling back to buffered writes when direct ones are refused.
  absl::Status WriteAt(const char* data, size_t length);

  std::string path_;
  UniqueFd fd_;
  bool direct_;
  bool finished_ = false;
  std::unique_ptr<char, FreeAligned> buffer_;
  size_t used_ = 0;       // bytes gathered in buffer_ (always 0 once buffered)
  uint64_t written_ = 0;  // bytes written to the file (a multiple of kAlignment while direct)
  uint64_t size_ = 0;     // bytes appended
};

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_DIRECT_WRITER_H_

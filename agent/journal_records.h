// The change journal's file format (agent/change_journal.h says what it is
// for): a magic, then framed records, each checksummed, read front to back
// in bounded blocks. Shared by the journal and its tests.
//
// File layout: kMagic, then records. A record is
//   u32 n (little-endian) | body[n] | 8-byte check
// where check is BLAKE2b-128 of (n, body) cut to 8 bytes, and body is
//   u8 type | payload:
//     kDirty:  u64 sequence | i64 unix nanos | path bytes ("" = everything)
//     kCommit: u64 sequence (everything up to it is in a committed snapshot)
//     kBase:   u64 sequence (the newest assigned; first record after compaction)
#ifndef CAIRN_AGENT_JOURNAL_RECORDS_H_
#define CAIRN_AGENT_JOURNAL_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/path_rules.h"

namespace cairn::journal {

inline constexpr char kMagic[] = "CAIRNCJ1";
inline constexpr size_t kMagicBytes = 8;
inline constexpr size_t kLengthBytes = 4;
inline constexpr size_t kCheckBytes = 8;
inline constexpr size_t kRecordOverhead = kLengthBytes + kCheckBytes;
enum RecordType : uint8_t { kDirty = 1, kCommit = 2, kBase = 3 };
inline constexpr size_t kDirtyFixedBytes = 1 + 8 + 8;
inline constexpr size_t kMaxBodyBytes = kDirtyFixedBytes + kMaxPathBytes;

// Appends one framed record whose body is `type` followed by `payload`.
void AppendRecord(RecordType type, absl::string_view payload, std::string* out);
void AppendDirty(uint64_t sequence, absl::Time when, absl::string_view path, std::string* out);
void AppendSequence(RecordType type, uint64_t sequence, std::string* out);
// Whether `record` (length, body, check) carries the right checksum.
bool CheckRecord(absl::string_view record);
// Whether a well-framed record with a good checksum starts anywhere in
// `bytes` after its first byte.
bool HasRecordAfterStart(absl::string_view bytes);

// Reads a file front to back in bounded blocks; Peek(n) gives the next n
// bytes without consuming them (n is bounded by the record size limit).
class BlockReader final {
 public:
  // Open reads the file in blocks of this size.
  static constexpr size_t kReadBlockBytes = 1 << 20;

  BlockReader(int fd, uint64_t offset, uint64_t size, const std::string& path)
      : fd_(fd), offset_(offset), size_(size), path_(path) {}
  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }
  // False when fewer than n bytes remain in the file.
  absl::StatusOr<bool> Peek(size_t n, absl::string_view* out);
  void Skip(size_t n) {
    used_ += n;
    offset_ += n;
  }

 private:
  int fd_;
  uint64_t offset_;
  uint64_t size_;
  const std::string& path_;
  std::string buffer_;
  size_t used_ = 0;
};

}  // namespace cairn::journal

#endif  // CAIRN_AGENT_JOURNAL_RECORDS_H_

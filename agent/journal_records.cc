#include "agent/journal_records.h"

#include <sodium.h>

#include <cstring>

#include "common/file_util.h"
#include "common/le_coding.h"
#include "common/status_macros.h"

namespace cairn::journal {
namespace {

void Checksum(absl::string_view length_and_body, char out[kCheckBytes]) {
  unsigned char full[crypto_generichash_BYTES_MIN];
  crypto_generichash(full, sizeof(full),
                     reinterpret_cast<const unsigned char*>(length_and_body.data()),
                     length_and_body.size(), nullptr, 0);
  std::memcpy(out, full, kCheckBytes);
}

}  // namespace

void AppendRecord(RecordType type, absl::string_view payload, std::string* out) {
  size_t start = out->size();
  AppendLe32(static_cast<uint32_t>(1 + payload.size()), out);
  out->push_back(static_cast<char>(type));
  out->append(payload.data(), payload.size());
  char check[kCheckBytes];
  Checksum(absl::string_view(*out).substr(start), check);
  out->append(check, kCheckBytes);
}

void AppendDirty(uint64_t sequence, absl::Time when, absl::string_view path, std::string* out) {
  std::string payload;
  payload.reserve(16 + path.size());
  AppendLe64(sequence, &payload);
  AppendLe64(static_cast<uint64_t>(absl::ToUnixNanos(when)), &payload);
  payload.append(path.data(), path.size());
  AppendRecord(kDirty, payload, out);
}

void AppendSequence(RecordType type, uint64_t sequence, std::string* out) {
  std::string payload;
  AppendLe64(sequence, &payload);
  AppendRecord(type, payload, out);
}

bool CheckRecord(absl::string_view record) {
  char check[kCheckBytes];
  Checksum(record.substr(0, record.size() - kCheckBytes), check);
  return std::memcmp(check, record.data() + record.size() - kCheckBytes, kCheckBytes) == 0;
}

bool HasRecordAfterStart(absl::string_view bytes) {
  for (size_t start = 1; start + kRecordOverhead < bytes.size(); ++start) {
    uint64_t n = LoadLe32(bytes.data() + start);
    if (n == 0 || n > kMaxBodyBytes || start + kRecordOverhead + n > bytes.size()) continue;
    if (CheckRecord(bytes.substr(start, kRecordOverhead + n))) return true;
  }
  return false;
}

absl::StatusOr<bool> BlockReader::Peek(size_t n, absl::string_view* out) {
  if (n > remaining()) return false;
  if (buffer_.size() - used_ < n) {
    buffer_.erase(0, used_);
    used_ = 0;
    uint64_t have_end = offset_ + buffer_.size();
    size_t want = static_cast<size_t>(
        std::min<uint64_t>(std::max(n - buffer_.size(), kReadBlockBytes), size_ - have_end));
    std::string block;
    RETURN_IF_ERROR(PreadFully(fd_, have_end, want, &block, path_));
    buffer_.append(block);
  }
  *out = absl::string_view(buffer_).substr(used_, n);
  return true;
}

}  // namespace cairn::journal

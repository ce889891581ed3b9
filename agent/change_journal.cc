#include "agent/change_journal.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "agent/journal_records.h"
#include "common/le_coding.h"
#include "common/path_rules.h"
#include "common/posix_error.h"
#include "common/sodium_init.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

using namespace journal;  // NOLINT: the file format this file reads and writes

// Adds buffered past this are written out (not fsynced) so memory stays small.
constexpr size_t kWriteBehindBytes = 64 << 10;
// Unreadable bytes at the end beyond this are never taken for a torn tail
// (Sync runs a few times a second; no crash leaves this much unsynced).
constexpr uint64_t kMaxTornTailBytes = 16 << 20;
// A pending path's record is rewritten when its time moved at least this much.
constexpr absl::Duration kTimeGranularity = absl::Seconds(1);


// Takes the journal's lock on `fd`: one process per journal.
absl::Status LockJournal(int fd, const std::string& path) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("change journal ", path, " is in use by another process"));
    }
    return PosixError(errno, "flock", path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChangeJournal>> ChangeJournal::Open(const std::string& path) {
  return Open(path, ChangeJournalOptions());
}

absl::StatusOr<std::unique_ptr<ChangeJournal>> ChangeJournal::Open(
    const std::string& path, const ChangeJournalOptions& options) {
  EnsureSodiumInitialized();
  std::unique_ptr<ChangeJournal> journal(new ChangeJournal(path, options));
  RETURN_IF_ERROR(journal->Load());
  return journal;
}

ChangeJournal::~ChangeJournal() {
  absl::MutexLock lock(&mu_);
  // Best effort: what was Added but never Synced may still reach the disk.
  if (failed_.ok()) FlushLocked(/*sync=*/false).IgnoreError();
}

absl::Status ChangeJournal::Load() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(fd_, OpenFile(path_, O_RDWR | O_CREAT | O_APPEND, 0600));
  RETURN_IF_ERROR(LockJournal(fd_.get(), path_));
  // A compaction that died before its rename left this behind; we hold the lock.
  ::unlink((path_ + ".compact").c_str());

  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) return PosixError(errno, "fstat", path_);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kMagicBytes) {
    std::string head;
    RETURN_IF_ERROR(PreadFully(fd_.get(), 0, static_cast<size_t>(size), &head, path_));
    if (head != absl::string_view(kMagic, head.size())) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, " is not a cairn change journal (bad magic); not touching it"));
    }
    // New, or its creation was cut short.
    if (::ftruncate(fd_.get(), 0) != 0) return PosixError(errno, "ftruncate", path_);
    RETURN_IF_ERROR(WriteFully(fd_.get(), absl::string_view(kMagic, kMagicBytes), path_));
    RETURN_IF_ERROR(SyncFile(fd_.get(), path_));
    RETURN_IF_ERROR(FsyncDirectory(DirName(path_)));
    file_bytes_ = kMagicBytes;
    return absl::OkStatus();
  }
  std::string head;
  RETURN_IF_ERROR(PreadFully(fd_.get(), 0, kMagicBytes, &head, path_));
  if (head != absl::string_view(kMagic, kMagicBytes)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " is not a cairn change journal (bad magic); not touching it"));
  }

  BlockReader reader(fd_.get(), kMagicBytes, size, path_);
  std::string problem;  // why the record at reader.offset() is unreadable
  while (reader.remaining() > 0) {
    absl::string_view length_bytes;
    ASSIGN_OR_RETURN(bool have_length, reader.Peek(kLengthBytes, &length_bytes));
    if (!have_length) {
      problem = "partial length";
      break;
    }
    const uint64_t n = LoadLe32(length_bytes.data());
    if (n == 0 || n > kMaxBodyBytes) {
      problem = absl::StrCat("record length ", n, " out of range 1..", kMaxBodyBytes);
      break;
    }
    absl::string_view record;
    ASSIGN_OR_RETURN(bool have_record, reader.Peek(kRecordOverhead + n, &record));
    if (!have_record) {
      problem = absl::StrCat("record of ", n, " bytes runs past the end of the file");
      break;
    }
    if (!CheckRecord(record)) {
      problem = "checksum mismatch";
      break;
    }
    absl::string_view body = record.substr(kLengthBytes, n);
    const uint8_t type = static_cast<uint8_t>(body[0]);
    absl::string_view payload = body.substr(1);
    if (type == kDirty && payload.size() >= 16) {
      absl::string_view path = payload.substr(16);
      if (!path.empty()) {
        absl::Status valid = ValidateRelativePath(path);
        if (!valid.ok()) {
          problem = absl::StrCat("bad path: ", valid.message());
          break;
        }
      }
      ApplyDirty(path, LoadLe64(payload.data()),
                 absl::FromUnixNanos(static_cast<int64_t>(LoadLe64(payload.data() + 8))));
    } else if (type == kCommit && payload.size() == 8) {
      ApplyCommit(LoadLe64(payload.data()));
    } else if (type == kBase && payload.size() == 8) {
      last_sequence_ = std::max(last_sequence_, LoadLe64(payload.data()));
    } else {
      problem = absl::StrCat("record of type ", type, " with a ", payload.size(),
                             "-byte payload does not parse");
      break;
    }
    reader.Skip(record.size());
  }

  const uint64_t good_end = reader.offset();
  file_bytes_ = good_end;
  if (good_end == size) return absl::OkStatus();
  const uint64_t dropped = size - good_end;
  // A torn tail is what an append cut short by a crash leaves: nothing
  // readable after the bad spot. An intact record further on means the damage
  // hit data that was already there, which Sync may have acknowledged.
  bool intact_after = true;
  if (dropped <= kMaxTornTailBytes) {
    std::string tail;
    RETURN_IF_ERROR(PreadFully(fd_.get(), good_end, static_cast<size_t>(dropped), &tail, path_));
    intact_after = HasRecordAfterStart(tail);
  }
  if (!intact_after) {
    recovery_note_ = absl::StrCat("dropped a torn tail of ", dropped, " bytes at offset ", good_end,
                                  " (", problem, ")");
    if (::ftruncate(fd_.get(), static_cast<off_t>(good_end)) != 0) {
      return PosixError(errno, "ftruncate", path_);
    }
    RETURN_IF_ERROR(SyncFile(fd_.get(), path_));
    return absl::OkStatus();
  }
  recovery_note_ =
      absl::StrCat("corrupt record at offset ", good_end, " (", problem, "); dropped the ", dropped,
                   " bytes from there and marked everything dirty");
  ApplyDirty("", ++last_sequence_, absl::Now());
  return CompactLocked();
}

void ChangeJournal::ApplyDirty(absl::string_view path, uint64_t sequence, absl::Time when) {
  last_sequence_ = std::max(last_sequence_, sequence);
  Entry* entry;
  if (path.empty()) {
    if (!everything_) everything_entry_ = Entry{0, absl::InfinitePast(), absl::InfinitePast()};
    everything_ = true;
    entry = &everything_entry_;
  } else {
    auto [it, inserted] = entries_.try_emplace(path);
    if (inserted) {
      it->second = Entry{0, absl::InfinitePast(), absl::InfinitePast()};
      path_bytes_ += path.size();
    }
    entry = &it->second;
  }
  entry->sequence = std::max(entry->sequence, sequence);
  entry->when = std::max(entry->when, when);
  entry->written_when = std::max(entry->written_when, when);
}

void ChangeJournal::ApplyCommit(uint64_t sequence) {
  last_sequence_ = std::max(last_sequence_, sequence);
  if (everything_ && everything_entry_.sequence <= sequence) everything_ = false;
  absl::erase_if(entries_, [&](const auto& kv) {
    if (kv.second.sequence > sequence) return false;
    path_bytes_ -= kv.first.size();
    return true;
  });
}

absl::Status ChangeJournal::Add(absl::string_view path, absl::Time when) {
  if (!path.empty()) RETURN_IF_ERROR(ValidateRelativePath(path));
  absl::MutexLock lock(&mu_);
  return AddLocked(path, when);
}

absl::Status ChangeJournal::AddEverything(absl::Time when) {
  absl::MutexLock lock(&mu_);
  return AddLocked("", when);
}

absl::Status ChangeJournal::AddLocked(absl::string_view path, absl::Time when) {
  RETURN_IF_ERROR(failed_);
  Entry* entry = nullptr;
  if (path.empty()) {
    if (everything_) entry = &everything_entry_;
  } else if (auto it = entries_.find(path); it != entries_.end()) {
    entry = &it->second;
  }
  if (entry != nullptr && entry->sequence > last_snapshot_ &&
      absl::AbsDuration(when - entry->written_when) < kTimeGranularity) {
    // No snapshot has been taken since its record, so that record already
    // keeps the path pending across the next Commit; only the time moved.
    entry->when = std::max(entry->when, when);
    return absl::OkStatus();
  }
  const uint64_t sequence = ++last_sequence_;
  const absl::Time newest = entry != nullptr ? std::max(entry->when, when) : when;
  AppendDirty(sequence, newest, path, &buffer_);
  ApplyDirty(path, sequence, newest);
  if (buffer_.size() >= kWriteBehindBytes) return FlushLocked(/*sync=*/false);
  return absl::OkStatus();
}

absl::Status ChangeJournal::Fail(absl::Status status) {
  if (failed_.ok()) {
    failed_ = absl::Status(status.code(), absl::StrCat("change journal ", path_,
                                                       " failed (reopen it): ", status.message()));
  }
  return failed_;
}

absl::Status ChangeJournal::FlushLocked(bool sync) {
  RETURN_IF_ERROR(failed_);
  if (!buffer_.empty()) {
    absl::Status written = WriteFully(fd_.get(), buffer_, path_);
    if (!written.ok()) return Fail(written);
    file_bytes_ += buffer_.size();
    buffer_.clear();
    unsynced_ = true;
  }
  if (sync && unsynced_) {
    absl::Status synced = SyncFile(fd_.get(), path_, /*data_only=*/true);
    if (!synced.ok()) return Fail(synced);
    unsynced_ = false;
  }
  return absl::OkStatus();
}

absl::Status ChangeJournal::Sync() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(FlushLocked(/*sync=*/true));
  return MaybeCompactLocked();
}

ChangeJournal::Pending ChangeJournal::Snapshot() const {
  absl::MutexLock lock(&mu_);
  Pending pending;
  pending.paths.reserve(entries_.size());
  for (const auto& [path, entry] : entries_) pending.paths.emplace_back(path, entry.when);
  std::sort(pending.paths.begin(), pending.paths.end());
  pending.sequence = last_sequence_;
  pending.everything = everything_;
  last_snapshot_ = last_sequence_;
  return pending;
}

absl::Status ChangeJournal::Commit(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failed_);
  if (sequence > last_sequence_) {
    return absl::InvalidArgumentError(absl::StrCat("commit of journal sequence ", sequence,
                                                   " beyond the newest change, ", last_sequence_));
  }
  AppendSequence(kCommit, sequence, &buffer_);
  ApplyCommit(sequence);
  RETURN_IF_ERROR(FlushLocked(/*sync=*/true));
  return MaybeCompactLocked();
}

size_t ChangeJournal::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

absl::Status ChangeJournal::MaybeCompactLocked() {
  if (file_bytes_ < std::max(options_.compact_at_bytes, compact_retry_at_)) {
    return absl::OkStatus();
  }
  const uint64_t live = kMagicBytes + 2 * (kRecordOverhead + 9) +
                        (entries_.size() + 1) * (kRecordOverhead + kDirtyFixedBytes) + path_bytes_;
  if (file_bytes_ < 2 * live) return absl::OkStatus();
  absl::Status compacted = CompactLocked();
  if (compacted.ok()) {
    compact_retry_at_ = 0;
    return compacted;
  }
  // Not sticky: the log itself is intact. Retry once it has grown again, so
  // a full disk is reported without a rewrite attempt on every Sync.
  compact_retry_at_ = file_bytes_ + options_.compact_at_bytes;
  return absl::Status(compacted.code(),
                      absl::StrCat("changes are durable, but compacting the journal failed: ",
                                   compacted.message()));
}

absl::Status ChangeJournal::CompactLocked() {
  RETURN_IF_ERROR(FlushLocked(/*sync=*/false));
  const std::string temp = path_ + ".compact";
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(temp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600));
  bool renamed = false;
  absl::Cleanup remove_temp = [&] {
    if (!renamed) ::unlink(temp.c_str());
  };
  // Locked before it becomes the journal, so no other process can slip in.
  RETURN_IF_ERROR(LockJournal(fd.get(), temp));
  std::string out(kMagic, kMagicBytes);
  AppendSequence(kBase, last_sequence_, &out);
  if (everything_) AppendDirty(everything_entry_.sequence, everything_entry_.when, "", &out);
  uint64_t total = 0;
  auto flush = [&]() -> absl::Status {
    RETURN_IF_ERROR(WriteFully(fd.get(), out, temp));
    total += out.size();
    out.clear();
    return absl::OkStatus();
  };
  for (auto& [path, entry] : entries_) {
    // The in-memory time is the newest; writing it here costs nothing extra.
    AppendDirty(entry.sequence, entry.when, path, &out);
    entry.written_when = entry.when;
    if (out.size() >= BlockReader::kReadBlockBytes) RETURN_IF_ERROR(flush());
  }
  everything_entry_.written_when = everything_entry_.when;
  RETURN_IF_ERROR(flush());
  RETURN_IF_ERROR(SyncFile(fd.get(), temp));
  if (::rename(temp.c_str(), path_.c_str()) != 0) return PosixError(errno, "rename", temp);
  renamed = true;
  // From here the new file is the journal: keep it even if the directory
  // fsync fails (the rename is then merely not yet durable).
  fd_ = std::move(fd);
  file_bytes_ = total;
  unsynced_ = false;
  return FsyncDirectory(DirName(path_));
}

}  // namespace cairn

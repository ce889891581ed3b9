#include "server/ingest/gc_guard.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

constexpr uint64_t kFilterBits = uint64_t{1} << 23;  // 1 MiB per period
constexpr int kFilterHashes = 4;

uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// Double hashing: the k bit positions of (kind, id).
template <typename Fn>
void ForEachBit(GcObject kind, absl::string_view id, Fn fn) {
  uint64_t h1 = absl::Hash<std::pair<int, absl::string_view>>{}({static_cast<int>(kind), id});
  uint64_t h2 = Mix(h1) | 1;
  for (int i = 0; i < kFilterHashes; ++i) fn((h1 + i * h2) & (kFilterBits - 1));
}

}  // namespace

GcGuard::GcGuard(std::function<absl::Time()> clock) : clock_(std::move(clock)) {}

void GcGuard::StartPeriod() {
  if (!periods_.empty() && periods_.back().open) {
    if (periods_.back().inserts == 0) return;  // nothing heard yet: it will do
    periods_.back().open = false;
  }
  Period next;
  next.first = next.last = next_serial_++;
  periods_.push_back(std::move(next));
  // Bounded memory: merge the two oldest periods; the merged one protects
  // the union of their answers for as long as either would have.
  while (periods_.size() > kMaxPeriods) {
    Period& a = periods_[0];
    Period& b = periods_[1];
    if (b.bits.empty()) {
      b.bits = std::move(a.bits);
    } else if (!a.bits.empty()) {
      for (size_t i = 0; i < b.bits.size(); ++i) b.bits[i] |= a.bits[i];
    }
    b.first = a.first;
    b.inserts += a.inserts;
    periods_.pop_front();
  }
}

void GcGuard::Record(GcObject kind, absl::string_view id) {
  if (periods_.empty() || !periods_.back().open || periods_.back().inserts >= kPeriodCapacity) {
    StartPeriod();
  }
  Period& period = periods_.back();
  if (period.bits.empty()) period.bits.assign(kFilterBits / 64, 0);
  ForEachBit(kind, id, [&](uint64_t bit) { period.bits[bit / 64] |= uint64_t{1} << (bit % 64); });
  ++period.inserts;
  const int k = static_cast<int>(kind);
  if (candidates_[k].contains(id)) rescued_[k].insert(std::string(id));
}

bool GcGuard::MaybeReused(GcObject kind, absl::string_view id) const {
  for (const Period& period : periods_) {
    if (period.bits.empty()) continue;
    bool all = true;
    ForEachBit(kind, id, [&](uint64_t bit) {
      all = all && ((period.bits[bit / 64] >> (bit % 64)) & 1) != 0;
    });
    if (all) return true;
  }
  return false;
}

void GcGuard::BackupBegan(absl::string_view job_id) {
  absl::MutexLock lock(&mu_);
  StartPeriod();
  began_in_[job_id] = periods_.back().last;
}

absl::StatusOr<std::vector<uint32_t>> GcGuard::FindMissingAndProtect(
    GcObject kind, absl::Span<const std::string> ids,
    absl::FunctionRef<absl::StatusOr<std::vector<uint32_t>>()> find_missing) {
  absl::ReaderMutexLock no_sweep(&sweep_mu_);
  absl::StatusOr<std::vector<uint32_t>> missing = find_missing();
  if (!missing.ok()) return missing;
  absl::MutexLock lock(&mu_);
  size_t next_missing = 0;
  for (uint32_t i = 0; i < ids.size(); ++i) {
    if (next_missing < missing->size() && (*missing)[next_missing] == i) {
      ++next_missing;
      continue;
    }
    Record(kind, ids[i]);
  }
  return missing;
}

absl::Status GcGuard::Begin() {
  absl::MutexLock lock(&mu_);
  if (running_) return absl::AbortedError("a garbage collection is already running");
  running_ = true;
  StartPeriod();
  return absl::OkStatus();
}

void GcGuard::ForgetAnswersBefore(const std::vector<std::string>& live_backup_jobs) {
  absl::MutexLock lock(&mu_);
  uint64_t oldest = std::numeric_limits<uint64_t>::max();
  absl::flat_hash_map<std::string, uint64_t> still_live;
  for (const std::string& job : live_backup_jobs) {
    auto it = began_in_.find(job);
    if (it == began_in_.end()) {
      oldest = 0;  // began before this process: it may have heard anything
      continue;
    }
    oldest = std::min(oldest, it->second);
    still_live.insert(*it);
  }
  began_in_ = std::move(still_live);
  while (!periods_.empty() && !periods_.front().open && periods_.front().last < oldest) {
    periods_.pop_front();
  }
}

void GcGuard::SetCandidates(GcObject kind, const std::vector<std::string>& ids) {
  absl::MutexLock lock(&mu_);
  const int k = static_cast<int>(kind);
  candidates_[k] = absl::flat_hash_set<std::string>(ids.begin(), ids.end());
  rescued_[k].clear();
}

GcSpare GcGuard::Sparer::Why(GcObject kind, absl::string_view id) const {
  absl::ReaderMutexLock lock(&guard_->mu_);
  if (guard_->rescued_[static_cast<int>(kind)].contains(id)) return GcSpare::kRescued;
  if (guard_->MaybeReused(kind, id)) return GcSpare::kMaybeReused;
  return GcSpare::kNo;
}

absl::Status GcGuard::Sweep(absl::FunctionRef<absl::Status(const Sparer&)> body) {
  absl::WriterMutexLock exclusive(&sweep_mu_);
  return body(Sparer(this));
}

void GcGuard::End() {
  absl::MutexLock lock(&mu_);
  running_ = false;
  for (int k = 0; k < 2; ++k) {
    candidates_[k] = {};
    rescued_[k] = {};
  }
}

std::vector<std::string> GcGuard::OrphansDue(absl::string_view tier,
                                             const std::vector<std::string>& names,
                                             absl::Duration grace) {
  int64_t now = absl::ToUnixMillis(clock_());
  absl::MutexLock lock(&mu_);
  std::string prefix = absl::StrCat(tier, "/");
  // Forget this tier's names that are no longer orphans (catalogued since).
  absl::flat_hash_set<std::string> current;
  for (const std::string& name : names) current.insert(absl::StrCat(prefix, name));
  for (auto it = orphans_first_seen_.begin(); it != orphans_first_seen_.end();) {
    auto here = it++;
    if (absl::string_view(here->first).substr(0, prefix.size()) == prefix &&
        !current.contains(here->first)) {
      orphans_first_seen_.erase(here);
    }
  }
  std::vector<std::string> due;
  for (const std::string& name : names) {
    auto it = orphans_first_seen_.try_emplace(absl::StrCat(prefix, name), now).first;
    if (now - it->second >= absl::ToInt64Milliseconds(grace)) due.push_back(name);
  }
  return due;
}

}  // namespace cairn

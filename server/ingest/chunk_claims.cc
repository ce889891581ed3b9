#include "server/ingest/chunk_claims.h"

#include <utility>

namespace cairn {

ChunkClaims::ChunkClaims(Options options) : options_(std::move(options)) {}

bool ChunkClaims::Live(const std::string& job, absl::Time now) const {
  auto it = holders_.find(job);
  return it != holders_.end() && it->second.deadline > now;
}

void ChunkClaims::EraseHolder(const std::string& job) {
  auto it = holders_.find(job);
  if (it == holders_.end()) return;
  for (const Key& key : it->second.keys) {
    auto owned = owner_.find(key);
    if (owned != owner_.end() && owned->second == job) owner_.erase(owned);
  }
  holders_.erase(it);
}

void ChunkClaims::DropExpired(absl::Time now) {
  if (now < next_sweep_) return;
  next_sweep_ = now + options_.ttl;
  std::vector<std::string> expired;
  for (const auto& [job, holder] : holders_) {
    if (holder.deadline <= now) expired.push_back(job);
  }
  for (const std::string& job : expired) EraseHolder(job);
}

void ChunkClaims::Claim(int64_t tenant, absl::string_view job, absl::Span<const std::string> ids,
                        absl::Span<const uint32_t> missing, std::vector<uint32_t>* granted,
                        std::vector<uint32_t>* held) {
  const absl::Time now = options_.clock();
  const std::string me(job);
  absl::MutexLock lock(&mu_);
  DropExpired(now);
  Holder* mine = nullptr;
  for (uint32_t index : missing) {
    Key key(tenant, ids[index]);
    auto owned = owner_.find(key);
    if (owned != owner_.end() && owned->second != me) {
      if (Live(owned->second, now)) {
        held->push_back(index);
        ++counters_.held;
        continue;
      }
      ++counters_.taken_over;  // the holder stalled or went away
      Forget(owned);
      owned = owner_.end();
    }
    granted->push_back(index);
    if (mine == nullptr) mine = &holders_[me];
    if (owned != owner_.end()) continue;                 // already ours
    if (owner_.size() >= options_.max_claims) continue;  // answered, not recorded
    owner_.emplace(key, me);
    mine->keys.push_back(std::move(key));
    ++mine->live;
    ++counters_.granted;
  }
  if (mine != nullptr) mine->deadline = now + options_.ttl;
}

void ChunkClaims::Touch(absl::string_view job) {
  const absl::Time now = options_.clock();
  absl::MutexLock lock(&mu_);
  auto it = holders_.find(job);
  if (it != holders_.end()) it->second.deadline = now + options_.ttl;
}

void ChunkClaims::Stored(int64_t tenant, absl::Span<const std::string> ids) {
  absl::MutexLock lock(&mu_);
  if (owner_.empty()) return;
  for (const std::string& id : ids) {
    auto owned = owner_.find(Key(tenant, id));
    if (owned != owner_.end()) Forget(owned);
  }
}

void ChunkClaims::Forget(absl::flat_hash_map<Key, std::string>::iterator owned) {
  auto holder = holders_.find(owned->second);
  owner_.erase(owned);
  if (holder == holders_.end()) return;
  Holder& h = holder->second;
  if (h.live > 0) --h.live;
  // A long backup's ended claims must not pile up in its list.
  if (h.keys.size() >= 64 && h.keys.size() > 4 * h.live) {
    std::vector<Key> kept;
    kept.reserve(h.live);
    for (Key& key : h.keys) {
      auto it = owner_.find(key);
      if (it != owner_.end() && it->second == holder->first) kept.push_back(std::move(key));
    }
    h.keys = std::move(kept);
    h.live = h.keys.size();
  }
}

void ChunkClaims::ReleaseJob(absl::string_view job) {
  absl::MutexLock lock(&mu_);
  EraseHolder(std::string(job));
}

ChunkClaims::Counters ChunkClaims::counters() const {
  absl::MutexLock lock(&mu_);
  Counters c = counters_;
  c.live = owner_.size();
  return c;
}

}  // namespace cairn

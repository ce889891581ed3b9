// How many long streams (chunk uploads, chunk reads) one agent may hold open
// at once (ServerConfig.limits.max_streams_per_agent): an agent, broken or
// hostile, cannot take every server thread. A slot is held for the life of
// the stream.
//
//   ASSIGN_OR_RETURN(StreamLimiter::Slot slot, limiter.Acquire("gpu-07"));
#ifndef CAIRN_SERVER_AUTH_STREAM_LIMITER_H_
#define CAIRN_SERVER_AUTH_STREAM_LIMITER_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace cairn {

class StreamLimiter final {
 public:
  class Slot final {
   public:
    Slot(Slot&& other) noexcept : limiter_(other.limiter_), key_(std::move(other.key_)) {
      other.limiter_ = nullptr;
    }
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class StreamLimiter;
    Slot(StreamLimiter* limiter, std::string key) : limiter_(limiter), key_(std::move(key)) {}
    StreamLimiter* limiter_;
    std::string key_;
  };

  explicit StreamLimiter(uint32_t max_per_key) : max_(max_per_key) {}

  // A slot for `key` (an agent), or ResourceExhausted naming the limit.
  absl::StatusOr<Slot> Acquire(const std::string& key);
  uint32_t open(const std::string& key);

 private:
  void Release(const std::string& key);

  const uint32_t max_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint32_t> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_STREAM_LIMITER_H_

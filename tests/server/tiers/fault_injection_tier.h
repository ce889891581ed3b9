// A Tier wrapper for tests that makes the storage underneath misbehave on
// cue: a full disk (ResourceExhausted) on the Nth Append, Commit or Put, a
// process "crash" in the middle of a Commit, a flipped bit on a Read. Like
// leveldb's fault-injection Env, it wraps the real thing instead of mocking it.
//
//   std::unique_ptr<FaultInjectionTier> tier = WrapWithFaults(*OpenLocalTier("t", dir));
//   tier->FailNth(TierOp::kAppend, 2);  // the 2nd Append from now: ENOSPC
#ifndef CAIRN_TESTS_SERVER_TIERS_FAULT_INJECTION_TIER_H_
#define CAIRN_TESTS_SERVER_TIERS_FAULT_INJECTION_TIER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/tiers/tier.h"

namespace cairn {

// The calls faults can be armed on. Each method counts its own calls only:
// Put forwards to the base tier's Put and does not count as Append or Commit.
enum class TierOp { kCreate, kAppend, kCommit, kPut, kRead, kSize, kDelete, kList, kSpace };
inline constexpr int kTierOpCount = 9;

// Forwards everything to the base tier until a fault fires. Thread-safe. "The
// Nth call from now" counts from the moment the fault is armed, 1 = the next.
class FaultInjectionTier final : public Tier {
 public:
  explicit FaultInjectionTier(std::unique_ptr<Tier> base);
  ~FaultInjectionTier() override;

  // What an ENOSPC from the disk turns into: ResourceExhausted.
  static absl::Status InjectedNoSpace();

  // The Nth call of `op` from now fails with `error` (once). A failed Append
  // first passes half its bytes to the base writer, as a short write on a
  // full disk would. Writers that saw an injected failure stay failed.
  void FailNth(TierOp op, int n, absl::Status error = InjectedNoSpace());
  // Every call of `op` from the Nth on fails with `error` until ClearFaults().
  void FailFromNth(TierOp op, int n, absl::Status error = InjectedNoSpace());
  // The Nth Commit from now "crashes": the base writer is neither committed
  // nor discarded, so its temporary data stays behind as after a real crash
  // (until this tier is destroyed), and Commit returns Unavailable.
  void CrashNthCommit(int n);
  // The Nth Read from now returns its data with the lowest bit of the middle
  // byte flipped, like silent corruption on disk (reads of 0 bytes are untouched).
  void CorruptNthRead(int n);
  void ClearFaults();

  // Calls of `op` seen since construction, failed or not.
  int64_t calls(TierOp op) const;
  // Writers created and not yet destroyed (committed or not).
  int open_writers() const;
  // Block until calls(op) reaches `n`, or open_writers() is `n`, or
  // `timeout` passes; whether it happened. For tests that wait on the server.
  bool WaitForCalls(TierOp op, int64_t n, absl::Duration timeout);
  bool WaitForOpenWriters(int n, absl::Duration timeout);

  Tier& base() { return *base_; }

  std::string name() const override;
  std::string kind() const override;
  absl::StatusOr<std::unique_ptr<TierWriter>> Create(absl::string_view object) override;
  absl::Status Put(absl::string_view object, absl::string_view data) override;
  absl::Status Read(absl::string_view object, uint64_t offset, size_t length,
                    std::string* out) override;
  absl::StatusOr<uint64_t> Size(absl::string_view object) override;
  absl::Status Delete(absl::string_view object) override;
  absl::StatusOr<std::vector<std::string>> List() override;
  absl::StatusOr<TierSpace> Space() override;

 private:
  class Writer;  // wraps the base tier's writer; defined in the .cc

  enum class FaultKind { kFail, kCrash, kCorrupt };
  struct Fault {
    TierOp op;
    int64_t at;   // fires when calls(op) reaches this
    bool sticky;  // and keeps firing after it
    FaultKind kind;
    absl::Status error;
  };
  struct Fired {
    bool fired = false;
    FaultKind kind = FaultKind::kFail;
    absl::Status error;
  };

  // Counts one call of `op` and reports the fault that fires for it, if any.
  Fired Count(TierOp op);
  void Arm(TierOp op, int n, bool sticky, FaultKind kind, absl::Status error);
  // Keeps a crashed writer's base writer alive so its temporary data survives.
  void KeepCrashed(std::unique_ptr<TierWriter> writer);
  void WriterCountChanged(int delta);

  const std::unique_ptr<Tier> base_;
  mutable absl::Mutex mu_;
  std::array<int64_t, kTierOpCount> calls_ ABSL_GUARDED_BY(mu_) = {};
  int open_writers_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Fault> faults_ ABSL_GUARDED_BY(mu_);
  // Declared after base_ so they are destroyed before it.
  std::vector<std::unique_ptr<TierWriter>> crashed_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<FaultInjectionTier> WrapWithFaults(std::unique_ptr<Tier> base);

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_TIERS_FAULT_INJECTION_TIER_H_

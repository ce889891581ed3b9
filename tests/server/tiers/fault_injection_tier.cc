#include "tests/server/tiers/fault_injection_tier.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {

class FaultInjectionTier::Writer final : public TierWriter {
 public:
  Writer(FaultInjectionTier* tier, std::string object, std::unique_ptr<TierWriter> base)
      : tier_(tier), object_(std::move(object)), base_(std::move(base)) {
    tier_->WriterCountChanged(+1);
  }
  ~Writer() override {
    base_.reset();  // discards uncommitted data first
    tier_->WriterCountChanged(-1);
  }

  absl::Status Append(absl::string_view data) override {
    RETURN_IF_ERROR(first_error_);
    Fired fault = tier_->Count(TierOp::kAppend);
    if (fault.fired) {
      // A full disk usually takes part of a write before refusing the rest.
      if (base_ != nullptr) base_->Append(data.substr(0, data.size() / 2)).IgnoreError();
      return Fail(fault.error);
    }
    if (base_ == nullptr) return absl::FailedPreconditionError("writer already committed");
    return Remember(base_->Append(data));
  }

  absl::Status Commit() override {
    RETURN_IF_ERROR(first_error_);
    Fired fault = tier_->Count(TierOp::kCommit);
    if (fault.fired && fault.kind == FaultKind::kCrash) {
      size_at_crash_ = base_->size();
      tier_->KeepCrashed(std::move(base_));
      return Fail(absl::UnavailableError(absl::StrCat("injected crash while committing ", object_,
                                                      "; temporary data left behind")));
    }
    if (fault.fired) return Fail(fault.error);
    if (base_ == nullptr) return absl::FailedPreconditionError("writer already committed");
    return Remember(base_->Commit());
  }

  uint64_t size() const override { return base_ == nullptr ? size_at_crash_ : base_->size(); }

 private:
  absl::Status Fail(absl::Status status) {
    first_error_ = status;
    return status;
  }
  absl::Status Remember(absl::Status status) {
    if (!status.ok() && !absl::IsFailedPrecondition(status)) first_error_ = status;
    return status;
  }

  FaultInjectionTier* const tier_;
  const std::string object_;
  std::unique_ptr<TierWriter> base_;
  absl::Status first_error_;
  uint64_t size_at_crash_ = 0;
};

FaultInjectionTier::FaultInjectionTier(std::unique_ptr<Tier> base) : base_(std::move(base)) {}

void FaultInjectionTier::WriterCountChanged(int delta) {
  absl::MutexLock lock(&mu_);
  open_writers_ += delta;
}

int FaultInjectionTier::open_writers() const {
  absl::MutexLock lock(&mu_);
  return open_writers_;
}

bool FaultInjectionTier::WaitForCalls(TierOp op, int64_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return calls_[static_cast<int>(op)] >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool FaultInjectionTier::WaitForOpenWriters(int n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_writers_ == n; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

FaultInjectionTier::~FaultInjectionTier() {
  absl::MutexLock lock(&mu_);
  crashed_.clear();
}

absl::Status FaultInjectionTier::InjectedNoSpace() {
  return absl::ResourceExhaustedError("injected fault: No space left on device");
}

void FaultInjectionTier::Arm(TierOp op, int n, bool sticky, FaultKind kind, absl::Status error) {
  absl::MutexLock lock(&mu_);
  int64_t at = calls_[static_cast<int>(op)] + (n < 1 ? 1 : n);
  faults_.push_back(Fault{op, at, sticky, kind, std::move(error)});
}

void FaultInjectionTier::FailNth(TierOp op, int n, absl::Status error) {
  Arm(op, n, /*sticky=*/false, FaultKind::kFail, std::move(error));
}

void FaultInjectionTier::FailFromNth(TierOp op, int n, absl::Status error) {
  Arm(op, n, /*sticky=*/true, FaultKind::kFail, std::move(error));
}

void FaultInjectionTier::CrashNthCommit(int n) {
  Arm(TierOp::kCommit, n, /*sticky=*/false, FaultKind::kCrash, absl::OkStatus());
}

void FaultInjectionTier::CorruptNthRead(int n) {
  Arm(TierOp::kRead, n, /*sticky=*/false, FaultKind::kCorrupt, absl::OkStatus());
}

void FaultInjectionTier::ClearFaults() {
  absl::MutexLock lock(&mu_);
  faults_.clear();
}

int64_t FaultInjectionTier::calls(TierOp op) const {
  absl::MutexLock lock(&mu_);
  return calls_[static_cast<int>(op)];
}

FaultInjectionTier::Fired FaultInjectionTier::Count(TierOp op) {
  absl::MutexLock lock(&mu_);
  int64_t count = ++calls_[static_cast<int>(op)];
  Fired fired;
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op || count < it->at || (!it->sticky && count != it->at)) continue;
    fired = Fired{true, it->kind, it->error};
    if (!it->sticky) faults_.erase(it);
    break;
  }
  return fired;
}

void FaultInjectionTier::KeepCrashed(std::unique_ptr<TierWriter> writer) {
  absl::MutexLock lock(&mu_);
  crashed_.push_back(std::move(writer));
}

std::string FaultInjectionTier::name() const { return base_->name(); }
std::string FaultInjectionTier::kind() const { return base_->kind(); }

absl::StatusOr<std::unique_ptr<TierWriter>> FaultInjectionTier::Create(absl::string_view object) {
  Fired fault = Count(TierOp::kCreate);
  if (fault.fired) return fault.error;
  ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> base, base_->Create(object));
  return std::unique_ptr<TierWriter>(new Writer(this, std::string(object), std::move(base)));
}

absl::Status FaultInjectionTier::Put(absl::string_view object, absl::string_view data) {
  Fired fault = Count(TierOp::kPut);
  if (fault.fired) return fault.error;
  return base_->Put(object, data);
}

absl::Status FaultInjectionTier::Read(absl::string_view object, uint64_t offset, size_t length,
                                      std::string* out) {
  Fired fault = Count(TierOp::kRead);
  if (fault.fired && fault.kind == FaultKind::kFail) return fault.error;
  RETURN_IF_ERROR(base_->Read(object, offset, length, out));
  if (fault.fired && fault.kind == FaultKind::kCorrupt && !out->empty()) {
    (*out)[out->size() / 2] ^= 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FaultInjectionTier::Size(absl::string_view object) {
  Fired fault = Count(TierOp::kSize);
  if (fault.fired) return fault.error;
  return base_->Size(object);
}

absl::Status FaultInjectionTier::Delete(absl::string_view object) {
  Fired fault = Count(TierOp::kDelete);
  if (fault.fired) return fault.error;
  return base_->Delete(object);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionTier::List() {
  Fired fault = Count(TierOp::kList);
  if (fault.fired) return fault.error;
  return base_->List();
}

absl::StatusOr<TierSpace> FaultInjectionTier::Space() {
  Fired fault = Count(TierOp::kSpace);
  if (fault.fired) return fault.error;
  return base_->Space();
}

std::unique_ptr<FaultInjectionTier> WrapWithFaults(std::unique_ptr<Tier> base) {
  return std::make_unique<FaultInjectionTier>(std::move(base));
}

}  // namespace cairn

#include "server/web/usage_history.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json_output.h"

namespace cairn {

void UsageHistory::Start() {
  SampleNow();
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) SampleNow();
  });
}

void UsageHistory::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

UsageHistory::Sample UsageHistory::Take() {
  Sample sample;
  sample.unix_ms = absl::ToUnixMillis(absl::Now());
  absl::StatusOr<CatalogTotals> totals = status_->Totals(absl::Minutes(1));
  if (totals.ok()) {
    sample.logical_bytes = totals->logical_bytes;
    sample.unique_bytes = totals->unique_bytes;
    sample.stored_bytes = totals->stored_bytes;
  }
  absl::StatusOr<v1::ListTiersResponse> tiers = status_->ListTiers(Caller::Internal());
  if (tiers.ok()) {
    for (const v1::TierStatus& t : tiers->tiers())
      sample.tiers.emplace_back(t.name(), t.used_bytes());
  }
  return sample;
}

void UsageHistory::SampleNow() {
  Sample sample = Take();
  absl::MutexLock lock(&mu_);
  samples_.push_back(std::move(sample));
  while (samples_.size() > kMaxSamples) samples_.pop_front();
}

std::string UsageHistory::Json() {
  // The stored samples and one of this moment (not kept), so that the plot
  // always reaches now.
  const Sample live = Take();
  absl::MutexLock lock(&mu_);
  std::string out = "{\"samples\":[";
  bool first = true;
  std::vector<const Sample*> all;
  for (const Sample& s : samples_) all.push_back(&s);
  all.push_back(&live);
  for (const Sample* p : all) {
    const Sample& s = *p;
    absl::StrAppend(&out, first ? "" : ",", "{\"unix_ms\":", s.unix_ms,
                    ",\"logical_bytes\":", s.logical_bytes, ",\"unique_bytes\":", s.unique_bytes,
                    ",\"stored_bytes\":", s.stored_bytes, ",\"tiers\":{");
    first = false;
    bool first_tier = true;
    for (const auto& [name, bytes] : s.tiers) {
      absl::StrAppend(&out, first_tier ? "" : ",", JsonQuote(name), ":", bytes);
      first_tier = false;
    }
    out += "}}";
  }
  out += "]}";
  return out;
}

}  // namespace cairn

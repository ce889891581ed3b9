#include "server/schedule/cron.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// Sets bits [lo, hi] of a field from one comma-separated part.
absl::Status ParseField(absl::string_view field, int lo, int hi, absl::string_view what,
                        std::vector<bool>* bits, bool* any) {
  *any = field == "*";
  bits->assign(hi + 1, false);
  for (absl::string_view part : absl::StrSplit(field, ',')) {
    int step = 1;
    std::vector<absl::string_view> range_step = absl::StrSplit(part, absl::MaxSplits('/', 1));
    if (range_step.size() == 2 && (!absl::SimpleAtoi(range_step[1], &step) || step <= 0)) {
      return absl::InvalidArgumentError(absl::StrCat("cron ", what, ": bad step in \"", part, "\""));
    }
    int first = lo, last = hi;
    absl::string_view range = range_step[0];
    if (range != "*") {
      std::vector<absl::string_view> ends = absl::StrSplit(range, absl::MaxSplits('-', 1));
      if (!absl::SimpleAtoi(ends[0], &first) ||
          (ends.size() == 2 && !absl::SimpleAtoi(ends[1], &last))) {
        return absl::InvalidArgumentError(
            absl::StrCat("cron ", what, ": \"", part, "\" is not a number, range or step"));
      }
      if (ends.size() == 1) last = range_step.size() == 2 ? hi : first;
    }
    if (first < lo || last > hi || first > last) {
      return absl::InvalidArgumentError(absl::StrCat("cron ", what, ": \"", part,
                                                     "\" is outside ", lo, "-", hi));
    }
    for (int v = first; v <= last; v += step) (*bits)[v] = true;
  }
  return absl::OkStatus();
}

template <size_t N>
void Copy(const std::vector<bool>& from, std::bitset<N>* to) {
  for (size_t i = 0; i < N && i < from.size(); ++i) (*to)[i] = from[i];
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view spec) {
  std::vector<absl::string_view> fields = absl::StrSplit(spec, ' ', absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron \"", spec, "\" needs 5 fields: minute hour day-of-month month day-of-week"));
  }
  CronSchedule s;
  std::vector<bool> bits;
  bool any = false;
  RETURN_IF_ERROR(ParseField(fields[0], 0, 59, "minute", &bits, &any));
  Copy(bits, &s.minutes_);
  RETURN_IF_ERROR(ParseField(fields[1], 0, 23, "hour", &bits, &any));
  Copy(bits, &s.hours_);
  RETURN_IF_ERROR(ParseField(fields[2], 1, 31, "day-of-month", &bits, &s.any_day_));
  Copy(bits, &s.days_);
  RETURN_IF_ERROR(ParseField(fields[3], 1, 12, "month", &bits, &any));
  Copy(bits, &s.months_);
  RETURN_IF_ERROR(ParseField(fields[4], 0, 7, "day-of-week", &bits, &s.any_weekday_));
  if (bits[7]) bits[0] = true;
  Copy(bits, &s.weekdays_);
  return s;
}

bool CronSchedule::Matches(absl::Time minute) const {
  absl::CivilMinute m = absl::ToCivilMinute(minute, absl::UTCTimeZone());
  if (!minutes_[m.minute()] || !hours_[m.hour()] || !months_[m.month()]) return false;
  bool day = days_[m.day()];
  // absl counts from Monday = 0; cron from Sunday = 0.
  bool weekday = weekdays_[(static_cast<int>(absl::GetWeekday(absl::CivilDay(m))) + 1) % 7];
  if (any_day_ && any_weekday_) return true;
  if (any_day_) return weekday;
  if (any_weekday_) return day;
  return day || weekday;
}

absl::Time CronSchedule::NextAfter(absl::Time t) const {
  absl::CivilMinute m = absl::ToCivilMinute(t, absl::UTCTimeZone()) + 1;
  // At most a little over four years of minutes: covers Feb 29 schedules.
  for (int i = 0; i < 4 * 366 * 24 * 60 + 1; ++i, ++m) {
    absl::Time candidate = absl::FromCivil(m, absl::UTCTimeZone());
    if (Matches(candidate)) return candidate;
  }
  return absl::InfiniteFuture();
}

}  // namespace cairn

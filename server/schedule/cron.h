// Cron-like schedules: "minute hour day-of-month month day-of-week", each
// field "*", a number, a list "1,15", a range "1-5" or a step "*/10" / "0-30/5",
// evaluated in UTC. Day-of-week 0 or 7 is Sunday. As in classic cron, when
// both day fields are restricted a day matches if either matches.
//
//   ASSIGN_OR_RETURN(CronSchedule s, CronSchedule::Parse("0 3 * * 0"));
//   absl::Time next = s.NextAfter(absl::Now());
#ifndef CAIRN_SERVER_SCHEDULE_CRON_H_
#define CAIRN_SERVER_SCHEDULE_CRON_H_

#include <bitset>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cairn {

class CronSchedule final {
 public:
  static absl::StatusOr<CronSchedule> Parse(absl::string_view spec);
  // The first whole minute strictly after `t` that matches.
  absl::Time NextAfter(absl::Time t) const;
  bool Matches(absl::Time minute) const;

 private:
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1..31
  std::bitset<13> months_;    // 1..12
  std::bitset<7> weekdays_;   // 0..6, Sunday = 0
  bool any_day_ = true;
  bool any_weekday_ = true;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_SCHEDULE_CRON_H_

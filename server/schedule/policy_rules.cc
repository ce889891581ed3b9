#include "server/schedule/policy_rules.h"

#include <fnmatch.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "server/schedule/cron.h"

namespace cairn {
namespace {

absl::Status FieldError(const v1::Policy& policy, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("policy ", policy.name(), ": ", field, ": ", problem));
}

}  // namespace

absl::Status NormalizePolicy(v1::Policy* policy) {
  RETURN_IF_ERROR(ValidateAgentName(policy->name(), "policy name"));
  if (policy->agents().empty()) {
    return FieldError(*policy, "agents", "name at least one agent or glob (\"*\" for all)");
  }
  for (const std::string& agent : policy->agents()) {
    if (agent.empty() || agent.size() > kMaxNameLength * 2) {
      return FieldError(*policy, "agents", "empty or over-long entry");
    }
  }
  if (policy->roots_size() > 256) return FieldError(*policy, "roots", "at most 256 roots");
  for (const std::string& root : policy->roots()) {
    if (root.empty() || root[0] != '/' || root.size() > kMaxPathTotalBytes ||
        root.find('\0') != std::string::npos) {
      return FieldError(*policy, "roots", absl::StrCat("\"", root, "\" is not an absolute path"));
    }
  }
  for (const std::string& exclude : policy->excludes()) {
    if (exclude.empty() || exclude.size() > kMaxPathTotalBytes) {
      return FieldError(*policy, "excludes", "empty or over-long pattern");
    }
  }
  for (v1::ConsistencyGroup& group : *policy->mutable_consistency_groups()) {
    if (group.path().empty() || group.path()[0] == '/' ||
        group.path().find("..") != std::string::npos) {
      return FieldError(*policy, "consistency_groups.path",
                        absl::StrCat("\"", group.path(), "\" must be a glob relative to the root"));
    }
    if (group.settle_seconds() == 0) group.set_settle_seconds(30);
    if (group.settle_seconds() > 86400) {
      return FieldError(*policy, "consistency_groups.settle_seconds", "at most 86400");
    }
    for (const std::string& marker : group.markers()) {
      if (marker.empty() || marker.find('/') != std::string::npos) {
        return FieldError(*policy, "consistency_groups.markers", "a marker is one file name");
      }
    }
  }
  for (v1::Schedule& schedule : *policy->mutable_schedules()) {
    absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(schedule.cron());
    if (!cron.ok()) return FieldError(*policy, "schedules.cron", cron.status().message());
    if (schedule.level() == v1::BACKUP_LEVEL_UNSPECIFIED) {
      schedule.set_level(v1::BACKUP_LEVEL_INCREMENTAL);
    }
    if (schedule.verify_sample_percent() > 100) {
      return FieldError(*policy, "schedules.verify_sample_percent", "a percentage: 0 to 100");
    }
  }
  if (policy->interval_seconds() == 0) policy->set_interval_seconds(60);
  if (policy->quiet_seconds() == 0) policy->set_quiet_seconds(2);
  if (policy->copies() > 8) return FieldError(*policy, "copies", "at most 8");
  if (policy->interval_seconds() > 86400 * 7) {
    return FieldError(*policy, "interval_seconds", "at most a week");
  }
  if (policy->quiet_seconds() > 3600) return FieldError(*policy, "quiet_seconds", "at most 3600");
  if (policy->throttle().nice() < 0 || policy->throttle().nice() > 19) {
    return FieldError(*policy, "throttle.nice", "0 to 19");
  }
  if (policy->throttle().workers() > 256) {
    return FieldError(*policy, "throttle.workers", "at most 256");
  }
  return absl::OkStatus();
}

bool PolicyCoversAgent(const v1::Policy& policy, absl::string_view agent) {
  std::string name(agent);
  for (const std::string& pattern : policy.agents()) {
    if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

std::vector<v1::Policy> PoliciesForAgent(const std::vector<v1::Policy>& all,
                                         absl::string_view agent) {
  std::vector<v1::Policy> mine;
  for (const v1::Policy& p : all) {
    if (PolicyCoversAgent(p, agent)) mine.push_back(p);
  }
  return mine;
}

}  // namespace cairn

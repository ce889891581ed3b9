#include "server/maintenance/retention.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "server/schedule/policy_rules.h"

namespace cairn {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;

// Rounds towards minus infinity, so times before 1970 land in the right bucket.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t HourOf(int64_t ms) { return FloorDiv(ms, kHourMs); }
int64_t DayOf(int64_t ms) { return FloorDiv(ms, kDayMs); }
// 1970-01-01 was a Thursday, so day -3 was the Monday that starts its ISO
// week. Weeks counted from there are exactly the ISO weeks, across year ends
// too, without computing ISO week-years.
int64_t IsoWeekOf(int64_t ms) { return FloorDiv(DayOf(ms) + 3, 7); }
int64_t MonthOf(int64_t ms) {
  absl::CivilSecond civil = absl::ToCivilSecond(absl::FromUnixMillis(ms), absl::UTCTimeZone());
  return civil.year() * 12 + (civil.month() - 1);
}

// Marks in `keep` the newest snapshot of each of the `count` most recent
// buckets that hold one. `order` lists indexes newest first.
void KeepPerBucket(const std::vector<v1::Snapshot>& snapshots, const std::vector<size_t>& order,
                   uint32_t count, int64_t (*bucket_of)(int64_t), std::vector<bool>* keep) {
  std::optional<int64_t> last;
  for (size_t i : order) {
    if (count == 0) return;
    int64_t bucket = bucket_of(snapshots[i].created_unix_ms());
    if (last.has_value() && *last == bucket) continue;
    last = bucket;
    (*keep)[i] = true;
    --count;
  }
}

// Snapshot roots are compared without a trailing '/', so "/data/" and
// "/data" name the same root ("/" stays "/").
absl::string_view NormalizedRoot(absl::string_view root) {
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  return root;
}

}  // namespace

bool HasRetention(const v1::RetentionRule& rule) {
  return rule.keep_last() > 0 || rule.keep_hourly() > 0 || rule.keep_daily() > 0 ||
         rule.keep_weekly() > 0 || rule.keep_monthly() > 0;
}

std::vector<std::string> ExpiredSnapshots(const std::vector<v1::Snapshot>& newest_first,
                                          const v1::RetentionRule& rule) {
  if (!HasRetention(rule)) return {};
  // A stable sort leaves a correctly ordered input alone and still gives
  // the right answer if a caller's order is off.
  std::vector<size_t> order(newest_first.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return newest_first[a].created_unix_ms() > newest_first[b].created_unix_ms();
  });
  std::vector<bool> keep(newest_first.size(), false);
  for (size_t n = 0; n < order.size() && n < rule.keep_last(); ++n) keep[order[n]] = true;
  KeepPerBucket(newest_first, order, rule.keep_hourly(), &HourOf, &keep);
  KeepPerBucket(newest_first, order, rule.keep_daily(), &DayOf, &keep);
  KeepPerBucket(newest_first, order, rule.keep_weekly(), &IsoWeekOf, &keep);
  KeepPerBucket(newest_first, order, rule.keep_monthly(), &MonthOf, &keep);
  std::vector<std::string> expired;
  for (size_t i = 0; i < newest_first.size(); ++i) {
    if (!keep[i]) expired.push_back(newest_first[i].id());
  }
  return expired;
}

bool PolicyCovers(const v1::Policy& policy, absl::string_view agent, absl::string_view root,
                  const std::vector<std::string>& agent_roots) {
  if (!PolicyCoversAgent(policy, agent)) return false;
  absl::string_view wanted = NormalizedRoot(root);
  auto listed = [wanted](const auto& roots) {
    for (const std::string& r : roots) {
      if (NormalizedRoot(r) == wanted) return true;
    }
    return false;
  };
  return policy.roots().empty() ? listed(agent_roots) : listed(policy.roots());
}

absl::StatusOr<v1::PruneResponse> PruneSnapshots(Catalog* catalog,
                                                 const std::vector<v1::Policy>& policies,
                                                 const v1::PruneRequest& request, absl::Time now,
                                                 const DeletionRules& rules) {
  if (!request.agent().empty()) RETURN_IF_ERROR(ValidateAgentName(request.agent(), "agent"));
  ASSIGN_OR_RETURN(
      std::vector<v1::Snapshot> snapshots,
      catalog->snapshots().List(request.agent(), std::numeric_limits<uint32_t>::max()));
  ASSIGN_OR_RETURN(std::vector<v1::AgentInfo> agents, catalog->agents().List());
  absl::flat_hash_map<std::string, std::vector<std::string>> agent_roots;
  for (const v1::AgentInfo& a : agents) {
    agent_roots[a.name()].assign(a.roots().begin(), a.roots().end());
  }

  // Groups keep the catalog's newest-first order.
  using GroupKey = std::pair<std::string, std::string>;
  std::vector<GroupKey> group_order;
  absl::flat_hash_map<GroupKey, std::vector<v1::Snapshot>> groups;
  for (v1::Snapshot& s : snapshots) {
    GroupKey key(s.agent(), std::string(NormalizedRoot(s.roots_size() > 0 ? s.roots(0) : "")));
    auto [it, inserted] = groups.try_emplace(key);
    if (inserted) group_order.push_back(key);
    it->second.push_back(std::move(s));
  }

  std::string when = absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone());
  v1::PruneResponse response;
  std::vector<std::pair<std::string, std::string>> doomed;  // snapshot id, note
  uint64_t kept = 0;
  for (const GroupKey& key : group_order) {
    const std::vector<v1::Snapshot>& group = groups[key];
    std::vector<const v1::Policy*> covering;
    bool any_retention = false;
    for (const v1::Policy& policy : policies) {
      if (!PolicyCovers(policy, key.first, key.second, agent_roots[key.first])) continue;
      covering.push_back(&policy);
      any_retention = any_retention || HasRetention(policy.retention());
    }
    if (!any_retention) {
      kept += group.size();
      continue;
    }
    // A snapshot kept by any covering policy stays: intersect the expiries.
    std::optional<absl::flat_hash_set<std::string>> expired;
    std::vector<std::string> names;
    for (const v1::Policy* policy : covering) {
      names.push_back(policy->name());
      absl::flat_hash_set<std::string> next;
      for (std::string& id : ExpiredSnapshots(group, policy->retention())) {
        if (!expired.has_value() || expired->contains(id)) next.insert(std::move(id));
      }
      expired = std::move(next);
    }
    std::string note = absl::StrCat("snapshot expired by the retention of policy ",
                                    absl::StrJoin(names, ", "), "; pruned at ", when);
    for (const v1::Snapshot& s : group) {
      if (expired->contains(s.id()) && !MayDelete(s, rules, now).ok()) {
        response.add_held_snapshot_ids(s.id());
        ++kept;
      } else if (expired->contains(s.id())) {
        response.add_expired_snapshot_ids(s.id());
        doomed.emplace_back(s.id(), note);
      } else {
        ++kept;
      }
    }
  }
  response.set_kept(kept);
  if (!request.dry_run() && !doomed.empty()) RETURN_IF_ERROR(catalog->snapshots().Delete(doomed));
  return response;
}

}  // namespace cairn

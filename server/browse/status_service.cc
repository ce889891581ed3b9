#include "server/browse/status_service.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/schedule/policy_rules.h"

namespace cairn {

absl::StatusOr<std::vector<v1::AgentInfo>> StatusService::Agents() {
  ASSIGN_OR_RETURN(std::vector<v1::AgentInfo> agents, catalog_->agents().List());
  ASSIGN_OR_RETURN(PolicySnapshot policies, policies_->Current());
  int64_t now = absl::ToUnixMillis(clock_());
  for (v1::AgentInfo& a : agents) {
    AgentPresence presence = jobs_->Presence(a.name());
    a.set_online(presence.online);
    a.set_pending_files(presence.pending_files);
    a.set_pending_bytes(presence.pending_bytes);
    a.set_last_change_unix_ms(presence.last_change_unix_ms);
    a.set_watch_overflows(presence.watch_overflows);
    a.set_watcher_problem(presence.watcher_problem);
    // RPO: the tightest objective of the agent's policies, against its
    // newest snapshot (server clock).
    for (const v1::Policy& p : PoliciesForAgent(*policies.policies, a.name())) {
      a.add_policies(p.name());
      if (p.rpo_seconds() > 0 &&
          now - a.last_backup_unix_ms() > static_cast<int64_t>(p.rpo_seconds()) * 1000) {
        a.set_rpo_violated(true);
      }
    }
  }
  return agents;
}

absl::StatusOr<v1::ListAgentsResponse> StatusService::ListAgents(const Caller&) {
  ASSIGN_OR_RETURN(std::vector<v1::AgentInfo> agents, Agents());
  v1::ListAgentsResponse response;
  for (v1::AgentInfo& a : agents) *response.add_agents() = std::move(a);
  return response;
}

absl::StatusOr<std::vector<v1::TierStatus>> StatusService::Tiers() {
  // Packs and bytes come from the catalog: listing an object store to count
  // them would cost a request per thousand objects.
  ASSIGN_OR_RETURN(std::vector<TierUsage> usage, catalog_->placement().UsageByTier());
  Tier* new_packs = tiers_->ForNewPacks();
  std::vector<v1::TierStatus> out;
  for (const auto& tier : tiers_->all()) {
    v1::TierStatus t;
    t.set_name(tier->name());
    t.set_kind(tier->kind());
    for (const TierUsage& u : usage) {
      if (u.tier != tier->name()) continue;
      t.set_packs(u.packs);
      t.set_used_bytes(u.bytes);
    }
    // Free space is a local disk's question; an object store has none to report.
    if (tier->kind() == "local") {
      absl::StatusOr<TierSpace> space = tier->Space();
      if (space.ok()) t.set_free_bytes(space->free_bytes);
    }
    TierHealth health = tiers_->Health(tier->name());
    t.set_down(!health.up);
    t.set_last_error(health.last_error);
    if (!health.up) t.set_down_since_ms(absl::ToUnixMillis(health.down_since));
    t.set_failures(health.failures);
    t.set_new_packs(tier.get() == new_packs);
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<v1::ListTiersResponse> StatusService::ListTiers(const Caller&) {
  v1::ListTiersResponse response;
  ASSIGN_OR_RETURN(std::vector<v1::TierStatus> tiers, Tiers());
  for (v1::TierStatus& t : tiers) *response.add_tiers() = std::move(t);
  *response.mutable_catalog_backup() = BackupStatus();
  return response;
}

absl::StatusOr<CatalogTotals> StatusService::Totals(absl::Duration max_age) {
  absl::MutexLock lock(&totals_mu_);
  const absl::Time now = clock_();
  if (max_age <= absl::ZeroDuration() || now - totals_at_ > max_age) {
    ASSIGN_OR_RETURN(totals_, catalog_->Totals());
    totals_at_ = now;
  }
  return totals_;
}

absl::StatusOr<v1::GetStatusResponse> StatusService::GetStatus(const Caller&) {
  v1::GetStatusResponse response;
  response.set_version(CAIRN_VERSION);
  response.set_uptime_seconds(absl::ToInt64Seconds(clock_() - started_));
  ASSIGN_OR_RETURN(std::vector<v1::TierStatus> tiers, Tiers());
  for (v1::TierStatus& t : tiers) {
    if (t.down()) {
      response.add_problems(absl::StrCat("tier ", t.name(), " is down: ", t.last_error()));
    }
    *response.add_tiers() = std::move(t);
  }
  *response.mutable_catalog_backup() = BackupStatus();
  for (const std::string& p : response.catalog_backup().problems()) {
    response.add_problems(absl::StrCat("catalog backup: ", p));
  }
  ASSIGN_OR_RETURN(CatalogTotals totals, Totals(absl::ZeroDuration()));
  response.set_logical_bytes(totals.logical_bytes);
  response.set_unique_bytes(totals.unique_bytes);
  response.set_stored_bytes(totals.stored_bytes);
  response.set_chunks(totals.chunks);
  response.set_snapshots(totals.snapshots);
  if (totals.unique_bytes > 0) {
    response.set_dedup_ratio(static_cast<double>(totals.logical_bytes) / totals.unique_bytes);
  }
  if (totals.stored_bytes > 0) {
    response.set_compression_ratio(static_cast<double>(totals.unique_bytes) / totals.stored_bytes);
  }
  ASSIGN_OR_RETURN(uint64_t damaged, catalog_->chunks().DamagedCount());
  if (damaged > 0) {
    response.add_problems(
        absl::StrCat(damaged,
                     " chunk(s) were found damaged by an agent's verify; the next full backup of "
                     "their files stores them again (cairnctl backup --agent A --level full)"));
  }
  ASSIGN_OR_RETURN(std::vector<v1::AgentInfo> agents, Agents());
  for (v1::AgentInfo& a : agents) {
    if (a.rpo_violated()) {
      response.add_problems(absl::StrCat("agent ", a.name(), " is past its RPO (last backup ",
                                         a.last_backup_unix_ms() == 0 ? "never" : "too old", ")"));
    }
    if (!a.watcher_problem().empty()) {
      response.add_problems(absl::StrCat("agent ", a.name(), ": ", a.watcher_problem()));
    }
    *response.add_agents() = std::move(a);
  }
  ASSIGN_OR_RETURN(std::vector<v1::Job> running, catalog_->jobs().List("", 100, true));
  for (v1::Job& j : running) *response.add_running_jobs() = std::move(j);
  ASSIGN_OR_RETURN(std::vector<v1::Job> recent, catalog_->jobs().List("", 10, false));
  for (v1::Job& j : recent) *response.add_recent_jobs() = std::move(j);
  response.set_healthy(response.problems_size() == 0);
  return response;
}

}  // namespace cairn

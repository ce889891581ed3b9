#include "server/core/status_metrics.h"

#include <sys/stat.h>

#include <map>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/metrics/server_metrics.h"

namespace cairn {
namespace {

constexpr absl::Duration kTotalsMaxAge = absl::Minutes(1);

double Seconds(int64_t unix_ms) { return unix_ms / 1e3; }

uint64_t FileBytes(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// One family of per-agent gauges.
void AgentFamily(MetricWriter& w, const std::vector<v1::AgentInfo>& agents, const char* name,
                 const char* help, MetricType type, double (*value)(const v1::AgentInfo&)) {
  w.Family(name, help, type, {"agent", "tenant"});
  for (const v1::AgentInfo& a : agents) w.Sample({a.name(), a.tenant()}, value(a));
}

void Agents(ServerCore* core, MetricWriter& w) {
  absl::StatusOr<v1::ListAgentsResponse> listed = core->status().ListAgents(Caller::Internal());
  if (!listed.ok()) return;
  const std::vector<v1::AgentInfo> agents(listed->agents().begin(), listed->agents().end());
  uint64_t online = 0;
  for (const v1::AgentInfo& a : agents) online += a.online() ? 1 : 0;
  w.Family("cairn_agents", "Agents enrolled or seen, by whether their control stream is open.",
           MetricType::kGauge, {"state"});
  w.Sample({"online"}, static_cast<double>(online));
  w.Sample({"offline"}, static_cast<double>(agents.size() - online));
  AgentFamily(w, agents, "cairn_agent_online", "1 while the agent's control stream is open.",
              MetricType::kGauge, [](const v1::AgentInfo& a) { return a.online() ? 1.0 : 0.0; });
  AgentFamily(w, agents, "cairn_agent_last_seen_timestamp_seconds",
              "When the server last heard from the agent (Unix time).", MetricType::kGauge,
              [](const v1::AgentInfo& a) { return Seconds(a.last_seen_unix_ms()); });
  AgentFamily(w, agents, "cairn_agent_last_backup_timestamp_seconds",
              "When the agent's newest snapshot was taken (Unix time; 0: never).",
              MetricType::kGauge,
              [](const v1::AgentInfo& a) { return Seconds(a.last_backup_unix_ms()); });
  AgentFamily(w, agents, "cairn_agent_rpo_violated",
              "1 when the agent's newest snapshot is older than the tightest RPO of its policies.",
              MetricType::kGauge,
              [](const v1::AgentInfo& a) { return a.rpo_violated() ? 1.0 : 0.0; });
  AgentFamily(w, agents, "cairn_agent_pending_files",
              "Changed files the agent's watcher has not yet backed up.", MetricType::kGauge,
              [](const v1::AgentInfo& a) { return static_cast<double>(a.pending_files()); });
  AgentFamily(w, agents, "cairn_agent_pending_bytes",
              "Bytes of changed files the agent's watcher has not yet backed up.",
              MetricType::kGauge,
              [](const v1::AgentInfo& a) { return static_cast<double>(a.pending_bytes()); });
  AgentFamily(w, agents, "cairn_agent_watch_overflows_total",
              "Times the agent's change watcher overflowed and fell back to a scan (since the "
              "agent started).",
              MetricType::kCounter,
              [](const v1::AgentInfo& a) { return static_cast<double>(a.watch_overflows()); });
  AgentFamily(w, agents, "cairn_agent_watcher_problem",
              "1 when the agent reports a problem with its change watcher.", MetricType::kGauge,
              [](const v1::AgentInfo& a) { return a.watcher_problem().empty() ? 0.0 : 1.0; });
  AgentFamily(w, agents, "cairn_agent_certificate_expiry_timestamp_seconds",
              "When the agent's client certificate expires (Unix time; 0: unknown).",
              MetricType::kGauge,
              [](const v1::AgentInfo& a) { return Seconds(a.certificate_expires_unix_ms()); });
}

void Tiers(ServerCore* core, MetricWriter& w) {
  absl::StatusOr<v1::ListTiersResponse> listed = core->status().ListTiers(Caller::Internal());
  if (!listed.ok()) return;
  const auto& tiers = listed->tiers();
  w.Family("cairn_tier_up", "1 while the tier answers; 0 after a call failed as an outage would.",
           MetricType::kGauge, {"tier", "kind"});
  for (const v1::TierStatus& t : tiers) w.Sample({t.name(), t.kind()}, t.down() ? 0 : 1);
  w.Family("cairn_tier_used_bytes", "Bytes of the packs on the tier (from the catalog).",
           MetricType::kGauge, {"tier"});
  for (const v1::TierStatus& t : tiers) w.Sample({t.name()}, static_cast<double>(t.used_bytes()));
  w.Family("cairn_tier_free_bytes", "Free space where the tier is a local disk.",
           MetricType::kGauge, {"tier"});
  for (const v1::TierStatus& t : tiers) {
    if (t.kind() == "local") w.Sample({t.name()}, static_cast<double>(t.free_bytes()));
  }
  w.Family("cairn_tier_packs", "Packs on the tier.", MetricType::kGauge, {"tier"});
  for (const v1::TierStatus& t : tiers) w.Sample({t.name()}, static_cast<double>(t.packs()));
  w.Family("cairn_tier_failures_total", "Failed tier calls since the server started.",
           MetricType::kCounter, {"tier"});
  for (const v1::TierStatus& t : tiers) w.Sample({t.name()}, static_cast<double>(t.failures()));
  const v1::CatalogBackupStatus& backup = listed->catalog_backup();
  if (backup.enabled()) {
    w.Family("cairn_catalog_backup_last_timestamp_seconds",
             "When the last catalog bundle was written to a tier (Unix time; 0: not yet).",
             MetricType::kGauge);
    w.Sample({}, Seconds(backup.last_unix_ms()));
    w.Family("cairn_catalog_backup_problems",
             "Tiers the last catalog bundle could not be written to.", MetricType::kGauge);
    w.Sample({}, backup.problems_size());
  }
}

void Totals(ServerCore* core, const std::string& catalog_path, MetricWriter& w) {
  absl::StatusOr<CatalogTotals> t = core->status().Totals(kTotalsMaxAge);
  if (t.ok()) {
    const std::pair<const char*, const char*> kFamilies[] = {
        {"cairn_logical_bytes", "Sum of file sizes over all snapshots."},
        {"cairn_unique_bytes", "Plaintext bytes of the distinct chunks stored."},
        {"cairn_stored_bytes", "Sealed (compressed, encrypted) bytes of the distinct chunks."},
        {"cairn_chunks", "Distinct chunks in the catalog."},
        {"cairn_snapshots", "Snapshots in the catalog."},
        {"cairn_packs", "Packs in the catalog."}};
    const uint64_t values[] = {t->logical_bytes, t->unique_bytes, t->stored_bytes,
                               t->chunks,        t->snapshots,    t->packs};
    for (size_t i = 0; i < std::size(values); ++i) {
      w.Family(kFamilies[i].first, kFamilies[i].second, MetricType::kGauge);
      w.Sample({}, static_cast<double>(values[i]));
    }
    w.Family("cairn_dedup_ratio", "Logical bytes over unique bytes (1 when nothing is stored).",
             MetricType::kGauge);
    w.Sample({}, t->unique_bytes > 0 ? static_cast<double>(t->logical_bytes) / t->unique_bytes : 1);
    w.Family("cairn_compression_ratio",
             "Unique bytes over stored bytes (1 when nothing is stored).", MetricType::kGauge);
    w.Sample({}, t->stored_bytes > 0 ? static_cast<double>(t->unique_bytes) / t->stored_bytes : 1);
  }
  w.Family("cairn_catalog_file_bytes", "Size of the SQLite catalog with its write-ahead log.",
           MetricType::kGauge);
  w.Sample({}, static_cast<double>(FileBytes(catalog_path) + FileBytes(catalog_path + "-wal")));
}

void Jobs(ServerCore* core, MetricWriter& w) {
  absl::StatusOr<std::vector<v1::Job>> running = core->catalog().jobs().List("", 10000, true);
  if (!running.ok()) return;
  std::map<std::string, uint64_t> by_kind;
  for (v1::JobKind kind : {v1::JOB_KIND_BACKUP, v1::JOB_KIND_RESTORE, v1::JOB_KIND_VERIFY}) {
    by_kind[JobKindLabel(kind)] = 0;
  }
  for (const v1::Job& j : *running) ++by_kind[JobKindLabel(j.kind())];
  w.Family("cairn_jobs_running", "Jobs queued or running, by kind.", MetricType::kGauge, {"kind"});
  for (const auto& [kind, n] : by_kind) w.Sample({kind}, static_cast<double>(n));
  ChunkClaims::Counters claims = core->ingest().claim_counters();
  w.Family("cairn_chunk_claims_granted_total",
           "In-flight chunk claims handed to a backup (it uploads, the others wait).",
           MetricType::kCounter);
  w.Sample({}, static_cast<double>(claims.granted));
  w.Family("cairn_chunk_claims_waited_total",
           "Chunks a backup was told another backup is uploading.", MetricType::kCounter);
  w.Sample({}, static_cast<double>(claims.held));
  w.Family("cairn_chunk_claims_live", "Chunk claims held now.", MetricType::kGauge);
  w.Sample({}, static_cast<double>(claims.live));
}

}  // namespace

void AddStatusMetrics(ServerCore* core, std::string catalog_path) {
  const double started = absl::ToUnixMillis(core->status().started()) / 1e3;
  core->metrics().registry().AddCollector([core, catalog_path, started](MetricWriter& w) {
    w.Family("cairn_server_info", "Always 1; the server's version as a label.", MetricType::kGauge,
             {"version"});
    w.Sample({CAIRN_VERSION}, 1);
    w.Family("cairn_server_start_time_seconds", "When the server started (Unix time).",
             MetricType::kGauge);
    w.Sample({}, started);
    Agents(core, w);
    Tiers(core, w);
    Totals(core, catalog_path, w);
    Jobs(core, w);
  });
}

}  // namespace cairn

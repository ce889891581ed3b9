#include "bench/loadgen/load_run.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/agent_config.h"
#include "bench/data_gen.h"
#include "bench/loadgen/latency_log.h"
#include "bench/loadgen/proc_sampler.h"
#include "bench/loadgen/sim_agent.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kMaxErrors = 10;

std::string AgentName(int i) { return absl::StrFormat("load-%05d", i); }

// The own file of agent `i` for its backup number `round`.
std::string OwnData(const LoadOptions& o, int i, int round) {
  return bench::RandomBytes(o.own_bytes, o.seed * 1'000'003 + static_cast<uint64_t>(i) * 10'007 +
                                             static_cast<uint64_t>(round));
}

// Whether two files hold the same bytes.
absl::Status SameFile(const std::string& want, const std::string& got) {
  std::ifstream a(want, std::ios::binary), b(got, std::ios::binary);
  if (!a || !b) return absl::NotFoundError(absl::StrCat("cannot open ", want, " or ", got));
  std::vector<char> x(1 << 20), y(1 << 20);
  while (true) {
    a.read(x.data(), static_cast<std::streamsize>(x.size()));
    b.read(y.data(), static_cast<std::streamsize>(y.size()));
    if (a.gcount() != b.gcount() || !std::equal(x.begin(), x.begin() + a.gcount(), y.begin())) {
      return absl::DataLossError(absl::StrCat(got, " differs from ", want));
    }
    if (a.gcount() == 0) return absl::OkStatus();
  }
}

// The probe (LoadReport.probe_*): one more agent, with a running job, asks
// FindMissingChunks about 256 ids no one has every 100 ms until `stop`.
void Probe(SimAgent* probe, const LoadOptions& o, absl::Notification* stop, LatencyLog* log,
           std::string* error) {
  v1::BeginBackupRequest begin;
  begin.set_agent(probe->name());
  begin.add_roots(o.dir + "/probe");
  begin.set_level(v1::BACKUP_LEVEL_FULL);
  absl::StatusOr<v1::BeginBackupResponse> job =
      probe->connection()->Call(&v1::AgentService::Stub::BeginBackup, begin);
  if (!job.ok()) {
    *error = absl::StrCat("probe: ", job.status().ToString());
    return;
  }
  v1::FindMissingChunksRequest request;
  request.set_job_id(job->job_id());
  for (int i = 0; i < 256; ++i) {
    request.add_ids(bench::RandomBytes(32, o.seed * 31 + static_cast<uint64_t>(i)));
  }
  while (!stop->WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
    absl::Time began = absl::Now();
    absl::StatusOr<v1::FindMissingChunksResponse> answer =
        probe->connection()->Call(&v1::AgentService::Stub::FindMissingChunks, request);
    if (!answer.ok()) {
      *error = absl::StrCat("probe: ", answer.status().ToString());
      break;
    }
    log->Add(absl::Now() - began);
  }
  v1::FinishJobRequest finish;
  finish.set_job_id(job->job_id());
  finish.set_state(v1::JOB_STATE_CANCELLED);
  finish.set_error("the load run's latency probe");
  probe->connection()->Call(&v1::AgentService::Stub::FinishJob, finish).status().IgnoreError();
}

// Everything the run's threads share.
struct Run {
  const LoadOptions& o;
  std::vector<std::unique_ptr<SimAgent>> agents;
  std::vector<std::string> roots;
  std::vector<std::atomic<bool>> busy;
  LatencyLog find_missing;
  absl::Time deadline;

  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::atomic<uint64_t> committed{0};

  absl::Mutex mu;
  v1::LoadReport report ABSL_GUARDED_BY(mu);
  std::vector<std::string> first_snapshot ABSL_GUARDED_BY(mu);  // per agent
  std::vector<int> rounds ABSL_GUARDED_BY(mu);                  // backups taken, per agent

  explicit Run(const LoadOptions& options)
      : o(options), busy(static_cast<size_t>(options.agents)) {}

  void Error(const std::string& what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (static_cast<size_t>(report.errors_size()) < kMaxErrors) report.add_errors(what);
  }

  // One backup of agent `i`, its own file rewritten first.
  void Backup(int i, v1::BackupLevel level) {
    int round;
    {
      absl::MutexLock lock(&mu);
      round = rounds[static_cast<size_t>(i)]++;
      report.set_backups_started(report.backups_started() + 1);
    }
    absl::Status written =
        WriteFileAtomically(roots[static_cast<size_t>(i)] + "/own.bin", OwnData(o, i, round), 0644);
    int now = ++running;
    for (int p = peak.load(); now > p && !peak.compare_exchange_weak(p, now);) {
    }
    absl::StatusOr<BackupResult> result =
        written.ok() ? agents[static_cast<size_t>(i)]->Backup(roots[static_cast<size_t>(i)], level)
                     : absl::StatusOr<BackupResult>(written);
    --running;
    absl::MutexLock lock(&mu);
    if (!result.ok() || !result->errors.empty()) {
      report.set_backups_failed(report.backups_failed() + 1);
      Error(absl::StrCat(AgentName(i), ": ",
                         result.ok() ? absl::StrCat(result->errors.size(), " files not backed up")
                                     : result.status().ToString()));
      return;
    }
    const v1::BackupStats& s = result->snapshot.stats();
    report.set_backups_committed(report.backups_committed() + 1);
    report.set_bytes_uploaded(report.bytes_uploaded() + s.bytes_uploaded());
    report.set_chunks_waited(report.chunks_waited() + s.chunks_waited());
    report.set_bytes_unique(report.bytes_unique() + o.own_bytes);
    report.add_snapshots(result->snapshot.id());
    if (round == 0) first_snapshot[static_cast<size_t>(i)] = result->snapshot.id();
    ++committed;
  }

  // The restore in the middle of the storm: the first agent whose full
  // backup committed, checked against the shards and its round-0 file.
  void Restore(const std::string& shared_dir) {
    int who = -1;
    std::string snapshot;
    {
      absl::MutexLock lock(&mu);
      for (size_t i = 0; i < first_snapshot.size() && who < 0; ++i) {
        if (!first_snapshot[i].empty()) {
          who = static_cast<int>(i);
          snapshot = first_snapshot[i];
        }
      }
    }
    if (who < 0) {
      absl::MutexLock lock(&mu);
      report.set_restore_error("no backup committed to restore");
      return;
    }
    const std::string target = absl::StrCat(o.dir, "/restore-", AgentName(who));
    std::filesystem::remove_all(target);
    absl::Time began = absl::Now();
    absl::StatusOr<RestoreResult> restored =
        agents[static_cast<size_t>(who)]->Restore(snapshot, target);
    absl::Status checked = restored.status();
    if (checked.ok() && restored->failed > 0) {
      checked = absl::DataLossError(absl::StrCat(restored->failed, " files failed to restore"));
    }
    for (int s = 0; checked.ok() && s < o.shards; ++s) {
      checked = SameFile(absl::StrCat(shared_dir, "/shard-", s, ".bin"),
                         absl::StrCat(target, "/shards/shard-", s, ".bin"));
    }
    if (checked.ok()) {
      absl::StatusOr<std::string> own = ReadFileToString(target + "/own.bin", o.own_bytes + 1);
      if (!own.ok() || *own != OwnData(o, who, 0)) {
        checked = absl::DataLossError("the restored own.bin is not what was backed up");
      }
    }
    absl::MutexLock lock(&mu);
    report.set_restore_seconds(absl::ToDoubleSeconds(absl::Now() - began));
    report.set_restore_ok(checked.ok());
    if (!checked.ok()) report.set_restore_error(std::string(checked.message()));
    if (checked.ok()) std::filesystem::remove_all(target);
  }

  // Runs `task` on `threads` threads until it returns false.
  static void Parallel(int threads, const std::function<bool()>& task) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        while (task()) {
        }
      });
    }
    for (std::thread& t : pool) t.join();
  }
};

absl::Status MakeShards(const LoadOptions& o, const std::string& dir) {
  RETURN_IF_ERROR(MakeDirectories(dir));
  for (int s = 0; s < o.shards; ++s) {
    const std::string path = absl::StrCat(dir, "/shard-", s, ".bin");
    std::error_code error;
    if (std::filesystem::file_size(path, error) == o.shard_bytes && !error) continue;
    RETURN_IF_ERROR(WriteFileAtomically(
        path, bench::RandomBytes(o.shard_bytes, o.seed * 7919 + static_cast<uint64_t>(s)), 0644));
  }
  return absl::OkStatus();
}

// Agent `i`'s root: hard links to the shards beside its own file.
absl::Status MakeRoot(const LoadOptions& o, const std::string& shared, const std::string& root) {
  RETURN_IF_ERROR(MakeDirectories(root + "/shards"));
  for (int s = 0; s < o.shards; ++s) {
    const std::string link = absl::StrCat(root, "/shards/shard-", s, ".bin");
    std::error_code error;
    std::filesystem::remove(link, error);
    std::filesystem::create_hard_link(absl::StrCat(shared, "/shard-", s, ".bin"), link, error);
    if (error) return absl::InternalError(absl::StrCat("link ", link, ": ", error.message()));
  }
  return absl::OkStatus();
}

// The run's one tenant key, loaded as every simulated agent uses it.
absl::StatusOr<std::unique_ptr<AgentCrypto>> TenantCrypto(const LoadOptions& o,
                                                          const std::string& key_file) {
  v1::AgentConfig key_config;
  key_config.set_name("load-key");
  key_config.set_tenant(o.tenant);
  key_config.set_state_dir(o.dir + "/agents");
  key_config.set_key_file(key_file);
  ASSIGN_OR_RETURN(key_config, ResolveAgentConfig(key_config));
  return LoadAgentCrypto(key_config);
}

SimSetup SetupFor(const LoadOptions& o, const std::string& key_file, const AgentCrypto* crypto) {
  return SimSetup{.server = o.server,
                  .token = o.token,
                  .tenant = o.tenant,
                  .dir = o.dir,
                  .key_file = key_file,
                  .crypto = crypto,
                  .workers = o.workers};
}

}  // namespace

absl::StatusOr<v1::LoadReport> RunProbe(const LoadOptions& o, absl::Notification* stop) {
  const std::string key_file = o.dir + "/tenant.key";
  if (!std::filesystem::exists(key_file)) {
    return absl::FailedPreconditionError(
        absl::StrCat(key_file,
                     " is missing: start the load run (cairn-loadgen without "
                     "--probe-only) on this --dir first"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<AgentCrypto> crypto, TenantCrypto(o, key_file));
  ASSIGN_OR_RETURN(std::unique_ptr<SimAgent> probe,
                   SimAgent::Enroll(SetupFor(o, key_file, crypto.get()), "load-probe-own"));
  RETURN_IF_ERROR(probe->Connect());
  const absl::Time start = absl::Now();
  // `done` (this thread's only) ends the probe at `stop` or after the duration.
  absl::Notification done;
  std::atomic<bool> probe_ended{false};
  std::thread timer([&] {
    const absl::Time end = start + o.duration;
    while (!probe_ended.load() && absl::Now() < end &&
           !stop->WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
    }
    done.Notify();
  });
  LatencyLog latency;
  std::string error;
  Probe(probe.get(), o, &done, &latency, &error);
  probe_ended = true;
  timer.join();
  v1::LoadReport r;
  r.set_probe_calls(latency.count());
  r.set_probe_p50_ms(latency.PercentileMs(50));
  r.set_probe_p99_ms(latency.PercentileMs(99));
  r.set_probe_max_ms(latency.PercentileMs(100));
  r.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  if (!error.empty()) r.add_errors(error);
  return r;
}

absl::StatusOr<v1::LoadReport> RunLoad(const LoadOptions& o) {
  if (o.agents < 1 || o.concurrent < 1 || o.shards < 0 || o.dir.empty() || o.server.empty() ||
      o.token.empty()) {
    return absl::InvalidArgumentError(
        "a load run needs a server, a join token, a directory, and at least one agent and one "
        "concurrent backup");
  }
  auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  const absl::Time start = absl::Now();
  Run run(o);
  run.deadline = start + o.timeout;
  {
    absl::MutexLock lock(&run.mu);
    run.first_snapshot.resize(static_cast<size_t>(o.agents));
    run.rounds.resize(static_cast<size_t>(o.agents));
    run.report.set_agents(static_cast<uint32_t>(o.agents));
    run.report.set_max_concurrent(static_cast<uint32_t>(o.concurrent));
    run.report.set_bytes_unique(static_cast<uint64_t>(o.shards) * o.shard_bytes);
  }
  const std::string shared = o.dir + "/shared";
  RETURN_IF_ERROR(MakeShards(o, shared));

  // One tenant key for every agent, as a cluster's nodes share one.
  const std::string key_file = o.dir + "/tenant.key";
  if (!std::filesystem::exists(key_file)) RETURN_IF_ERROR(CreateKeyFile(key_file, ""));
  ASSIGN_OR_RETURN(std::unique_ptr<AgentCrypto> crypto, TenantCrypto(o, key_file));

  SimSetup setup = SetupFor(o, key_file, crypto.get());
  setup.observer = [&run](absl::string_view request, absl::Duration latency, bool) {
    if (request == "FindMissingChunksRequest") run.find_missing.Add(latency);
  };
  std::unique_ptr<ProcSampler> server;
  if (o.server_pid > 0) server = std::make_unique<ProcSampler>(o.server_pid);

  // 1. Enroll and connect every agent (eight at a time).
  run.agents.resize(static_cast<size_t>(o.agents));
  run.roots.resize(static_cast<size_t>(o.agents));
  std::atomic<int> next{0};
  absl::Mutex setup_mu;
  absl::Status setup_error;
  Run::Parallel(std::min(8, o.agents), [&]() -> bool {
    const int i = next++;
    if (i >= o.agents) return false;
    const std::string name = AgentName(i);
    run.roots[static_cast<size_t>(i)] = absl::StrCat(o.dir, "/agents/", name, "/data");
    absl::Status status = MakeRoot(o, shared, run.roots[static_cast<size_t>(i)]);
    if (status.ok()) {
      absl::StatusOr<std::unique_ptr<SimAgent>> agent = SimAgent::Enroll(setup, name);
      status = agent.status();
      if (status.ok()) status = (*agent)->Connect();
      if (status.ok()) run.agents[static_cast<size_t>(i)] = *std::move(agent);
    }
    if (!status.ok()) {
      absl::MutexLock lock(&setup_mu);
      if (setup_error.ok()) setup_error = status;
      return false;
    }
    if ((i + 1) % 100 == 0) log(absl::StrCat("enrolled and connected ", i + 1, " agents"));
    return true;
  });
  RETURN_IF_ERROR(setup_error);
  log(absl::StrFormat("%d agents connected in %.1fs", o.agents,
                      absl::ToDoubleSeconds(absl::Now() - start)));
  SimSetup probe_setup = setup;
  probe_setup.observer = nullptr;
  ASSIGN_OR_RETURN(std::unique_ptr<SimAgent> probe, SimAgent::Enroll(probe_setup, "load-probe"));
  RETURN_IF_ERROR(probe->Connect());
  LatencyLog probe_latency;
  std::string probe_error;
  absl::Notification stop_probe;
  std::thread prober([&] { Probe(probe.get(), o, &stop_probe, &probe_latency, &probe_error); });

  // Heartbeats every 5 s, and progress.
  absl::Notification stop_beats;
  std::thread beats([&] {
    while (!stop_beats.WaitForNotificationWithTimeout(absl::Seconds(5))) {
      for (const std::unique_ptr<SimAgent>& agent : run.agents) agent->Heartbeat();
      log(absl::StrFormat("%.0fs: %d backups committed, %d running",
                          absl::ToDoubleSeconds(absl::Now() - start), run.committed.load(),
                          run.running.load()));
    }
  });

  // 2. The storm: every agent's full backup, shuffled, `concurrent` at once;
  // the restore starts when half have committed.
  std::vector<int> order(static_cast<size_t>(o.agents));
  for (int i = 0; i < o.agents; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 random(o.seed);
  std::shuffle(order.begin(), order.end(), random);
  const absl::Time storm_start = absl::Now();
  std::thread restorer;
  if (o.restore) {
    restorer = std::thread([&] {
      const uint64_t half = static_cast<uint64_t>(std::max(1, o.agents / 2));
      while (run.committed.load() < half && absl::Now() < run.deadline) {
        absl::SleepFor(absl::Milliseconds(50));
      }
      run.Restore(shared);
    });
  }
  next = 0;
  Run::Parallel(std::min(o.concurrent, o.agents), [&]() -> bool {
    const int k = next++;
    if (k >= o.agents || absl::Now() > run.deadline) return false;
    run.Backup(order[static_cast<size_t>(k)], v1::BACKUP_LEVEL_FULL);
    return true;
  });
  const double storm_seconds = absl::ToDoubleSeconds(absl::Now() - storm_start);
  log(absl::StrFormat("storm: %d full backups in %.1fs", o.agents, storm_seconds));

  // 3. Incrementals of random idle agents until the duration is over.
  const absl::Time steady_end = std::min(start + o.duration, run.deadline);
  std::atomic<uint64_t> pick{o.seed};
  Run::Parallel(std::min(o.concurrent, o.agents), [&]() -> bool {
    if (absl::Now() >= steady_end) return false;
    std::mt19937_64 r(pick++);
    const int i = static_cast<int>(r() % static_cast<uint64_t>(o.agents));
    bool idle = false;
    if (!run.busy[static_cast<size_t>(i)].compare_exchange_strong(idle, true)) {
      absl::SleepFor(absl::Milliseconds(10));  // another worker has it
      return true;
    }
    run.Backup(i, v1::BACKUP_LEVEL_INCREMENTAL);
    run.busy[static_cast<size_t>(i)] = false;
    absl::SleepFor(absl::Milliseconds(static_cast<int64_t>(r() % 500)));
    return true;
  });
  if (restorer.joinable()) restorer.join();

  stop_probe.Notify();
  prober.join();
  uint32_t connected = 0;
  for (const std::unique_ptr<SimAgent>& agent : run.agents) connected += agent->connected();
  stop_beats.Notify();
  beats.join();
  run.agents.clear();  // closes the control streams

  absl::MutexLock lock(&run.mu);
  v1::LoadReport& r = run.report;
  if (r.backups_committed() < static_cast<uint64_t>(o.agents) && r.backups_failed() == 0) {
    run.Error(absl::StrCat("timed out: ", o.agents - static_cast<int>(r.backups_committed()),
                           " agents never backed up"));
  }
  r.set_agents_connected(connected);
  r.set_peak_concurrent(static_cast<uint32_t>(run.peak.load()));
  r.set_upload_ratio(r.bytes_unique() > 0 ? static_cast<double>(r.bytes_uploaded()) /
                                                static_cast<double>(r.bytes_unique())
                                          : 0);
  r.set_find_missing_calls(run.find_missing.count());
  r.set_find_missing_p50_ms(run.find_missing.PercentileMs(50));
  r.set_find_missing_p99_ms(run.find_missing.PercentileMs(99));
  r.set_find_missing_max_ms(run.find_missing.PercentileMs(100));
  r.set_probe_calls(probe_latency.count());
  r.set_probe_p50_ms(probe_latency.PercentileMs(50));
  r.set_probe_p99_ms(probe_latency.PercentileMs(99));
  r.set_probe_max_ms(probe_latency.PercentileMs(100));
  if (!probe_error.empty()) run.Error(probe_error);
  r.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  r.set_storm_seconds(storm_seconds);
  if (server != nullptr) {
    ProcSampler::Sample s = server->Stop();
    r.set_server_peak_rss_bytes(std::max(s.rss_bytes, s.peak_rss_bytes));
    r.set_server_peak_threads(s.threads);
    r.set_server_cpu_seconds(s.cpu_seconds);
    if (r.bytes_uploaded() > 0) {
      r.set_server_cpu_seconds_per_gib(s.cpu_seconds * static_cast<double>(1ull << 30) /
                                       static_cast<double>(r.bytes_uploaded()));
    }
  }
  std::optional<ProcSampler::Sample> self = ProcSampler::Read(getpid());
  if (self.has_value()) r.set_loadgen_peak_rss_bytes(self->peak_rss_bytes);
  return r;
}

}  // namespace cairn

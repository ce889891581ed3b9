// cairn-loadgen: many simulated agents in one process against a running
// cairn-server (load_run.h says what a run does; docs/scale.md has figures).
//
//   cairnctl token create --tenant load --agents 'load-*' --uses 1001 > token
//   cairn-loadgen --server 127.0.0.1:7420 --token-file token --dir /tmp/load
//       --agents 1000 --concurrent 50 --duration 120 --server-pid $(pidof cairn-server)
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "bench/loadgen/load_run.h"
#include "common/file_util.h"
#include "common/flag_names.h"
#include "common/json_output.h"

ABSL_FLAG(std::string, server, "127.0.0.1:7420", "the cairn-server to load (host:port)");
ABSL_FLAG(std::string, token, "",
          "a join token for --tenant admitting agents named load-* (--agents + 1 uses: one probe)");
ABSL_FLAG(std::string, token_file, "", "read the join token from this file instead");
ABSL_FLAG(std::string, tenant, "load", "the tenant the token is for");
ABSL_FLAG(std::string, dir, "", "work directory: generated data, agents' state, restores");
ABSL_FLAG(int32_t, agents, 100, "simulated agents, each with its own TLS connection");
ABSL_FLAG(int32_t, concurrent, 50, "backups running at once at most");
ABSL_FLAG(int64_t, duration, 30,
          "seconds: after the storm of full backups, incrementals "
          "until this long since the start");
ABSL_FLAG(int64_t, timeout, 1800, "seconds: no backup starts after this");
ABSL_FLAG(int32_t, shards, 4, "dataset shards every agent holds");
ABSL_FLAG(int64_t, shard_mib, 16, "size of each shard in MiB");
ABSL_FLAG(int64_t, own_kib, 256, "each agent's own file, rewritten before each backup, in KiB");
ABSL_FLAG(int32_t, workers, 1, "seal workers per backup");
ABSL_FLAG(int64_t, server_pid, 0, "the server's pid: report its peak memory, threads and CPU");
ABSL_FLAG(uint64_t, seed, 1, "seed of the generated data and the schedule");
ABSL_FLAG(bool, restore, true, "restore one agent's snapshot halfway through the storm");
ABSL_FLAG(bool, json, false, "print the report as JSON (cairn.v1.LoadReport)");
ABSL_FLAG(bool, probe_only, false,
          "only the latency probe, from this process, beside a load run started on the same "
          "--dir: until SIGTERM/SIGINT or --duration (bench/load.sh runs one)");

namespace {

constexpr char kUsage[] =
    "cairn-loadgen: simulated agents (real TLS clients, real backups of generated data) against "
    "a running cairn-server.\n\n"
    "  cairn-loadgen --server HOST:PORT --token-file FILE --dir DIR [--agents N] "
    "[--concurrent N] [--duration S] [--server-pid PID] [--json]\n\n"
    "Every agent enrolls with the join token (cairnctl token create --tenant load --agents "
    "'load-*' --uses N+1), holds its control stream, and takes a full backup of the same shards "
    "plus a file of its own, at most --concurrent at once; one restore runs in the middle. Then "
    "incrementals until --duration. Exit status 1 when a backup failed or the restore did not "
    "match.\n\n"
    "  cairn-loadgen --probe-only --server HOST:PORT --token-file FILE --dir DIR [--duration S]\n\n"
    "runs only the FindMissingChunks probe, as agent load-probe-own, in a process of its own "
    "beside a load run on the same --dir (it shares its tenant key; the token needs one more "
    "use), until SIGTERM or SIGINT: the latency one agent sees without the simulated agents' "
    "CPU load in its own process.";

std::string Mib(uint64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

void PrintReport(const cairn::v1::LoadReport& r) {
  std::cout << absl::StrFormat(
      "agents: %d enrolled, %d connected at the end\n"
      "backups: %d started, %d committed, %d failed (at most %d at once, %d seen)\n"
      "storm of full backups: %.1fs; whole run %.1fs\n"
      "uploaded %s for %s unique: %.3fx (%d chunks waited for another agent's upload)\n"
      "FindMissingChunks: %d calls, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n"
      "FindMissingChunks probe: %d calls, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n"
      "restore in the storm: %s (%.1fs)%s\n",
      r.agents(), r.agents_connected(), r.backups_started(), r.backups_committed(),
      r.backups_failed(), r.max_concurrent(), r.peak_concurrent(), r.storm_seconds(), r.seconds(),
      Mib(r.bytes_uploaded()), Mib(r.bytes_unique()), r.upload_ratio(), r.chunks_waited(),
      r.find_missing_calls(), r.find_missing_p50_ms(), r.find_missing_p99_ms(),
      r.find_missing_max_ms(), r.probe_calls(), r.probe_p50_ms(), r.probe_p99_ms(),
      r.probe_max_ms(), r.restore_ok() ? "byte-identical" : "FAILED", r.restore_seconds(),
      r.restore_error().empty() ? "" : ": " + r.restore_error());
  if (r.server_peak_rss_bytes() > 0) {
    std::cout << absl::StrFormat(
        "server: peak RSS %s, peak %d threads, %.1f CPU-s (%.2f CPU-s per GiB uploaded)\n",
        Mib(r.server_peak_rss_bytes()), r.server_peak_threads(), r.server_cpu_seconds(),
        r.server_cpu_seconds_per_gib());
  }
  std::cout << "loadgen: peak RSS " << Mib(r.loadgen_peak_rss_bytes()) << "\n";
  for (const std::string& e : r.errors()) std::cout << "  error: " << e << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> flag_storage = cairn::NormalizeFlagNames(argc, argv);
  if (cairn::PrintHelpIfAsked(argc, argv, kUsage, "loadgen/main.cc", false)) return 0;
  absl::SetProgramUsageMessage(kUsage);
  absl::ParseCommandLine(argc, argv);
  cairn::LoadOptions o;
  o.server = absl::GetFlag(FLAGS_server);
  o.token = absl::GetFlag(FLAGS_token);
  if (!absl::GetFlag(FLAGS_token_file).empty()) {
    absl::StatusOr<std::string> token =
        cairn::ReadFileToString(absl::GetFlag(FLAGS_token_file), 64 << 10);
    if (!token.ok()) {
      std::cerr << "cairn-loadgen: " << token.status().message() << "\n";
      return 2;
    }
    o.token = std::string(absl::StripAsciiWhitespace(*token));
  }
  o.tenant = absl::GetFlag(FLAGS_tenant);
  o.dir = absl::GetFlag(FLAGS_dir);
  o.agents = absl::GetFlag(FLAGS_agents);
  o.concurrent = absl::GetFlag(FLAGS_concurrent);
  o.duration = absl::Seconds(absl::GetFlag(FLAGS_duration));
  o.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout));
  o.shards = absl::GetFlag(FLAGS_shards);
  o.shard_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_shard_mib)) << 20;
  o.own_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_own_kib)) << 10;
  o.workers = absl::GetFlag(FLAGS_workers);
  o.server_pid = static_cast<pid_t>(absl::GetFlag(FLAGS_server_pid));
  o.seed = absl::GetFlag(FLAGS_seed);
  o.restore = absl::GetFlag(FLAGS_restore);
  o.log = [](absl::string_view line) { std::cerr << "cairn-loadgen: " << line << std::endl; };
  if (o.token.empty() || o.dir.empty()) {
    std::cerr << "cairn-loadgen: --token (or --token-file) and --dir are required (--help)\n";
    return 2;
  }
  absl::StatusOr<cairn::v1::LoadReport> report;
  if (absl::GetFlag(FLAGS_probe_only)) {
    // SIGTERM and SIGINT end the probe: blocked in every thread, taken by one.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    absl::Notification stop;
    std::atomic<bool> finished{false};
    std::thread waiter([&] {
      int signal = 0;
      sigwait(&signals, &signal);
      if (!finished.exchange(true)) stop.Notify();
    });
    report = cairn::RunProbe(o, &stop);
    if (!finished.exchange(true)) pthread_kill(waiter.native_handle(), SIGTERM);  // ends sigwait
    waiter.join();
  } else {
    report = cairn::RunLoad(o);
  }
  if (!report.ok()) {
    std::cerr << "cairn-loadgen: " << report.status().message() << "\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_json)) {
    absl::Status printed = cairn::PrintJson(*report, std::cout);
    if (!printed.ok()) {
      std::cerr << "cairn-loadgen: " << printed.message() << "\n";
      return 1;
    }
  } else {
    PrintReport(*report);
  }
  const bool ok = absl::GetFlag(FLAGS_probe_only)
                      ? report->errors().empty()
                      : report->backups_failed() == 0 && report->errors().empty() &&
                            (!o.restore || report->restore_ok());
  return ok ? 0 : 1;
}

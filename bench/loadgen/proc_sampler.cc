#include "bench/loadgen/proc_sampler.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cairn {

std::optional<ProcSampler::Sample> ProcSampler::Read(pid_t pid) {
  const std::string dir = absl::StrCat("/proc/", pid);
  std::ifstream status(dir + "/status");
  std::ifstream stat(dir + "/stat");
  if (!status || !stat) return std::nullopt;
  Sample s;
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    uint64_t value = 0;
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripAsciiWhitespace(absl::StripSuffix(absl::StripAsciiWhitespace(rest), "kB"));
      if (absl::SimpleAtoi(rest, &value)) s.rss_bytes = value * 1024;
    } else if (absl::ConsumePrefix(&rest, "VmHWM:")) {
      rest = absl::StripAsciiWhitespace(absl::StripSuffix(absl::StripAsciiWhitespace(rest), "kB"));
      if (absl::SimpleAtoi(rest, &value)) s.peak_rss_bytes = value * 1024;
    } else if (absl::ConsumePrefix(&rest, "Threads:")) {
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &value)) {
        s.threads = static_cast<uint32_t>(value);
      }
    }
  }
  // utime and stime are fields 14 and 15; the name (field 2) may hold
  // spaces, so count from the last ')'.
  std::stringstream all;
  all << stat.rdbuf();
  const std::string text = all.str();
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string> fields =
      absl::StrSplit(absl::string_view(text).substr(close + 2), ' ', absl::SkipEmpty());
  uint64_t utime = 0, stime = 0;
  // fields[0] is field 3 (state): utime is fields[11], stime fields[12].
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return std::nullopt;
  }
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return s;
}

ProcSampler::ProcSampler(pid_t pid, absl::Duration every) : pid_(pid) {
  {
    absl::MutexLock lock(&mu_);
    Take();
  }
  thread_ = std::thread([this, every] {
    while (!stop_.WaitForNotificationWithTimeout(every)) {
      absl::MutexLock lock(&mu_);
      Take();
    }
  });
}

ProcSampler::~ProcSampler() { Stop(); }

void ProcSampler::Take() {
  std::optional<Sample> now = Read(pid_);
  if (!now.has_value()) return;
  peak_.rss_bytes = std::max(peak_.rss_bytes, now->rss_bytes);
  peak_.peak_rss_bytes = std::max(peak_.peak_rss_bytes, now->peak_rss_bytes);
  peak_.threads = std::max(peak_.threads, now->threads);
  if (!first_cpu_.has_value()) first_cpu_ = now->cpu_seconds;
  last_cpu_ = now->cpu_seconds;
}

ProcSampler::Sample ProcSampler::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  Take();
  Sample out = peak_;
  out.cpu_seconds = first_cpu_.has_value() ? last_cpu_ - *first_cpu_ : 0;
  return out;
}

}  // namespace cairn

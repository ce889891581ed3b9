// Prometheus metrics: counters, gauges and histograms kept in memory, and
// the text exposition format (version 0.0.4) a scrape reads. A registry
// holds families of one name each; a family holds one series per set of
// label values, made on first use and kept (labels must come from bounded
// sets: methods, job kinds, results, tiers, agents; never file paths).
// Collectors add what is cheaper to read at scrape time than to keep up to
// date (agents, tiers, catalog totals).
//
//   MetricsRegistry registry;
//   CounterFamily* calls = registry.AddCounter("cairn_rpc_calls_total", "RPCs handled.",
//                                              {"method", "code"});
//   calls->With({"/cairn.v1.AgentService/Hello", "OK"})->Add(1);
//   registry.AddCollector([](MetricWriter& w) {
//     w.Family("cairn_agents", "Agents known.", MetricType::kGauge);
//     w.Sample({}, 12);
//   });
//   std::string text = registry.Render();
#ifndef CAIRN_COMMON_METRICS_METRICS_H_
#define CAIRN_COMMON_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cairn {

enum class MetricType { kCounter, kGauge, kHistogram };

// One label set: values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

class Counter final {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge final {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets with fixed upper bounds (the +Inf bucket is implied).
class Histogram final {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Counts per bound (not cumulative), the +Inf bucket last.
  std::vector<uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Bounds for request latencies in seconds: 0.5 ms to 60 s.
const std::vector<double>& LatencyBuckets();

// Writes the exposition text. Collectors call Family() and then Sample()
// for each series of that family; names and label names are checked by the
// registry's callers (the names are constants in code), label values are
// escaped here.
class MetricWriter final {
 public:
  explicit MetricWriter(std::string* out) : out_(out) {}
  // Starts a family. `label_names` applies to its samples.
  void Family(absl::string_view name, absl::string_view help, MetricType type,
              std::vector<std::string> label_names = {});
  void Sample(const LabelValues& values, double value);
  void HistogramSample(const LabelValues& values, const Histogram& histogram);

 private:
  void Line(absl::string_view suffix, const LabelValues& values, absl::string_view extra_name,
            absl::string_view extra_value, double value);

  std::string* out_;
  std::string name_;
  std::vector<std::string> label_names_;
};

// A metric with labels: one series per label set. With() returns a pointer
// that stays valid as long as the family (the registry) lives.
template <typename Metric>
class MetricFamily final {
 public:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names,
               std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  // `values` must have one value per label name.
  Metric* With(const LabelValues& values) {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<Metric>& m = series_[values];
    if (m == nullptr) m = make_();
    return m.get();
  }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls `fn(values, metric)` for every series, in no particular order.
  void ForEach(const std::function<void(const LabelValues&, const Metric&)>& fn) {
    absl::MutexLock lock(&mu_);
    for (const auto& [values, metric] : series_) fn(values, *metric);
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Metric>()> make_;
  absl::Mutex mu_;
  absl::node_hash_map<LabelValues, std::unique_ptr<Metric>> series_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

class MetricsRegistry final {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Names follow the Prometheus conventions: snake_case with a unit suffix,
  // counters ending in _total. The family lives as long as the registry.
  CounterFamily* AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily* AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  HistogramFamily* AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names, std::vector<double> bounds);
  // Called on every Render, after the families, in the order added.
  void AddCollector(std::function<void(MetricWriter&)> collector);

  // The whole exposition text.
  std::string Render();

 private:
  absl::Mutex mu_;
  std::vector<std::unique_ptr<CounterFamily>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<GaugeFamily>> gauges_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<HistogramFamily>> histograms_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<std::vector<double>>> bounds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(MetricWriter&)>> collectors_ ABSL_GUARDED_BY(mu_);
};

// A label value or help text as the exposition format wants it: backslash,
// double quote (label values only) and newline escaped.
std::string EscapeLabelValue(absl::string_view v);
std::string EscapeHelp(absl::string_view v);
// A sample value: integers without a fraction, NaN and infinities by name.
std::string FormatMetricValue(double v);

}  // namespace cairn

#endif  // CAIRN_COMMON_METRICS_METRICS_H_

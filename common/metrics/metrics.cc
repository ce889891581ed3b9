#include "common/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cairn {
namespace {

void AtomicAdd(std::atomic<double>& a, double d) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
  }
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Series in a stable order: by label values.
template <typename Metric>
std::vector<std::pair<LabelValues, const Metric*>> Sorted(MetricFamily<Metric>& family) {
  std::vector<std::pair<LabelValues, const Metric*>> out;
  family.ForEach([&out](const LabelValues& v, const Metric& m) { out.emplace_back(v, &m); });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_->size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

const std::vector<double>& LatencyBuckets() {
  static const auto* b = new std::vector<double>{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *b;
}

namespace {

// Backslash and newline escaped; a double quote too when `quote`.
std::string Escape(absl::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || (quote && c == '"')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(absl::string_view v) { return Escape(v, true); }
std::string EscapeHelp(absl::string_view v) { return Escape(v, false); }

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrFormat("%.0f", v);
  // The shortest of 15 and 17 significant digits that reads back exactly.
  std::string s = absl::StrFormat("%.15g", v);
  if (std::strtod(s.c_str(), nullptr) != v) s = absl::StrFormat("%.17g", v);
  return s;
}

void MetricWriter::Family(absl::string_view name, absl::string_view help, MetricType type,
                          std::vector<std::string> label_names) {
  name_ = std::string(name);
  label_names_ = std::move(label_names);
  absl::StrAppend(out_, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ",
                  TypeName(type), "\n");
}

void MetricWriter::Line(absl::string_view suffix, const LabelValues& values,
                        absl::string_view extra_name, absl::string_view extra_value, double value) {
  absl::StrAppend(out_, name_, suffix);
  const size_t n = std::min(values.size(), label_names_.size());
  if (n > 0 || !extra_name.empty()) {
    out_->push_back('{');
    for (size_t i = 0; i < n; ++i) {
      absl::StrAppend(out_, i > 0 ? "," : "", label_names_[i], "=\"", EscapeLabelValue(values[i]),
                      "\"");
    }
    if (!extra_name.empty()) {
      absl::StrAppend(out_, n > 0 ? "," : "", extra_name, "=\"", extra_value, "\"");
    }
    out_->push_back('}');
  }
  absl::StrAppend(out_, " ", FormatMetricValue(value), "\n");
}

void MetricWriter::Sample(const LabelValues& values, double value) {
  Line("", values, "", "", value);
}

void MetricWriter::HistogramSample(const LabelValues& values, const Histogram& histogram) {
  std::vector<uint64_t> counts = histogram.counts();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < histogram.bounds().size(); ++i) {
    cumulative += counts[i];
    Line("_bucket", values, "le", FormatMetricValue(histogram.bounds()[i]),
         static_cast<double>(cumulative));
  }
  cumulative += counts.back();
  Line("_bucket", values, "le", "+Inf", static_cast<double>(cumulative));
  Line("_sum", values, "", "", histogram.sum());
  Line("_count", values, "", "", static_cast<double>(cumulative));
}

CounterFamily* MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  counters_.push_back(std::make_unique<CounterFamily>(std::move(name), std::move(help),
                                                      std::move(label_names),
                                                      [] { return std::make_unique<Counter>(); }));
  return counters_.back().get();
}

GaugeFamily* MetricsRegistry::AddGauge(std::string name, std::string help,
                                       std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  gauges_.push_back(std::make_unique<GaugeFamily>(std::move(name), std::move(help),
                                                  std::move(label_names),
                                                  [] { return std::make_unique<Gauge>(); }));
  return gauges_.back().get();
}

HistogramFamily* MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  std::sort(bounds.begin(), bounds.end());
  bounds_.push_back(std::make_unique<std::vector<double>>(std::move(bounds)));
  const std::vector<double>* b = bounds_.back().get();
  histograms_.push_back(
      std::make_unique<HistogramFamily>(std::move(name), std::move(help), std::move(label_names),
                                        [b] { return std::make_unique<Histogram>(b); }));
  return histograms_.back().get();
}

void MetricsRegistry::AddCollector(std::function<void(MetricWriter&)> collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() {
  std::vector<CounterFamily*> counters;
  std::vector<GaugeFamily*> gauges;
  std::vector<HistogramFamily*> histograms;
  std::vector<std::function<void(MetricWriter&)>> collectors;
  {
    absl::MutexLock lock(&mu_);
    for (auto& f : counters_) counters.push_back(f.get());
    for (auto& f : gauges_) gauges.push_back(f.get());
    for (auto& f : histograms_) histograms.push_back(f.get());
    collectors = collectors_;
  }
  std::string out;
  MetricWriter w(&out);
  for (CounterFamily* f : counters) {
    w.Family(f->name(), f->help(), MetricType::kCounter, f->label_names());
    for (const auto& [values, c] : Sorted(*f)) w.Sample(values, static_cast<double>(c->value()));
  }
  for (GaugeFamily* f : gauges) {
    w.Family(f->name(), f->help(), MetricType::kGauge, f->label_names());
    for (const auto& [values, g] : Sorted(*f)) w.Sample(values, g->value());
  }
  for (HistogramFamily* f : histograms) {
    w.Family(f->name(), f->help(), MetricType::kHistogram, f->label_names());
    for (const auto& [values, h] : Sorted(*f)) w.HistogramSample(values, *h);
  }
  for (const auto& collect : collectors) collect(w);
  return out;
}

}  // namespace cairn

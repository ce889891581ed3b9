// The metrics registry and its text format: families with HELP and TYPE,
// series in a stable order, label values escaped, cumulative histogram
// buckets with +Inf, _sum and _count, collectors after the families.
#include "common/metrics/metrics.h"

#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersRenderWithHelpTypeAndSortedSeries) {
  MetricsRegistry registry;
  CounterFamily* calls = registry.AddCounter("cairn_test_calls_total", "Calls.\nTwo lines \\ here.",
                                             {"method", "code"});
  calls->With({"b", "OK"})->Add(2);
  calls->With({"a", "OK"})->Add();
  calls->With({"a", "OK"})->Add(4);
  EXPECT_EQ(registry.Render(),
            "# HELP cairn_test_calls_total Calls.\\nTwo lines \\\\ here.\n"
            "# TYPE cairn_test_calls_total counter\n"
            "cairn_test_calls_total{method=\"a\",code=\"OK\"} 5\n"
            "cairn_test_calls_total{method=\"b\",code=\"OK\"} 2\n");
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.AddGauge("cairn_test_gauge", "G.", {"agent"})->With({"a\"b\\c\nd"})->Set(1.5);
  EXPECT_THAT(registry.Render(), HasSubstr("cairn_test_gauge{agent=\"a\\\"b\\\\c\\nd\"} 1.5\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  Histogram* h = registry.AddHistogram("cairn_test_seconds", "H.", {"m"}, {1, 0.1})->With({"x"});
  h->Observe(0.05);
  h->Observe(0.1);  // on the bound: in the 0.1 bucket
  h->Observe(0.5);
  h->Observe(7);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE cairn_test_seconds histogram\n"
                              "cairn_test_seconds_bucket{m=\"x\",le=\"0.1\"} 2\n"
                              "cairn_test_seconds_bucket{m=\"x\",le=\"1\"} 3\n"
                              "cairn_test_seconds_bucket{m=\"x\",le=\"+Inf\"} 4\n"
                              "cairn_test_seconds_sum{m=\"x\"} 7.65\n"
                              "cairn_test_seconds_count{m=\"x\"} 4\n"));
}

TEST(MetricsTest, CollectorsWriteAfterTheFamilies) {
  MetricsRegistry registry;
  registry.AddCounter("cairn_a_total", "A.")->With({})->Add(3);
  registry.AddCollector([](MetricWriter& w) {
    w.Family("cairn_b", "B.", MetricType::kGauge, {"tier"});
    w.Sample({"hot"}, 12);
    w.Sample({"cold"}, std::numeric_limits<double>::quiet_NaN());
  });
  EXPECT_EQ(registry.Render(),
            "# HELP cairn_a_total A.\n# TYPE cairn_a_total counter\ncairn_a_total 3\n"
            "# HELP cairn_b B.\n# TYPE cairn_b gauge\ncairn_b{tier=\"hot\"} 12\n"
            "cairn_b{tier=\"cold\"} NaN\n");
}

TEST(MetricsTest, ValuesFormat) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1e12), "1000000000000");
  EXPECT_EQ(FormatMetricValue(-2), "-2");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  CounterFamily* c = registry.AddCounter("cairn_c_total", "C.", {"t"});
  Gauge* g = registry.AddGauge("cairn_g", "G.")->With({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->With({"x"})->Add();
        g->Add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c->With({"x"})->value(), 40000u);
  EXPECT_EQ(g->value(), 40000);
}

}  // namespace
}  // namespace cairn

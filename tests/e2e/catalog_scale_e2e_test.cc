// cairn-catalog-scale (docs/scale.md) at a small size, as `make bench` runs
// it at millions of chunks: the synthetic catalog grows in two steps, every
// FindMissing answer is checked by the tool, the dry-run collection must
// find nothing to delete, and the figures it reports are there and sane.
// Bad arguments are refused with a clear message.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/json_util.h"
#include "tests/e2e/process_util.h"

namespace cairn::e2e {
namespace {

TEST(CatalogScaleE2eTest, GrowsChecksAndReportsEachStep) {
  const std::string dir = NewTestDir("catalog-scale");
  CommandResult run =
      RunCommand({CAIRN_CATALOG_SCALE_BIN, "--dir", dir + "/run", "--steps", "3000,8192",
                  "--chunks-per-pack", "256", "--probes", "40", "--json"},
                 absl::Minutes(5));
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ASSERT_TRUE(IsValidJson(run.out)) << run.out;
  // 3000 rounds up to whole packs of 256: 12 packs.
  EXPECT_EQ(JsonInts(run.out, "chunks"), (std::vector<int64_t>{3072, 8192})) << run.out;
  EXPECT_EQ(JsonInts(run.out, "packs"), (std::vector<int64_t>{12, 32})) << run.out;
  // One directory tree per pack, one root tree and one snapshot per step.
  EXPECT_EQ(JsonInts(run.out, "trees"), (std::vector<int64_t>{13, 34})) << run.out;
  EXPECT_EQ(JsonInts(run.out, "snapshots"), (std::vector<int64_t>{1, 2})) << run.out;
  EXPECT_EQ(JsonInts(run.out, "find_missing_calls"), (std::vector<int64_t>{40, 40}));
  std::vector<double> gc = JsonDoubles(run.out, "gc_seconds");
  std::vector<double> bytes = JsonDoubles(run.out, "bytes_per_chunk");
  std::vector<double> index = JsonDoubles(run.out, "index_bytes_per_chunk");
  std::vector<double> p99 = JsonDoubles(run.out, "find_missing_p99_ms");
  ASSERT_EQ(gc.size(), 2u) << run.out;
  ASSERT_EQ(bytes.size(), 2u) << run.out;
  ASSERT_EQ(index.size(), 2u) << run.out;
  ASSERT_EQ(p99.size(), 2u) << run.out;
  for (int i = 0; i < 2; ++i) {
    EXPECT_GT(gc[i], 0) << run.out;
    EXPECT_GT(p99[i], 0) << run.out;
    // A chunk row holds a 32-byte id and its location; its tree entry a
    // 32-byte id too. Far below a kilobyte, and the index is a part of it.
    EXPECT_GT(index[i], 32) << run.out;
    EXPECT_LT(index[i], bytes[i]) << run.out;
    EXPECT_LT(bytes[i], 1024) << run.out;
  }

  // The catalog exists now: a second run into the same directory is refused.
  CommandResult again =
      RunCommand({CAIRN_CATALOG_SCALE_BIN, "--dir", dir + "/run", "--steps", "256"});
  EXPECT_EQ(again.exit_code, 1) << again.Describe();
  EXPECT_TRUE(absl::StrContains(again.err, "give an empty --dir")) << again.Describe();
}

// --timed-rows: each step bulk-loaded to 512 rows short of its size, the
// last 512 recorded the server's way and timed. The catalog comes out the
// same: the same packs, trees and snapshots, the tool's own checks pass on
// the bulk rows (FindMissing answers, a dry run that finds nothing to
// delete), and its bytes per chunk match the all-timed run's.
TEST(CatalogScaleE2eTest, ABulkLoadedCatalogIsTheSameCatalog) {
  const std::string dir = NewTestDir("catalog-scale-bulk");
  auto run_with = [&](const std::string& name, const std::string& timed) {
    return RunCommand(
        {CAIRN_CATALOG_SCALE_BIN, "--dir", dir + "/" + name, "--steps", "3000,8192",
         "--chunks-per-pack", "256", "--probes", "40", "--timed-rows", timed, "--json"},
        absl::Minutes(5));
  };
  CommandResult bulk = run_with("bulk", "512");
  ASSERT_EQ(bulk.exit_code, 0) << bulk.Describe();
  ASSERT_TRUE(IsValidJson(bulk.out)) << bulk.out;
  EXPECT_EQ(JsonInts(bulk.out, "chunks"), (std::vector<int64_t>{3072, 8192})) << bulk.out;
  EXPECT_EQ(JsonInts(bulk.out, "packs"), (std::vector<int64_t>{12, 32})) << bulk.out;
  EXPECT_EQ(JsonInts(bulk.out, "trees"), (std::vector<int64_t>{13, 34})) << bulk.out;
  EXPECT_EQ(JsonInts(bulk.out, "snapshots"), (std::vector<int64_t>{1, 2})) << bulk.out;
  EXPECT_EQ(JsonInts(bulk.out, "timed_chunks"), (std::vector<int64_t>{512, 512})) << bulk.out;
  std::vector<double> loaded = JsonDoubles(bulk.out, "bulk_seconds");
  ASSERT_EQ(loaded.size(), 2u) << bulk.out;
  for (double seconds : loaded) EXPECT_GT(seconds, 0) << bulk.out;

  CommandResult timed = run_with("timed", "0");
  ASSERT_EQ(timed.exit_code, 0) << timed.Describe();
  std::vector<double> bulk_bytes = JsonDoubles(bulk.out, "bytes_per_chunk");
  std::vector<double> timed_bytes = JsonDoubles(timed.out, "bytes_per_chunk");
  ASSERT_EQ(bulk_bytes.size(), 2u) << bulk.out;
  ASSERT_EQ(timed_bytes.size(), 2u) << timed.out;
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(bulk_bytes[i], timed_bytes[i], timed_bytes[i] * 0.1) << bulk.out << timed.out;
  }
}

TEST(CatalogScaleE2eTest, RefusesBadSteps) {
  const std::string dir = NewTestDir("catalog-scale-bad");
  CommandResult word =
      RunCommand({CAIRN_CATALOG_SCALE_BIN, "--dir", dir + "/a", "--steps", "1000,lots"});
  EXPECT_EQ(word.exit_code, 2) << word.Describe();
  EXPECT_TRUE(absl::StrContains(word.err, "\"lots\" is not a count")) << word.Describe();
  CommandResult down =
      RunCommand({CAIRN_CATALOG_SCALE_BIN, "--dir", dir + "/b", "--steps", "2000,1000"});
  EXPECT_EQ(down.exit_code, 2) << down.Describe();
  EXPECT_TRUE(absl::StrContains(down.err, "ascending")) << down.Describe();
  CommandResult no_dir = RunCommand({CAIRN_CATALOG_SCALE_BIN, "--steps", "1000"});
  EXPECT_EQ(no_dir.exit_code, 2) << no_dir.Describe();
  EXPECT_TRUE(absl::StrContains(no_dir.err, "--dir is required")) << no_dir.Describe();
}

}  // namespace
}  // namespace cairn::e2e

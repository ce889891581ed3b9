// The contract every Tier implementation must keep (tier.h), as one suite that
// each implementation runs, like restic's backend test suite. To add a tier,
// add a TierFactory to kTierFactories below.
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/s3/s3_tier.h"
#include "server/tiers/tier.h"
#include "tests/server/tiers/fault_injection_tier.h"
#include "tests/server/tiers/s3_test_server.h"
#include "tests/server/tiers/tier_test_dir.h"
#include "tests/test_dir.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct TierFactory {
  std::string label;
  // Opens a fresh, empty tier; `scratch` is a new empty local directory the
  // factory may use.
  std::function<absl::StatusOr<std::unique_ptr<Tier>>(const std::string& scratch)> open;
};

const std::vector<TierFactory>& Factories() {
  static const auto* factories = new std::vector<TierFactory>{
      {"local", [](const std::string& dir) { return OpenLocalTier("conformance", dir); }},
      // The fault wrapper with no fault armed must be invisible.
      {"faults_unarmed",
       [](const std::string& dir) -> absl::StatusOr<std::unique_ptr<Tier>> {
         absl::StatusOr<std::unique_ptr<Tier>> base = OpenLocalTier("conformance", dir);
         if (!base.ok()) return base.status();
         return std::unique_ptr<Tier>(WrapWithFaults(*std::move(base)));
       }},
      // A real S3-protocol server (s3rver), one per test process, each tier
      // under a prefix of its own. Parts of 64 KiB, so that objects of a few
      // hundred KiB exercise multipart uploads too.
      {"s3",
       [](const std::string&) -> absl::StatusOr<std::unique_ptr<Tier>> {
         static S3TestServer* server = nullptr;
         static int tiers = 0;
         if (server == nullptr) {
           absl::StatusOr<std::unique_ptr<S3TestServer>> started =
               S3TestServer::Start(NewTempDir("s3rver"));
           if (!started.ok()) return started.status();
           server = started->release();
         }
         S3TierOptions options = server->Options(absl::StrCat("t", ++tiers, "/"));
         options.part_bytes = 64 << 10;
         return OpenS3Tier("conformance", options);
       }},
  };
  return *factories;
}

class TierConformanceTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    const TierFactory& factory = Factories()[GetParam()];
    dir_ = FreshTestDir(absl::StrCat("tier_conformance_", factory.label));
    absl::StatusOr<std::unique_ptr<Tier>> tier = factory.open(dir_);
    ASSERT_TRUE(tier.ok()) << tier.status();
    tier_ = *std::move(tier);
  }

  std::vector<std::string> ListOrDie() {
    absl::StatusOr<std::vector<std::string>> names = tier_->List();
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? *names : std::vector<std::string>{};
  }

  std::string ReadAll(absl::string_view object) {
    absl::StatusOr<uint64_t> size = tier_->Size(object);
    EXPECT_TRUE(size.ok()) << size.status();
    std::string out;
    EXPECT_TRUE(tier_->Read(object, 0, size.value_or(0), &out).ok());
    return out;
  }

  std::string dir_;
  std::unique_ptr<Tier> tier_;
};

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed * 7) ^ (i >> 8));
  return s;
}

TEST_P(TierConformanceTest, StartsEmpty) {
  EXPECT_THAT(ListOrDie(), IsEmpty());
  absl::StatusOr<TierSpace> space = tier_->Space();
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->objects, 0u);
  EXPECT_EQ(space->used_bytes, 0u);
  EXPECT_FALSE(tier_->name().empty());
  EXPECT_FALSE(tier_->kind().empty());
}

TEST_P(TierConformanceTest, PutReadSizeListDelete) {
  const std::string data = Pattern(100000, 1);
  ASSERT_TRUE(tier_->Put("pack-b", data).ok());
  ASSERT_TRUE(tier_->Put("pack-a", "small").ok());
  ASSERT_TRUE(tier_->Put("empty", "").ok());
  EXPECT_THAT(ListOrDie(), ElementsAre("empty", "pack-a", "pack-b"));
  EXPECT_EQ(*tier_->Size("pack-b"), data.size());
  EXPECT_EQ(*tier_->Size("empty"), 0u);

  std::string out;
  ASSERT_TRUE(tier_->Read("pack-b", 0, data.size(), &out).ok());
  EXPECT_EQ(out, data);
  ASSERT_TRUE(tier_->Read("pack-b", 4321, 777, &out).ok());
  EXPECT_EQ(out, data.substr(4321, 777));
  ASSERT_TRUE(tier_->Read("pack-b", data.size() - 1, 1, &out).ok());
  EXPECT_EQ(out, data.substr(data.size() - 1));
  ASSERT_TRUE(tier_->Read("pack-b", data.size(), 0, &out).ok());
  EXPECT_EQ(out, "");
  ASSERT_TRUE(tier_->Read("empty", 0, 0, &out).ok());
  EXPECT_EQ(out, "");

  absl::StatusOr<TierSpace> space = tier_->Space();
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->objects, 3u);
  EXPECT_EQ(space->used_bytes, data.size() + 5);
  EXPECT_GT(space->free_bytes, 0u);

  ASSERT_TRUE(tier_->Delete("pack-a").ok());
  EXPECT_THAT(ListOrDie(), ElementsAre("empty", "pack-b"));
  EXPECT_TRUE(absl::IsNotFound(tier_->Size("pack-a").status()));
  EXPECT_TRUE(absl::IsNotFound(tier_->Read("pack-a", 0, 1, &out)));
  EXPECT_TRUE(absl::IsNotFound(tier_->Delete("pack-a")));
}

TEST_P(TierConformanceTest, OverwriteReplacesWholly) {
  ASSERT_TRUE(tier_->Put("obj", Pattern(5000, 1)).ok());
  ASSERT_TRUE(tier_->Put("obj", "shorter").ok());
  EXPECT_EQ(ReadAll("obj"), "shorter");
  EXPECT_THAT(ListOrDie(), ElementsAre("obj"));
}

TEST_P(TierConformanceTest, ReadPastEndIsOutOfRange) {
  ASSERT_TRUE(tier_->Put("obj", "0123456789").ok());
  std::string out = "untouched";
  EXPECT_TRUE(absl::IsOutOfRange(tier_->Read("obj", 5, 6, &out)));
  EXPECT_TRUE(absl::IsOutOfRange(tier_->Read("obj", 11, 0, &out)));
  EXPECT_TRUE(absl::IsOutOfRange(tier_->Read("obj", 0, 11, &out)));
  // Hostile sizes must be refused before anything is allocated for them.
  EXPECT_TRUE(absl::IsOutOfRange(tier_->Read("obj", 0, ~size_t{0}, &out)));
  EXPECT_TRUE(absl::IsOutOfRange(tier_->Read("obj", ~uint64_t{0}, 2, &out)));
  EXPECT_TRUE(absl::IsOutOfRange(tier_->Read("obj", 3, ~size_t{0} - 1, &out)));
}

TEST_P(TierConformanceTest, MissingObjectIsNotFound) {
  std::string out;
  EXPECT_TRUE(absl::IsNotFound(tier_->Read("missing", 0, 0, &out)));
  EXPECT_TRUE(absl::IsNotFound(tier_->Size("missing").status()));
  EXPECT_TRUE(absl::IsNotFound(tier_->Delete("missing")));
}

TEST_P(TierConformanceTest, InvalidNamesAreRefusedEverywhere) {
  const std::vector<std::string> bad = {
      "../x",    "",
      "a/b",     ".",
      "..",      "/abs",
      "x y",     "a\\b",
      "\xff",    std::string("a\0b", 3),
      "tilde~1", std::string(kMaxObjectNameBytes + 1, 'n'),
  };
  std::string out;
  for (const std::string& name : bad) {
    SCOPED_TRACE(absl::StrCat("name \"", name, "\""));
    EXPECT_TRUE(absl::IsInvalidArgument(tier_->Create(name).status()));
    EXPECT_TRUE(absl::IsInvalidArgument(tier_->Put(name, "x")));
    EXPECT_TRUE(absl::IsInvalidArgument(tier_->Read(name, 0, 0, &out)));
    EXPECT_TRUE(absl::IsInvalidArgument(tier_->Size(name).status()));
    EXPECT_TRUE(absl::IsInvalidArgument(tier_->Delete(name)));
  }
  EXPECT_THAT(ListOrDie(), IsEmpty());
  // The full alphabet and the longest name are fine.
  EXPECT_TRUE(tier_->Put("AZaz09._-", "x").ok());
  EXPECT_TRUE(tier_->Put(std::string(kMaxObjectNameBytes, 'n'), "x").ok());
  EXPECT_TRUE(tier_->Put("..hidden", "x").ok());
  EXPECT_EQ(ListOrDie().size(), 3u);
}

TEST_P(TierConformanceTest, WriterIsInvisibleUntilCommit) {
  ASSERT_TRUE(tier_->Put("old", "previous").ok());
  absl::StatusOr<std::unique_ptr<TierWriter>> writer = tier_->Create("obj");
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append("hello ").ok());
  ASSERT_TRUE((*writer)->Append("").ok());
  ASSERT_TRUE((*writer)->Append("world").ok());
  EXPECT_EQ((*writer)->size(), 11u);
  EXPECT_THAT(ListOrDie(), ElementsAre("old"));
  EXPECT_TRUE(absl::IsNotFound(tier_->Size("obj").status()));
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_THAT(ListOrDie(), ElementsAre("obj", "old"));
  EXPECT_EQ(ReadAll("obj"), "hello world");
  // A committed writer takes no more data.
  EXPECT_TRUE(absl::IsFailedPrecondition((*writer)->Append("more")));
  EXPECT_TRUE(absl::IsFailedPrecondition((*writer)->Commit()));
  writer->reset();
  EXPECT_EQ(ReadAll("obj"), "hello world");
}

TEST_P(TierConformanceTest, WriterOverwritesOnlyAtCommit) {
  ASSERT_TRUE(tier_->Put("obj", "old").ok());
  absl::StatusOr<std::unique_ptr<TierWriter>> writer = tier_->Create("obj");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append("new contents").ok());
  EXPECT_EQ(ReadAll("obj"), "old");
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(ReadAll("obj"), "new contents");
}

TEST_P(TierConformanceTest, WriterDestroyedWithoutCommitLeavesNothing) {
  {
    absl::StatusOr<std::unique_ptr<TierWriter>> writer = tier_->Create("abandoned");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(Pattern(10000, 2)).ok());
  }
  EXPECT_THAT(ListOrDie(), IsEmpty());
  EXPECT_TRUE(absl::IsNotFound(tier_->Size("abandoned").status()));
  absl::StatusOr<TierSpace> space = tier_->Space();
  ASSERT_TRUE(space.ok());
  EXPECT_EQ(space->objects, 0u);
  EXPECT_EQ(space->used_bytes, 0u);
}

TEST_P(TierConformanceTest, DeleteDoesNotDisturbWriterInFlight) {
  ASSERT_TRUE(tier_->Put("obj", "v1").ok());
  absl::StatusOr<std::unique_ptr<TierWriter>> writer = tier_->Create("obj");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append("v2").ok());
  ASSERT_TRUE(tier_->Delete("obj").ok());
  EXPECT_THAT(ListOrDie(), IsEmpty());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(ReadAll("obj"), "v2");
}

TEST_P(TierConformanceTest, ConcurrentWritersFromFourThreads) {
  constexpr int kThreads = 4;
  constexpr int kObjectsPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kObjectsPerThread; ++i) {
        std::string data = Pattern(1000 + 97 * i, t * 100 + i);
        absl::StatusOr<std::unique_ptr<TierWriter>> w = tier_->Create(absl::StrCat("t", t, "-", i));
        bool ok = w.ok();
        for (size_t pos = 0; ok && pos < data.size(); pos += 333) {
          ok = (*w)->Append(absl::string_view(data).substr(pos, 333)).ok();
        }
        ok = ok && (*w)->Commit().ok();
        // Everyone also races on one shared name: the last commit wins, whole.
        ok = ok && tier_->Put("shared", Pattern(4096, t)).ok();
        if (!ok) ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<std::string> names = ListOrDie();
  EXPECT_EQ(names.size(), size_t{kThreads * kObjectsPerThread + 1});
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kObjectsPerThread; ++i) {
      EXPECT_EQ(ReadAll(absl::StrCat("t", t, "-", i)), Pattern(1000 + 97 * i, t * 100 + i));
    }
  }
  std::string shared = ReadAll("shared");
  bool matches_one = false;
  for (int t = 0; t < kThreads; ++t) matches_one |= shared == Pattern(4096, t);
  EXPECT_TRUE(matches_one);
}

// Several hundred KiB in appends of odd sizes, some larger than an S3 part:
// what a multipart upload must reassemble exactly, ranged reads across part
// boundaries included.
TEST_P(TierConformanceTest, LargeObjectInOddAppends) {
  const std::string data = Pattern(300 * 1024 + 17, 5);
  absl::StatusOr<std::unique_ptr<TierWriter>> w = tier_->Create("large");
  ASSERT_TRUE(w.ok()) << w.status();
  size_t at = 0;
  for (size_t step : {1, 65535, 65536, 65537, 100000}) {
    ASSERT_TRUE((*w)->Append(absl::string_view(data).substr(at, step)).ok());
    at += step;
  }
  ASSERT_TRUE((*w)->Append(absl::string_view(data).substr(at)).ok());
  EXPECT_EQ((*w)->size(), data.size());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_THAT(ListOrDie(), ElementsAre("large"));
  EXPECT_EQ(ReadAll("large"), data);
  std::string part;
  ASSERT_TRUE(tier_->Read("large", 65530, 20, &part).ok());
  EXPECT_EQ(part, data.substr(65530, 20));
  ASSERT_TRUE(tier_->Read("large", data.size() - 3, 3, &part).ok());
  EXPECT_EQ(part, data.substr(data.size() - 3));
  EXPECT_EQ(tier_->Read("large", data.size() - 3, 4, &part).code(), absl::StatusCode::kOutOfRange);
}

INSTANTIATE_TEST_SUITE_P(AllTiers, TierConformanceTest,
                         ::testing::Range(size_t{0}, Factories().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return Factories()[info.param].label;
                         });

}  // namespace
}  // namespace cairn

// ExcludeRules: a pattern matches the root-relative path with FNM_PATHNAME
// ('*' never crosses a '/') or the bare name; no pattern, nothing excluded.
#include "agent/exclude_rules.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;

// The path's last component, as the walk passes it.
std::string NameOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool Excluded(const ExcludeRules& rules, const std::string& path) {
  return rules.Excludes(path, NameOf(path));
}

TEST(ExcludeRulesTest, NoPatternsExcludeNothing) {
  ExcludeRules rules;
  for (const char* path : {"a", "a/b.tmp", ".hidden", "*"}) {
    EXPECT_FALSE(Excluded(rules, path)) << path;
  }
  EXPECT_TRUE(rules.patterns().empty());
}

TEST(ExcludeRulesTest, ANamePatternMatchesAtAnyDepth) {
  ExcludeRules rules({"*.tmp", "cache"});
  EXPECT_TRUE(Excluded(rules, "a.tmp"));
  EXPECT_TRUE(Excluded(rules, "deep/down/b.tmp"));
  EXPECT_TRUE(Excluded(rules, "cache"));
  EXPECT_TRUE(Excluded(rules, "x/cache"));
  EXPECT_FALSE(Excluded(rules, "a.tmp.keep"));
  EXPECT_FALSE(Excluded(rules, "x/cached"));
  EXPECT_FALSE(Excluded(rules, "cache/inside"));  // the walk never enters it anyway
}

TEST(ExcludeRulesTest, APathPatternIsAnchoredAtTheRootAndStarStopsAtSlash) {
  ExcludeRules rules({"logs/*.log"});
  EXPECT_TRUE(Excluded(rules, "logs/app.log"));
  EXPECT_FALSE(Excluded(rules, "logs/old/app.log"));
  EXPECT_FALSE(Excluded(rules, "var/logs/app.log"));
  EXPECT_FALSE(Excluded(rules, "app.log"));
  ExcludeRules two_levels({"*/*.log"});
  EXPECT_TRUE(Excluded(two_levels, "logs/app.log"));
  EXPECT_FALSE(Excluded(two_levels, "a/b/app.log"));
}

TEST(ExcludeRulesTest, GlobFeaturesOfFnmatch) {
  ExcludeRules rules({"[ab]?.txt", "core.[0-9]*", ".*"});
  EXPECT_TRUE(Excluded(rules, "a1.txt"));
  EXPECT_TRUE(Excluded(rules, "dir/bz.txt"));
  EXPECT_FALSE(Excluded(rules, "c1.txt"));
  EXPECT_FALSE(Excluded(rules, "a12.txt"));
  EXPECT_TRUE(Excluded(rules, "core.1234"));
  EXPECT_FALSE(Excluded(rules, "core.x"));
  EXPECT_TRUE(Excluded(rules, ".git"));
  EXPECT_TRUE(Excluded(rules, "src/.cache"));
  // A star matches a leading dot too (no FNM_PERIOD).
  ExcludeRules star({"*"});
  EXPECT_TRUE(Excluded(star, ".hidden"));
}

TEST(ExcludeRulesTest, AddAppendsInOrder) {
  ExcludeRules rules({"one"});
  rules.Add("two/*");
  rules.Add("*.three");
  EXPECT_THAT(rules.patterns(), ElementsAre("one", "two/*", "*.three"));
  EXPECT_TRUE(Excluded(rules, "two/x"));
  EXPECT_TRUE(Excluded(rules, "a/b.three"));
  EXPECT_FALSE(Excluded(rules, "three"));
}

TEST(ExcludeRulesTest, PathAndNameAreMatchedAsGiven) {
  // The caller passes both; each pattern is tried against each.
  ExcludeRules rules({"build"});
  EXPECT_TRUE(rules.Excludes("src/build", "build"));
  EXPECT_TRUE(rules.Excludes("build", "build"));
  EXPECT_FALSE(rules.Excludes("src/builds", "builds"));
}

}  // namespace
}  // namespace cairn
